"""Answer extraction and grading.

A verifier never evaluates model output: it only matches text. Every grade says
whether the completion was well formed (reasoning part then answer part) and
whether the extracted answer equals the gold one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# DOTALL on purpose: the released code's format regex lacked it, so a newline
# inside the answer zeroed the reward.
_WELL_FORMED = re.compile(r"\s*<think>.*?</think>\s*<answer>.*?</answer>\s*", re.DOTALL)
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class Grade:
    well_formed: bool
    extracted_answer: str | None
    correct: bool


def is_well_formed(completion: str) -> bool:
    return _WELL_FORMED.fullmatch(completion) is not None


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


class IntegerVerifier:
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

    def grade(self, completion: str, gold: str) -> Grade:
        answer = extract_answer(completion)
        got = canonical_integer(answer) if answer is not None else None
        want = canonical_integer(gold)
        return Grade(
            well_formed=is_well_formed(completion),
            extracted_answer=answer,
            correct=got is not None and got == want,
        )


VERIFIERS = {"integer": IntegerVerifier}


def get_verifier(name: str):
    try:
        return VERIFIERS[name]()
    except KeyError:
        raise ValueError(f"unknown verifier {name!r}; known: {sorted(VERIFIERS)}") from None
