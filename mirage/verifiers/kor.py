"""KOR-Bench grading as its official grader does it (``eval/eval_utils.py`` of
github.com/KOR-Bench/KOR-Bench, read to learn what it does; this is our own code).

A KOR-Bench gold is the question's answer with the two things the official rules
depend on: its ``rule_id`` and its ``idx`` (``make_gold``; the hub loader writes
it). A response (the content of the answer tag) is compared per category:

``operation``
    rules 23-25 (sequences): the numbers of the answer, in order; questions 178
    and 179: the sorted ``≥ n`` / ``≤ n`` constraints; rule 18: the sorted
    letters and digits; the questions whose answers are expressions (``EXPRESSION_IDX``):
    mathematical equivalence (math-verify here, sympy's LaTeX parser there), the
    ``or`` alternatives as a set; an answer with ``or``: the alternatives sorted,
    spaces removed; else the cleaned text (spaces, quotes, brackets removed).
``puzzle``
    per rule: 1 letters only, case-insensitive; 2 any one of the listed answers;
    3 the words as a multiset; 4 any one of the listed words; 5 the comma-separated
    items as a multiset; 9 an equation with the answer's operators in order and its
    result; 10 an expression of the answer's numbers that makes 24; 18 the text
    without commas, spaces and brackets; else letters and digits only.
``logic``
    rule 5: the ``;``-separated parts as a multiset; else the cleaned text (spaces,
    quotes, full stops removed).
``cipher``, ``counterfactual``
    the cleaned text (spaces, quotes, brackets removed), case kept.

The response's answer is its first ``[[…]]``; without one, its first
``$\\boxed{…}$``, else its first ``[…]``. Expressions are never executed: an
arithmetic answer is computed by ``mirage.verifiers.synlogic.reading.arithmetic``'s grammar. Where
the official grader has a defect we do not copy it (docs/differences.md):
puzzle rule 4's substring test accepts any fragment of a listed word (we require
a whole listed word), and the plain comparison cleans the response but not
the gold (we clean both).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable

from mirage.verifiers.base import MAX_ANSWER_CHARS, TextFallbackVerifier
from mirage.verifiers.math_answers import MathVerifier
from mirage.verifiers.names import LOGIC_VERIFIERS
from mirage.verifiers.synlogic.reading import arithmetic

GOLD_KEY = "korbench"
MAX_RESPONSE_CHARS = 20_000
# the questions (idx, as in the data) whose answers the official grader compares as expressions
EXPRESSION_IDX = frozenset(
    [18, 73, 74, 77, 94, 115, 116, 117, 121, 122, 123, 125, 131, 132, 134, 135, 136, 141, 143, 149,
     *range(145, 148), *range(151, 157), 160, 161, 162, 164, 165, 166, 170, 206, 209, *range(211, 216), 217, 218])
INEQUALITY_IDX = frozenset({178, 179})
NUMBER_SEQUENCE_RULES = frozenset({"23", "24", "25"})


def make_gold(subset: str, answer: str, rule_id, idx) -> str:
    """A KOR-Bench gold: the answer with its category, rule and question number."""
    return json.dumps({GOLD_KEY: subset, "answer": answer, "rule_id": str(rule_id), "idx": str(idx)},
                      ensure_ascii=False)


def read_gold(gold: str) -> dict | None:
    """The parts of a gold written by ``make_gold``; None for a plain answer (a label)."""
    if not gold.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(gold)
    except ValueError:
        return None
    return value if isinstance(value, dict) and GOLD_KEY in value else None


# -- reading the answer ---------------------------------------------------------------------------

def _between(text: str, opening: str, closing: str) -> str | None:
    """The text between the first ``opening`` and the first ``closing`` after it
    (what a lazy regex finds, in linear time), stripped; None if there is none."""
    start = text.find(opening)
    if start < 0:
        return None
    end = text.find(closing, start + len(opening))
    return text[start + len(opening):end].strip() if end >= 0 else None


def first_answer(text: str) -> str | None:
    """The official grader's answer: the first ``[[…]]``, else the first
    ``$\\boxed{…}$``, else the first ``[…]``."""
    for opening, closing in (("[[", "]]"), ("$\\boxed{", "}$"), ("[", "]")):
        found = _between(text, opening, closing)
        if found is not None:
            return found
    return None


def first_double_bracket(text: str) -> str | None:
    """The content of the first ``[[…]]`` (not stripped), as the puzzle and rule-18 rules read it."""
    start = text.find("[[")
    end = text.find("]]", start + 2) if start >= 0 else -1
    return text[start + 2:end] if end >= 0 else None


def clean(text: str, drop: str) -> str:
    """``text`` without newlines and the characters of ``drop``."""
    return text.translate({ord(c): None for c in "\n" + drop})


CLEAN = ' "[]'     # spaces, quotes, brackets
LOGIC_CLEAN = ' ".'  # spaces, quotes, full stops


# -- the comparisons --------------------------------------------------------------------------------

def _numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def _inequalities(text: str) -> list[str]:
    return sorted("".join(m) for m in re.findall(r"(≥|≤)\s*(-?\d+\.?\d*)", text))


def _alternatives(text: str) -> list[str]:
    return sorted(part.strip() for part in text.split("or"))


def _latex_core(text: str) -> str:
    """The official cleaning of a LaTeX answer: the right side of its last ``=``,
    without ``\\(``/``\\[`` delimiters, ``\\text{…}``, ``\\left``/``\\right``/``\\displaystyle``."""
    text = clean(text, '"[]$')
    if "=" in text:
        text = text.rsplit("=", 1)[1]
    text = re.sub(r"\\[()\[\]]", "", text)
    text = re.sub(r"\\text\{[^}]*\}", "", text)
    text = re.sub(r"\\(left|right|displaystyle)", "", text)
    return text.replace("\\\\", "\\")


def _expressions_equal(response: str, answer: str) -> bool:
    """Equivalent expressions (math-verify; the official grader simplifies with
    sympy), the texts compared where they do not parse; with ``or`` in the
    answer, the alternatives as a set."""
    math = MathVerifier()
    got, want = _latex_core(response), _latex_core(answer)

    def same(a: str, b: str) -> bool:
        return a == b or math.equal(f"${b}$", f"${a}$")

    if "or" not in want:
        return same(got, want)
    got_parts, want_parts = _alternatives(got), _alternatives(want)
    return (all(any(same(g, w) for g in got_parts) for w in want_parts)
            and all(any(same(g, w) for w in want_parts) for g in got_parts))


def _operation(response: str, answer: str, rule_id: str | None, idx: int | None) -> bool:
    if idx in INEQUALITY_IDX:
        return _inequalities(clean(response, CLEAN)) == _inequalities(answer)
    if rule_id == "18":
        inner = first_double_bracket(answer)
        return inner is not None and sorted(re.sub(r"\W", "", clean(response, CLEAN))) == sorted(re.sub(r"\W", "", inner))
    if rule_id in NUMBER_SEQUENCE_RULES:
        return _numbers(clean(response, CLEAN)) == _numbers(answer)
    if idx in EXPRESSION_IDX:
        return _expressions_equal(response, answer)
    if "or" in answer:
        response = re.sub(r"\\text\{or\}", "or", clean(response, CLEAN))
        return _alternatives(response) == _alternatives(clean(answer, CLEAN))
    return clean(response, CLEAN) == clean(answer, CLEAN)


def _letters(text: str) -> str:
    return re.sub(r"[^A-Za-z]", "", text).lower()


def _arithmetic(text: str):
    parsed = arithmetic(text)
    return parsed[0] if parsed is not None else None


def _puzzle_equation(response: str, answer: str) -> bool:
    response, answer = (t.replace("×", "*").replace("−", "-") for t in (response, answer))
    ops = [re.findall(r"[+\-*/]", t.split("=")[0]) for t in (response, answer)]
    target = re.search(r"=\s*(-?\d+)", answer)
    return ops[0] == ops[1] and target is not None and _arithmetic(response.split("=")[0]) == int(target.group(1))


def _puzzle_24(response: str, answer: str) -> bool:
    left = response.replace("×", "*").replace("−", "-").split("=")[0]
    want = answer.split("\n")[0].split("=")[0]
    return sorted(re.sub(r"\W", "", left)) == sorted(re.sub(r"\W", "", want)) and _arithmetic(left) == 24


PUZZLE_RULES: dict[str, Callable[[str, str], bool]] = {
    "1": lambda r, a: _letters(r) == _letters(a),
    "2": lambda r, a: _letters(r) in a.split(","),
    "3": lambda r, a: sorted(w for w in re.split(r"\W+", r.lower()) if w) == sorted(a.split(" ")),
    # any one of the listed words; the official test is `letters in answer`, a substring test
    # ("a" passes for "apple"): we require a whole listed word
    "4": lambda r, a: bool(_letters(r)) and _letters(r) in {_letters(w) for w in re.split(r"[\s,]+", a) if w},
    "5": lambda r, a: sorted(re.sub(r"\s+", "", r).split(",")) == sorted(a.split(",")),
    "9": _puzzle_equation,
    "10": _puzzle_24,
    "18": lambda r, a: re.sub(r"[,\s\[\]]+", "", r) == re.sub(r"[,\s\[\]]+", "", a),
}


def _puzzle(response: str, answer: str, rule_id: str | None) -> bool:
    inner_response, inner_answer = first_double_bracket(response), first_double_bracket(answer)
    if inner_response is None or inner_answer is None:
        return False
    rule = PUZZLE_RULES.get(rule_id or "")
    if rule is not None:
        return rule(inner_response, inner_answer)
    return re.sub(r"\W+", "", inner_response) == re.sub(r"\W+", "", inner_answer)


def _logic(response: str, answer: str, rule_id: str | None) -> bool:
    if rule_id == "5":
        return sorted(clean(response, LOGIC_CLEAN).split(";")) == sorted(first_answer(answer).split(";"))
    return clean(response, LOGIC_CLEAN) == clean(first_answer(answer) or answer, LOGIC_CLEAN)


def grade(subset: str | None, response: str, answer: str, rule_id=None, idx=None) -> bool:
    """Whether ``response`` (an answer tag's content) answers a KOR-Bench question
    of ``subset`` with the gold ``answer`` (as written in the data, ``[[…]]``)
    under the official rules. Without ``rule_id`` / ``idx`` (a label, not a
    question), the category's plain comparison."""
    if len(response) > MAX_RESPONSE_CHARS:
        return False
    rule_id = None if rule_id is None else str(rule_id)
    idx = int(idx) if idx is not None and str(idx).isdigit() else None
    if subset == "puzzle":
        return _puzzle(response, answer, rule_id)
    found = first_answer(response)
    if found is None:
        return False
    if subset == "operation":
        return _operation(found, answer, rule_id, idx)
    if subset == "logic":
        return _logic(found, answer, rule_id)
    return clean(found, CLEAN) == clean(first_answer(answer) or answer, CLEAN)


# -- the verifiers --------------------------------------------------------------------------------

class KorVerifier(TextFallbackVerifier):
    """KOR-Bench, graded as its official grader grades (``mirage.verifiers.kor``): a gold
    names its question's rule and number (``mirage.verifiers.kor.make_gold``, written by the
    hub loader); a plain gold (a label) is compared by its category's plain rule.
    ``kor:<subset>`` grades one category, ``kor`` takes the category from the gold
    (plain rule for a label). The answer is the last answer tag's content; with
    ``fallback``, a completion without tags is read after its last ``</think>``."""

    def __init__(self, name: str = "kor", fallback: bool = False):
        super().__init__(fallback)
        self.name = name
        self.subset = name.split(":", 1)[1] if ":" in name else None

    def equal(self, gold: str, answer: str) -> bool:
        parts = read_gold(gold)
        if parts is None:
            return grade(self.subset, answer, gold)
        return grade(self.subset or parts[GOLD_KEY], answer, parts["answer"], parts["rule_id"], parts["idx"])

    def canonical(self, answer: str) -> str | None:
        """The answer's first ``[[…]]`` (else ``$\\boxed{}$``, else ``[…]``) without
        spaces, quotes and brackets, in ``[[…]]``: equal answers vote together,
        and a label built from it is graded by the plain rule."""
        found = first_answer(answer) if len(answer) <= MAX_ANSWER_CHARS else None
        cleaned = clean(found, CLEAN) if found is not None else ""
        return f"[[{cleaned}]]" if cleaned else None

    def fallback_wrong(self, gold: str) -> str:
        """The gold's answer with its first letter or digit changed."""
        parts = read_gold(gold)
        text = first_answer(parts["answer"] if parts else gold) or ""
        for i, ch in enumerate(text):
            if ch.isalnum():
                changed = "0" if ch == "9" else "a" if ch in "zZ" else chr(ord(ch) + 1)
                return f"[[{text[:i]}{changed}{text[i + 1:]}]]"
        return f"[[not {text}]]"


KOR_VERIFIERS = {name: functools.partial(KorVerifier, name) for name in LOGIC_VERIFIERS if name.startswith("kor")}
