"""Verifiers of the SynLogic task types, one rule per type, written for mirage.

The released code of the paper grades each SynLogic puzzle with its task type's
own verifier class (MiniMax-AI/SynLogic's ``task2verifier.py``, keyed by the
row's ``data_source``): a Sudoku answer is checked against the rules and the
givens, a Game of 24 expression is computed, and so on. This module does the
same with rules of its own (``RULES``), nothing of theirs copied, and nothing
from a completion ever evaluated as code: literals are read with ``json`` or
``ast.literal_eval``, arithmetic with a small grammar of its own
(``arithmetic``: digits, ``+ - * /`` (``%`` where a task has it), parentheses,
exact fractions, no exponent, bounded size and depth).

The gold. A SynLogic problem's ``answer`` column holds its *game data*: a JSON
object ``{"synlogic": <task type>, "question": …, "answer": …, "metadata": …}``
built by ``make_gold`` from the row's ``data_source`` and
``extra_info.game_data_str`` (the puzzle as SynLogic's verifiers read it). A
gold that is not such an object is a *label* (the wrong labels of the
incorrect-label reward, ``fallback_wrong``): an answer matches a label when
their canonical forms (``canonical``) are equal.

Names. ``synlogic:<task type>`` grades one task type; ``synlogic`` (the
verifier a task's config names) reads the task type from each gold and
dispatches, and, having no task type without a gold, compares answers for a
majority vote by their text with spaces collapsed.

Differences from the released classes, on purpose: Game of 24 checks that the
expression equals the target (the released check ``abs(result - result)`` was
always true); the answer is the content of the last ``<answer>`` tag, as in the
rest of mirage (the released reward read the first); a Norinori region must
hold exactly two shaded cells (the released check skipped empty regions); Dyck
reasoning errors need an explicit "no errors" rather than an empty answer.
"""

from __future__ import annotations

import json
from typing import Any

from mirage.verifiers.base import TextFallbackVerifier
from mirage.verifiers.synlogic.reading import GOLD_KEY, MAX_ANSWER_CHARS, NO_WRONG_LABEL, read_gold
from mirage.verifiers.synlogic.rules import RULES, missing_fields


def _perturbed(value: Any) -> tuple[Any, bool]:
    """``value`` with its first integer plus one, else its first string
    changed; (value, whether anything changed)."""
    if isinstance(value, bool):
        return (not value), True
    if isinstance(value, int):
        return value + 1, True
    if isinstance(value, str):
        return value + "?", True
    if isinstance(value, (list, tuple)):
        items = list(value)
        for i, item in enumerate(items):
            changed, done = _perturbed(item)
            if done:
                items[i] = changed
                return (tuple(items) if isinstance(value, tuple) else items), True
    return value, False


# -- the verifiers ----------------------------------------------------------------------------------

class SynLogicVerifier(TextFallbackVerifier):
    """Grades one SynLogic task type by its rule (``RULES``). The answer is the
    content of the last ``<answer>`` tag; the gold is the game data
    (``make_gold``) or a label."""

    def __init__(self, task_type: str, fallback: bool = False):
        if task_type not in RULES:
            raise ValueError(f"no SynLogic verifier for task type {task_type!r}; known: {sorted(RULES)}")
        self.task_type = task_type
        self.name = f"synlogic:{task_type}"
        self.rule = RULES[task_type]
        self.fallback = bool(fallback)

    def _parse(self, answer: str) -> Any:
        if (not answer and not self.rule.reads_empty) or len(answer) > MAX_ANSWER_CHARS:
            return None
        try:
            return self.rule.parse(answer)
        except (ValueError, TypeError, RecursionError):
            return None

    def _game(self, gold: str) -> dict | None:
        game = read_gold(gold)
        if game is not None and game[GOLD_KEY] != self.task_type:
            raise ValueError(f"{self.name} was given the game data of task type {game[GOLD_KEY]!r}")
        return game

    def equal(self, gold: str, answer: str) -> bool:
        """Whether ``answer`` solves the game in ``gold`` (or, for a label,
        reads as the label). A game missing what its rule needs is a data
        error and raises."""
        game = self._game(gold)
        value = self._parse(answer)
        if value is None:
            return False
        if game is None:
            label = gold.strip()
            return bool(label) and self.rule.canon(value) == label
        missing = missing_fields(self.task_type, game)
        if missing:
            raise ValueError(f"{self.name}: the game data lacks {', '.join(missing)}")
        try:
            return bool(self.rule.check(game, value))
        except (TypeError, ValueError, IndexError, KeyError, AttributeError, ArithmeticError, RecursionError):
            return False  # a value of the wrong shape for this game (a grid of lists of dicts, …)

    def canonical(self, answer: str) -> str | None:
        """The parsed answer written one way (JSON for structures), so equal
        answers vote together and a wrong label is compared as written; None
        when the answer does not read."""
        value = self._parse(answer)
        return None if value is None else self.rule.canon(value)

    def fallback_wrong(self, gold: str) -> str:
        """A label that no correct answer reads as: the game's own answer
        changed in its first number (or string); where the game's answer does
        not read, a label that matches nothing (``NO_WRONG_LABEL``)."""
        game = self._game(gold)
        if game is None:
            return NO_WRONG_LABEL
        gold_answer = game.get("answer")
        value = self._parse(gold_answer if isinstance(gold_answer, str) else json.dumps(gold_answer))
        if value is None:
            return NO_WRONG_LABEL
        changed, done = _perturbed(value)
        if not done:
            return NO_WRONG_LABEL
        text = self.rule.canon(changed)
        return text if text != self.rule.canon(value) else NO_WRONG_LABEL


class SynLogicDispatcher(TextFallbackVerifier):
    """``synlogic``: each gold names its task type, whose verifier grades. A
    label (no task type) is compared with the answer's text, spaces collapsed,
    as ``canonical`` writes it."""

    name = "synlogic"

    def __init__(self, fallback: bool = False):
        self.fallback = bool(fallback)
        self._verifiers: dict[str, SynLogicVerifier] = {}

    def _verifier(self, task_type: str) -> SynLogicVerifier:
        if task_type not in self._verifiers:
            self._verifiers[task_type] = SynLogicVerifier(task_type, self.fallback)
        self._verifiers[task_type].fallback = self.fallback
        return self._verifiers[task_type]

    def equal(self, gold: str, answer: str) -> bool:
        game = read_gold(gold)
        if game is None:
            label = gold.strip()
            return bool(label) and self.canonical(answer) == label
        return self._verifier(game[GOLD_KEY]).equal(gold, answer)

    @staticmethod
    def canonical(answer: str) -> str | None:
        if len(answer) > MAX_ANSWER_CHARS:
            return None
        text = " ".join(answer.split())
        return text or None

    def fallback_wrong(self, gold: str) -> str:
        game = read_gold(gold)
        return NO_WRONG_LABEL if game is None else self._verifier(game[GOLD_KEY]).fallback_wrong(gold)


def _factory(task_type: str):
    return lambda fallback=False: SynLogicVerifier(task_type, fallback)


# name -> a factory taking ``fallback`` (mirage.verifiers.registry.VERIFIERS holds them)
SYNLOGIC_VERIFIERS = {"synlogic": SynLogicDispatcher, **{f"synlogic:{t}": _factory(t) for t in RULES}}
