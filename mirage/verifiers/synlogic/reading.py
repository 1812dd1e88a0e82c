"""The SynLogic verifiers' shared parts: the gold (a task type's game data), reading an
answer without running it (literals, grids, a bounded arithmetic grammar of our own), and
``Rule``, what one task type's grading is made of. The rules are in mirage.verifiers.synlogic.rules
(and .puzzles), the verifiers in mirage.verifiers.synlogic.verifier."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

from mirage.verifiers.math_answers import last_boxed

GOLD_KEY = "synlogic"  # the key that marks a gold as game data, naming its task type
MAX_ANSWER_CHARS = 20_000  # an ARC grid is a few thousand characters; longer answers are wrong unread
MAX_EXPRESSION_TOKENS = 200
MAX_NUMBER_DIGITS = 12
MAX_DEPTH = 40
NO_WRONG_LABEL = "<no wrong answer>"  # a label no answer's canonical form can equal


# -- the gold ---------------------------------------------------------------------------------------

def make_gold(task_type: str, game_data: str | dict) -> str:
    """The problems table's ``answer`` for a SynLogic row: its game data (JSON
    text or an object) with the task type under ``GOLD_KEY``."""
    game = json.loads(game_data) if isinstance(game_data, str) else dict(game_data)
    if not isinstance(game, dict):
        raise ValueError(f"SynLogic game data of {task_type!r} is not a JSON object")
    return json.dumps({GOLD_KEY: task_type, "question": game.get("question"), "answer": game.get("answer"),
                       "metadata": game.get("metadata") or {}}, ensure_ascii=False)


def read_gold(gold: str) -> dict | None:
    """The game data in ``gold``, or None when ``gold`` is a label."""
    text = gold.strip()
    if not text.startswith("{") or f'"{GOLD_KEY}"' not in text:
        return None
    try:
        game = json.loads(text)
    except ValueError:
        return None
    return game if isinstance(game, dict) and isinstance(game.get(GOLD_KEY), str) else None


# -- reading answers without running them -----------------------------------------------------------

_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n?(.*?)```", re.DOTALL)


def code_block(text: str) -> str | None:
    """The content of the last fenced code block (any language tag), stripped."""
    blocks = _FENCE.findall(text)
    return blocks[-1].strip() if blocks else None


def last_span(text: str, opening: str, closing: str) -> str | None:
    """The last balanced ``opening…closing`` group that ends at the last
    ``closing`` (found backwards, one scan)."""
    end = text.rfind(closing)
    depth = 0
    for i in range(end, -1, -1):
        if text[i] == closing:
            depth += 1
        elif text[i] == opening:
            depth -= 1
            if depth == 0:
                return text[i:end + 1]
    return None


def literal(text: str | None) -> Any:
    """A JSON or Python literal (lists, tuples, dicts, strings, numbers), or
    None. ``ast.literal_eval`` builds literals only: no name, call or operator
    other than a sign is ever evaluated."""
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        value = ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError on hostile text
        return None
    return value if _plain(value) else None


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether a Python literal holds only what JSON can write (strings,
    numbers other than complex, booleans, None, lists, tuples, dicts with
    string or number keys): ``0J``, bytes, sets and ``...`` are not answers."""
    if depth > 64:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int, float, bool)) and _plain(v, depth + 1) for k, v in value.items())
    return False


MAX_CANDIDATE_GROUPS = 32  # bracket groups tried from the end of an answer before giving up


def spans_from_end(text: str, opening: str, closing: str):
    """The balanced ``opening…closing`` groups of ``text`` that end at each
    ``closing``, last first (at most ``MAX_CANDIDATE_GROUPS``)."""
    end = len(text)
    for _ in range(MAX_CANDIDATE_GROUPS):
        end = text.rfind(closing, 0, end)
        if end < 0:
            return
        span = last_span(text[:end + 1], opening, closing)
        if span is not None:
            yield span


def find_literal(text: str, kinds: str = "[", accept: Callable[[Any], bool] | None = None) -> Any:
    """The answer's literal: the last code block if it parses, else, for each
    kind of bracket in ``kinds`` (``[``, ``(``, ``{``), the last balanced group
    that parses and that ``accept`` takes (any literal by default): a remark
    after the answer, e.g. ``((9, 4, ...)) (done).``, does not hide it."""
    accept = accept or (lambda value: True)
    value = literal(code_block(text))
    if value is not None and accept(value):
        return value
    for opening in kinds:
        for span in spans_from_end(text, opening, {"[": "]", "(": ")", "{": "}"}[opening]):
            value = literal(span)
            if value is not None and accept(value):
                return value
    return None


