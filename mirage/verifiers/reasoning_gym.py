"""The verifier ``reasoning_gym``: an answer scored by the generator of the problem's gold
(mirage.tasks.reasoning_gym makes the golds and says what they hold).

Scores. ``score_answer`` returns a number in [0, 1]; mirage's grades are
binary, and an answer is correct only at a score of 1 (within 1e-9). Partial
credit (the default rule gives len(gold)/len(answer) to an answer that
contains the gold among other text; some generators give 0.01 or 0.05 to a
wrong but well-formed answer) counts as wrong.

Trust. The grading code is reasoning-gym's: mirage's rule that no answer is
ever evaluated covers mirage's own verifiers only (a few generators' scorers
parse answers with sympy). Answers longer than ``MAX_ANSWER_CHARS`` are graded
wrong unread, and a scorer that raises grades the answer wrong.
"""

from __future__ import annotations

import functools
import json
import logging

from mirage.tasks.reasoning_gym import GOLD_KEY, generator_dataset, read_gold
from mirage.verifiers.base import TextFallbackVerifier, canonical_integer

log = logging.getLogger(__name__)

MAX_ANSWER_CHARS = 20_000
NO_WRONG_LABEL = "<no wrong answer>"
CORRECT = 1.0 - 1e-9


@functools.lru_cache(maxsize=64)
def _generator(generator: str, settings_json: str, size: int, seed: int):
    return generator_dataset(generator, json.loads(settings_json), size, seed)


def _origin(gold: dict) -> tuple[int, int, int] | None:
    values = tuple(gold.get(k) for k in ("seed", "size", "index"))
    if all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values) and values[2] < values[1]:
        return values
    return None


def entry_of(gold: dict) -> tuple[object, dict]:
    """The generator (to score with) and the entry to score against: the item
    regenerated from the gold's origin, or, without one, the stored entry. A
    regenerated question that is not the stored one (another reasoning-gym
    version) raises ValueError."""
    settings = json.dumps(gold["config"], sort_keys=True)
    origin = _origin(gold)
    if origin is None:
        return _generator(gold[GOLD_KEY], settings, 1, 0), gold["entry"]
    seed, size, index = origin
    dataset = _generator(gold[GOLD_KEY], settings, size, seed)
    item = dataset[index]
    if item["question"] != gold["entry"].get("question"):
        raise ValueError(f"reasoning_gym: {gold[GOLD_KEY]} item {index} (seed {seed}) regenerates as another question "
                         f"than the stored one: is this the reasoning-gym version that prepared the task?")
    return dataset, item


def score(gold: dict, answer: str) -> float:
    """The generator's own score of ``answer`` on the gold's entry; 0 when the
    scorer raises."""
    dataset, entry = entry_of(gold)
    try:
        return float(dataset.score_answer(answer, entry))
    except Exception as err:  # noqa: BLE001 - a scorer's failure on odd output is a wrong answer
        log.debug("%s: score_answer raised %r", gold[GOLD_KEY], err)
        return 0.0


class ReasoningGymVerifier(TextFallbackVerifier):
    """``reasoning_gym``: the content of the last answer tag (with
    ``fallback``, without a tag, the text after the last ``</think>``), graded
    by the gold's generator."""

    name = "reasoning_gym"

    def score(self, gold: str, answer: str) -> float:
        record = read_gold(gold)
        if record is None:
            raise ValueError("reasoning_gym: the gold is a label, not a generator's entry")
        if len(answer) > MAX_ANSWER_CHARS:
            return 0.0
        return score(record, answer)

    def equal(self, gold: str, answer: str) -> bool:
        record = read_gold(gold)
        if record is None:
            label = gold.strip()
            return bool(label) and self.canonical(answer) == label
        return len(answer) <= MAX_ANSWER_CHARS and score(record, answer) >= CORRECT

    @staticmethod
    def canonical(answer: str) -> str | None:
        if len(answer) > MAX_ANSWER_CHARS:
            return None
        return " ".join(answer.split()) or None

    def fallback_wrong(self, gold: str) -> str:
        """The entry's answer changed: an integer plus one, other text prefixed
        with "not " (a label only a wrong answer reads as)."""
        record = read_gold(gold)
        if record is None:
            return NO_WRONG_LABEL
        answer = self.canonical(str(record["entry"].get("answer", ""))) or ""
        number = canonical_integer(answer)
        label = str(int(number) + 1) if number is not None else f"not {answer}".strip()
        return label if not self.equal(gold, label) else NO_WRONG_LABEL
