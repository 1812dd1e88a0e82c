"""Answer extraction and grading: what every verifier shares.

A verifier never evaluates model output: it only matches text. Every grade says
whether the completion was well formed (reasoning part then answer part) and
whether the extracted answer equals the gold one; correctness is graded even
when the format is broken, and the reward decides what to do with it.

The verifiers: ``integer`` (here, the toy families), ``math`` (mirage.verifiers.math_answers,
math-verify), ``kor``, ``kor:<subset>`` (mirage.verifiers.kor) and ``synlogic`` (short logic
answers, mirage.verifiers.logic), ``synlogic:<task type>`` (mirage.verifiers.synlogic),
``exact`` and ``choice`` (mirage.verifiers.text), ``reasoning_gym`` (a reasoning-gym
generator's own ``score_answer``, mirage.verifiers.reasoning_gym); all by name in
mirage.verifiers.registry.

As released, only an answer inside ``<answer>`` tags is graded (a ``\\boxed{}``
or ``[[…]]`` inside the tag is the answer). A verifier's ``fallback`` (off by
default; ``get_verifier(name, fallback=True)``, the config's
``tasks.<task>.answer_fallback``) also grades a completion without answer tags:
by its last ``\\boxed{}`` (math) or ``[[…]]`` (logic) anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# DOTALL on purpose: the released code's format regex lacked it, so a newline
# anywhere inside <think> or <answer> zeroed the reward.
_WELL_FORMED = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)
# The released check exactly (src/syn_logic_reward.py, compute_think_format_score): re.match
# on the stripped completion, no DOTALL, so the reasoning and the answer must each be one line.
_RELEASED_FORMAT = re.compile(r"^<think>.*?</think>\s*<answer>.*?</answer>$")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Grade:
    well_formed: bool
    extracted_answer: str | None
    correct: bool


def is_well_formed(completion: str) -> bool:
    return _WELL_FORMED.fullmatch(completion) is not None


def is_well_formed_released(completion: str) -> bool:
    """The released format check, defect included: a newline inside ``<think>``
    or ``<answer>`` fails it (in effect a single-line-reasoning check)."""
    return _RELEASED_FORMAT.match(completion.strip()) is not None


def extract_answer(completion: str) -> str | None:
    """The content of the last ``<answer>…</answer>``, stripped; None if absent."""
    matches = _ANSWER.findall(completion)
    return matches[-1].strip() if matches else None


def canonical_integer(text: str) -> str | None:
    """``'007'`` -> ``'7'``, ``'+12'`` -> ``'12'``; None if ``text`` is not an
    ASCII integer. Compared as strings so that a huge number costs no parsing."""
    text = text.strip().replace(",", "")
    if not _INTEGER.fullmatch(text):
        return None
    sign = "-" if text[0] == "-" else ""
    digits = text.lstrip("+-").lstrip("0") or "0"
    return digits if digits == "0" else sign + digits


class AnswerVerifier:
    """The interface of every verifier. It grades by extracting the answer
    (``extract``) and comparing it with the gold one (``equal``); the
    label-free and incorrect-label rewards also need the form in which two
    answers are compared (``canonical``, for majority votes) and a wrong label
    (``fallback_wrong``). Subclasses say how: ``equal``, ``canonical`` and
    ``fallback_wrong`` have no default. ``fallback``: whether a completion
    without answer tags is graded by the verifier's fallback rule (verifiers
    without one grade the same either way)."""

    name: str = ""
    fallback: bool = False

    def extract(self, completion: str) -> str | None:
        """The answer a completion gives (the last ``<answer>`` tag's), None if none."""
        return extract_answer(completion)

    def equal(self, gold: str, answer: str) -> bool:
        """Whether an extracted ``answer`` is the ``gold`` one."""
        raise NotImplementedError(f"{type(self).__name__}.equal")

    def canonical(self, answer: str) -> str | None:
        """The form in which two answers are compared (majority votes); None if
        the answer has no such form."""
        raise NotImplementedError(f"{type(self).__name__}.canonical")

    def fallback_wrong(self, gold: str) -> str:
        """A wrong label for a problem the base model never answered wrongly."""
        raise NotImplementedError(f"{type(self).__name__}.fallback_wrong")

    def grade(self, completion: str, gold: str) -> Grade:
        answer = self.extract(completion)
        return Grade(
            well_formed=is_well_formed(completion),
            extracted_answer=answer,
            correct=answer is not None and self.equal(gold, answer),
        )


class IntegerVerifier(AnswerVerifier):
    """Grades completions whose gold answer is an integer (the toy families)."""

    name = "integer"

    @staticmethod
    def canonical(answer: str) -> str | None:
        """The form in which two answers are compared (for majority votes)."""
        return canonical_integer(answer)

    @staticmethod
    def fallback_wrong(gold: str) -> str:
        """A wrong label for a problem the base model never answered wrongly."""
        return str(int(canonical_integer(gold) or 0) + 1)

    def equal(self, gold: str, answer: str) -> bool:
        got = canonical_integer(answer)
        return got is not None and got == canonical_integer(gold)



# Longer answers are graded wrong without being parsed: parsing is the only step
# whose cost grows with the model's output, and an answer is a short expression.
MAX_ANSWER_CHARS = 1_000


def collapse_spaces(text: str) -> str | None:
    """``text`` with runs of white space as one space, stripped; None if empty or too long."""
    if len(text) > MAX_ANSWER_CHARS:
        return None
    return " ".join(text.split()) or None


class TextFallbackVerifier(AnswerVerifier):
    """A verifier whose fallback (``fallback=True``) grades a completion without
    answer tags by its text after the last ``</think>`` (all of it without one)."""

    def __init__(self, fallback: bool = False):
        self.fallback = bool(fallback)

    def extract(self, completion: str) -> str | None:
        answer = extract_answer(completion)
        if answer is None and self.fallback:
            answer = completion.rsplit("</think>", 1)[-1].strip()
        return answer

    def equal(self, gold: str, answer: str) -> bool:
        """Equal canonical forms (``canonical``: each subclass's), an unreadable answer never."""
        got = self.canonical(answer)
        return got is not None and got == self.canonical(gold)


