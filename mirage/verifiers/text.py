"""Any task: exact text (``exact``) and a multiple-choice letter (``choice``)."""

from __future__ import annotations

import re

from mirage.verifiers.base import MAX_ANSWER_CHARS, TextFallbackVerifier, collapse_spaces
from mirage.verifiers.logic import last_double_bracket
from mirage.verifiers.math_answers import last_boxed


class ExactVerifier(TextFallbackVerifier):
    """``exact``: the answer equals the gold as text, white space collapsed;
    case and punctuation count. With ``fallback``, a completion without answer
    tags is graded by its text after the last ``</think>``."""

    name = "exact"

    @staticmethod
    def canonical(answer: str) -> str | None:
        return collapse_spaces(answer)

    @staticmethod
    def fallback_wrong(gold: str) -> str:
        return f"not {collapse_spaces(gold) or ''}".strip()


# "B", "(B)", "B.", "**B**", "[B]": one letter and punctuation; "B) Paris", "(B) Paris", "B. Paris",
# "B: Paris": a letter that opens an option; "the answer is B": a letter that closes a sentence.
_CHOICE_ALONE = re.compile(r"[^A-Za-z0-9]*([A-Za-z])[^A-Za-z0-9]*")
_CHOICE_OPENING = re.compile(r"\s*[(\[]?([A-Z])[)\].:]\s")
_CHOICE_CLOSING = re.compile(r"\b(?:answer|option|choice)\s*(?:is|:)?\s*[(\[]?([A-Z])[)\]]?\W*$", re.IGNORECASE)


def read_choice(text: str) -> str | None:
    """The option letter ``text`` names, upper case; None if it names none.
    A ``\\boxed{}`` or ``[[…]]`` (the last) is read first."""
    if len(text) > MAX_ANSWER_CHARS:
        return None
    for inner in (last_boxed(text), last_double_bracket(text)):
        if inner is not None:
            text = inner
            break
    for pattern, how in ((_CHOICE_ALONE, "fullmatch"), (_CHOICE_OPENING, "match"), (_CHOICE_CLOSING, "search")):
        found = getattr(pattern, how)(text)
        if found:
            return found.group(1).upper()
    return None


class ChoiceVerifier(TextFallbackVerifier):
    """``choice``: a multiple-choice answer, one option letter (``read_choice``)
    on both sides: "B", "(b)", "B) Paris", "\\boxed{B}", "The answer is B"."""

    name = "choice"

    @staticmethod
    def canonical(answer: str) -> str | None:
        return read_choice(answer)

    @staticmethod
    def fallback_wrong(gold: str) -> str:
        letter = read_choice(gold) or "A"
        return "A" if letter == "Z" else chr(ord(letter) + 1)