def find_grid(text: str, cell: Callable[[Any], Any], kinds: str = "[") -> list[list] | None:
    """The last literal of ``text`` that is a grid of ``cell`` values (``grid``)."""
    return grid(find_literal(text, kinds, accept=lambda value: grid(value, cell) is not None), cell)


def grid(value: Any, cell: Callable[[Any], Any]) -> list[list] | None:
    """``value`` as a rectangular-or-ragged list of rows of ``cell(x)`` values
    (None if any cell is refused)."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    rows = []
    for row in value:
        if not isinstance(row, (list, tuple)) or not row:
            return None
        cells = [cell(x) for x in row]
        if any(c is None for c in cells):
            return None
        rows.append(cells)
    return rows


def int_cell(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", x):
        return int(x)
    return None


def str_cell(x: Any) -> str | None:
    if isinstance(x, str):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return None


def small_int(text: str) -> int | None:
    text = text.strip().rstrip(".").strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else None


def boxed_or_text(text: str) -> str:
    boxed = last_boxed(text)
    return boxed if boxed is not None else text


# -- arithmetic: a grammar of our own ---------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\d+|[-+*/%()=])")


class _Expression:
    """expr := term (('+'|'-') term)*; term := factor (('*'|'/'|'%') factor)*;
    factor := number | '(' expr ')'. Exact fractions; no unary sign."""

    def __init__(self, tokens: list[str], operators: str):
        self.tokens, self.operators, self.pos, self.numbers = tokens, operators, 0, []

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while self.peek() in ("+", "-") and self.peek() in self.operators:
            value = value + self.term(depth) if self.take() == "+" else value - self.term(depth)
        return value

    def term(self, depth: int) -> Fraction:
        value = self.factor(depth)
        while self.peek() in ("*", "/", "%") and self.peek() in self.operators:
            op, right = self.take(), self.factor(depth)
            if op == "*":
                value = value * right
            elif right == 0:
                raise ZeroDivisionError
            else:
                value = value / right if op == "/" else value % right
        return value

    def factor(self, depth: int) -> Fraction:
        token = self.peek()
        if token is None:
            raise ValueError("expression ends early")
        if token == "(":
            if depth >= MAX_DEPTH:
                raise ValueError("too deep")
            self.take()
            value = self.expr(depth + 1)
            if self.peek() != ")":
                raise ValueError("unclosed parenthesis")
            self.take()
            return value
        if token.isdigit():
            if len(token) > MAX_NUMBER_DIGITS:
                raise ValueError("number too long")
            self.take()
            self.numbers.append(int(token))
            return Fraction(int(token))
        raise ValueError(f"unexpected {token!r}")


def arithmetic(text: str, operators: str = "+-*/") -> tuple[Fraction, list[int]] | None:
    """The exact value of an arithmetic expression and the numbers it uses, in
    order; None if it is not one (a character outside the grammar, an operator
    outside ``operators``, a division by zero, too long or too deep)."""
    text = text.strip()
    if not text or len(text) > 4 * MAX_EXPRESSION_TOKENS:
        return None
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                break
            return None
        tokens.append(match.group(1))
        pos = match.end()
    if len(tokens) > MAX_EXPRESSION_TOKENS or any(t in "+-*/%" and t not in operators for t in tokens if not t.isdigit()):
        return None
    parser = _Expression(tokens, operators)
    try:
        value = parser.expr(0)
    except (ValueError, ZeroDivisionError):
        return None
    if parser.pos != len(tokens):
        return None
    return value, parser.numbers


# -- the rules --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """How one task type grades: ``parse`` reads an answer (the content of the
    answer tag) into a value, None if unreadable; ``check`` says whether the
    value solves the game; ``needs`` are the game's metadata keys ``check``
    reads ("@answer": the game's own answer); ``canon`` writes a value as the
    text majority votes and labels compare; ``reads_empty``: an empty answer is
    an answer of this task type (its prompt asks for one), not a missing one."""

    parse: Callable[[str], Any]
    check: Callable[[dict, Any], bool]
    needs: tuple[str, ...] = ()
    canon: Callable[[Any], str] = field(default=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    doc: str = ""
    reads_empty: bool = False


def game_meta(game: dict) -> dict:
    return game.get("metadata") or {}


def gold_text(game: dict) -> str:
    answer = game.get("answer")
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)
