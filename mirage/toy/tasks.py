"""Synthetic task families of the toy world.

Every family can be solved in three *styles*, so that a tiny model's alignment
with a task is a property of which style it prefers, not only of what it knows:

- ``procedure``: a short column-by-column scratchpad that carries correctly;
  executed almost perfectly once learned.
- ``flawed``: the same kind of scratchpad with a systematic error (it drops
  carries / borrows); deterministic, hence *confidently* wrong. This is what
  makes a weakly aligned toy model behave like a real one: its samples agree
  with each other on a wrong answer.
- ``direct``: an empty reasoning part and a guessed answer; unreliable on
  multi-digit problems.

The first characters of the reasoning part name the style (``S:`` or ``Q:``),
so the model's choice of style is a single early decision that RL can shift.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from mirage.core.registry import Registry

STYLES = ("procedure", "flawed", "direct")
STYLE_MARKERS = {"procedure": "S:", "flawed": "Q:"}
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
SPECIAL_TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)


def digits_lsb_first(value: int, width: int) -> list[int]:
    return [(value // 10**i) % 10 for i in range(width)]


@dataclass(frozen=True)
class Problem:
    question: str
    operands: tuple[int, ...]
    answer: int


CONTEXT_SEP = ": "


def core_question(question: str) -> str:
    """The question without its task context: what SFT exclusion compares."""
    return question.split(CONTEXT_SEP, 1)[-1]


class TaskFamily(ABC):
    """One synthetic task: how problems are drawn, and how each style solves them.
    The family labels a completion with the style it chose (``classify_style``);
    the shared sampling code tags samples with it (``mirage.tasks.sources.style_classifier``)."""

    name: str

    @staticmethod
    def classify_style(completion: str) -> str:
        return classify_style(completion)

    def __init__(self, digits: int = 3, require_trap: bool = True, context: str = ""):
        self.digits = digits
        # A context names a variant of the task ("c1: 86+67"): the same skill under
        # a prompt of its own, so one model can hold several priors for one task.
        self.context = context
        # A "trap" problem is one the flawed procedure gets wrong. Requiring it
        # keeps the flawed style systematically wrong instead of lucky on easy cases.
        self.require_trap = require_trap

    @abstractmethod
    def draw_operands(self, rng: np.random.Generator) -> tuple[int, ...]: ...

    @abstractmethod
    def question(self, operands: tuple[int, ...]) -> str: ...

    @abstractmethod
    def solve(self, operands: tuple[int, ...]) -> int: ...

    @abstractmethod
    def scratchpad(self, operands: tuple[int, ...], correct: bool) -> tuple[list[str], int]:
        """Steps of the column procedure and the answer it reaches; with
        ``correct=False`` the flawed variant."""

    def draw(self, rng: np.random.Generator) -> Problem:
        while True:
            ops = self.draw_operands(rng)
            question = f"{self.context}{CONTEXT_SEP}{self.question(ops)}" if self.context else self.question(ops)
            problem = Problem(question, ops, self.solve(ops))
            if not self.require_trap or self.scratchpad(ops, correct=False)[1] != problem.answer:
                return problem

    def completion(self, problem: Problem, style: str, think_only: bool = False, bare_answer: bool = False) -> str:
        """The reference completion of ``problem`` in ``style``; ``bare_answer``
        writes the answer without its tags (a format slip: right content, unreadable
        to the grader)."""
        if style == "direct":
            think, answer = "", problem.answer
        elif style in STYLE_MARKERS:
            steps, answer = self.scratchpad(problem.operands, correct=style == "procedure")
            think = STYLE_MARKERS[style] + ";".join(steps)
        else:
            raise ValueError(f"unknown style {style!r}; expected one of {STYLES}")
        if bare_answer:
            return f"{THINK_OPEN}{think}{THINK_CLOSE}{answer}"
        return f"{THINK_OPEN}{think}{THINK_CLOSE}{ANSWER_OPEN}{answer}{ANSWER_CLOSE}"

    def _number(self, rng: np.random.Generator) -> int:
        return int(rng.integers(10 ** (self.digits - 1), 10**self.digits))


class Addition(TaskFamily):
    name = "add"

    def draw_operands(self, rng):
        return (self._number(rng), self._number(rng))

    def question(self, ops):
        return f"{ops[0]}+{ops[1]}"

    def solve(self, ops):
        return ops[0] + ops[1]

    def scratchpad(self, ops, correct):
        steps, out, carry = [], 0, 0
        for i, (x, y) in enumerate(zip(digits_lsb_first(ops[0], self.digits), digits_lsb_first(ops[1], self.digits))):
            if correct:
                total = x + y + carry
                steps.append(f"{x}+{y}+{carry}={total}")
                carry = total // 10
            else:
                total = (x + y) % 10
                steps.append(f"{x}+{y}={total}")
            out += (total % 10) * 10**i
        return steps, out + carry * 10**self.digits


class Subtraction(TaskFamily):
    """a - b with a > b."""

    name = "sub"

    def draw_operands(self, rng):
        a, b = self._number(rng), self._number(rng)
        return (max(a, b), min(a, b)) if a != b else self.draw_operands(rng)

    def question(self, ops):
        return f"{ops[0]}-{ops[1]}"

    def solve(self, ops):
        return ops[0] - ops[1]

    def scratchpad(self, ops, correct):
        steps, out, borrow = [], 0, 0
        for i, (x, y) in enumerate(zip(digits_lsb_first(ops[0], self.digits), digits_lsb_first(ops[1], self.digits))):
            if correct:
                top = x + 10 if x - borrow < y else x
                diff = top - y - borrow
                steps.append(f"{top}-{y}-{borrow}={diff}")
                borrow = int(top > x)
            else:
                # the classic child's error: subtract the smaller digit from the larger
                diff = abs(x - y)
                steps.append(f"{max(x, y)}-{min(x, y)}={diff}")
            out += diff * 10**i
        return steps, out


class Multiplication(TaskFamily):
    """A multi-digit number times a one-digit number."""

    name = "mul"

    def draw_operands(self, rng):
        return (self._number(rng), int(rng.integers(2, 10)))

    def question(self, ops):
        return f"{ops[0]}*{ops[1]}"

    def solve(self, ops):
        return ops[0] * ops[1]

    def scratchpad(self, ops, correct):
        steps, out, carry = [], 0, 0
        m = ops[1]
        for i, x in enumerate(digits_lsb_first(ops[0], self.digits)):
            if correct:
                prod = x * m + carry
                steps.append(f"{x}*{m}+{carry}={prod}")
                carry = prod // 10
            else:
                prod = (x * m) % 10
                steps.append(f"{x}*{m}={prod}")
            out += (prod % 10) * 10**i
        return steps, out + carry * 10**self.digits


class DigitSum(TaskFamily):
    """The sum of the digits of one number (``digits`` + 2 digits long)."""

    name = "dsum"

    def draw_operands(self, rng):
        width = self.digits + 2
        return (int(rng.integers(10 ** (width - 1), 10**width)),)

    def question(self, ops):
        return f"digitsum {ops[0]}"

    def solve(self, ops):
        return sum(map(int, str(ops[0])))

    def scratchpad(self, ops, correct):
        digits = [int(d) for d in str(ops[0])]
        running, steps = digits[0], []
        for d in digits[1:]:
            new = running + d if correct else (running + d) % 10
            steps.append(f"{running}+{d}={new}")
            running = new
        return steps, running


FAMILIES: Registry[type[TaskFamily]] = Registry("task family", {
    cls.name: cls for cls in (Addition, Subtraction, Multiplication, DigitSum)
})


def make_family(name: str, **params) -> TaskFamily:
    return FAMILIES.lookup(name)(**params)


def classify_style(completion: str) -> str:
    """Which style a completion chose, read from the start of its reasoning part:
    ``procedure``, ``flawed``, ``direct`` (empty reasoning) or ``other``."""
    start = completion.find(THINK_OPEN)
    if start < 0:
        return "other"
    think = completion[start + len(THINK_OPEN):]
    if think.startswith(THINK_CLOSE):
        return "direct"
    for style, marker in STYLE_MARKERS.items():
        if think.startswith(marker):
            return style
    return "other"
