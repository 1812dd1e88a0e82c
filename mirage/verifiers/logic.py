"""Short logic answers (``synlogic``, and the comparison rules KOR-Bench's grader builds on):
``[[…]]`` answers compared element by element, as numbers where both parse as numbers."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mirage.core.registry import Registry
from mirage.verifiers.base import MAX_ANSWER_CHARS, AnswerVerifier, extract_answer
from mirage.verifiers.names import LOGIC_VERIFIERS


@dataclass(frozen=True)
class AnswerRules:
    """How two short logic answers are compared."""

    numeric: bool = True  # elements that both parse as numbers compare as numbers: "3.0" == "3"
    split_lists: bool = True  # "1, 2; 3" is compared element by element
    ordered: bool = True  # False: a list is compared as a multiset


# The rules that differ from the default ones.
_SPECIAL_RULES = {
    # choice letters: a multi-select answer ([[B;C]]) is a set
    "kor:counterfactual": AnswerRules(ordered=False),
    # a ciphertext is one string: "0012" is not "12", and its commas are text
    "kor:cipher": AnswerRules(numeric=False, split_lists=False),
}
# One entry per verifier name (mirage.verifiers.names.LOGIC_VERIFIERS) that LogicVerifier
# grades: "synlogic", a SynLogic label. KOR-Bench's ("kor:<subset>", "kor") are mirage.verifiers.kor's.
LOGIC_RULES: Registry[AnswerRules] = Registry(
    "logic subset", {name: _SPECIAL_RULES.get(name, AnswerRules()) for name in LOGIC_VERIFIERS
                     if not name.startswith("kor")})

_LIST_SEPARATOR = re.compile(r"[,;]")
_QUOTES = "\"'`"


def last_double_bracket(text: str) -> str | None:
    """The content of the last ``[[…]]`` (KOR-Bench's answer format), stripped;
    None if there is none. Found with two reverse searches, not a regex, so an
    unclosed ``[[`` repeated a million times costs one scan. A nested list
    ``[[[1,2],[3]]]`` keeps its inner brackets, on gold and answer alike."""
    end = text.rfind("]]")
    if end < 0:
        return None
    start = text.rfind("[[", 0, end)
    if start < 0:
        return None
    while start > 0 and text[start - 1] == "[":
        start -= 1
    return text[start + 2:end].strip()


def normalise_text(text: str) -> str:
    """Case, spacing, surrounding quotes and a final full stop carry no meaning."""
    text = " ".join(text.split()).casefold()
    text = text.removesuffix(".").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in _QUOTES:
        text = text[1:-1].strip()
    return text


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None  # "nan" and "inf" stay words


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


class LogicVerifier(AnswerVerifier):
    """Grades the short answers of rule-following puzzles: the last ``[[…]]``
    group of the answer (KOR-Bench's format) or the whole answer, normalised
    and compared by the rules of ``LOGIC_RULES[name]``."""

    def __init__(self, name: str = "kor", fallback: bool = False):
        self.rules = LOGIC_RULES.lookup(name)
        self.name = name
        self.fallback = bool(fallback)

    def extract(self, text: str) -> str | None:
        """The last ``[[…]]`` inside the last answer tag, else the tag's whole
        content; without a tag, None, or with ``fallback`` the last ``[[…]]``
        in the whole text."""
        answer = extract_answer(text)
        if answer is None and not self.fallback:
            return None
        bracketed = last_double_bracket(answer if answer is not None else text)
        return bracketed if bracketed is not None else answer

    def _elements(self, answer: str) -> list[str | float] | None:
        """The normalised elements, numbers as floats; None if there are none."""
        if len(answer) > MAX_ANSWER_CHARS:
            return None
        # split before normalising: quotes belong to elements ('a', 'b'), not to the list
        parts = _LIST_SEPARATOR.split(answer) if self.rules.split_lists else [answer]
        elements: list[str | float] = []
        for part in map(normalise_text, parts):
            number = _as_number(part) if self.rules.numeric else None
            elements.append(number if number is not None else part)
        return elements if any(e != "" for e in elements) else None

    def _sorted(self, elements: list[str | float]) -> list[str | float]:
        # numbers before words, so that a mixed list sorts without comparing the two
        return elements if self.rules.ordered else sorted(elements, key=lambda e: (isinstance(e, str), e))

    def _gold_elements(self, gold: str) -> list[str | float] | None:
        """A gold answer may keep its ``[[…]]`` brackets."""
        bracketed = last_double_bracket(gold)
        return self._elements(bracketed if bracketed is not None else gold)

    def equal(self, gold: str, answer: str) -> bool:
        want = self._gold_elements(gold)
        got = self._elements(answer)
        if want is None or got is None or len(want) != len(got):
            return False
        return all(
            math.isclose(w, g, rel_tol=1e-9, abs_tol=1e-12) if isinstance(w, float) and isinstance(g, float) else w == g
            for w, g in zip(self._sorted(want), self._sorted(got))
        )

    def canonical(self, answer: str) -> str | None:
        """The normalised elements of an extracted answer joined by ``", "``
        (sorted where order does not count); a wrong label built from it is
        graded like the gold."""
        elements = self._elements(answer)
        if elements is None:
            return None
        return ", ".join(_number_text(e) if isinstance(e, float) else e for e in self._sorted(elements))

    def fallback_wrong(self, gold: str) -> str:
        """The gold with its first element changed: a number plus one (doubled
        if huge), a letter the next letter, anything else prefixed with "not "."""
        elements = self._gold_elements(gold) or [""]
        first = elements[0]
        if isinstance(first, float):
            # +1 vanishes within the comparison's tolerance for huge numbers
            changed = _number_text(first + 1 if not math.isclose(first + 1, first, rel_tol=1e-9) else 2 * first)
        elif len(first) == 1 and first.isalpha() and first.isascii():
            changed = "a" if first == "z" else chr(ord(first) + 1)
        else:
            changed = f"not {first}".strip()
        rest = [_number_text(e) if isinstance(e, float) else e for e in elements[1:]]
        return ", ".join([changed, *rest])


