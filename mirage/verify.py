"""Answer extraction and grading.

A verifier never evaluates model output: it only matches text. Every grade says
whether the completion was well formed (reasoning part then answer part) and
whether the extracted answer equals the gold one; correctness is graded even
when the format is broken, and the reward decides what to do with it.

Verifiers: ``integer`` (the toy families), ``math`` (math-verify), ``kor``,
``kor:<subset>`` and ``synlogic`` (short logic answers, see ``LOGIC_RULES``),
``exact`` (text, white space collapsed), ``choice`` (a multiple-choice letter),
``reasoning_gym`` (a reasoning-gym generator's own ``score_answer``, mirage.reasoning_gym_tasks).

As released, only an answer inside ``<answer>`` tags is graded (a ``\\boxed{}``
or ``[[…]]`` inside the tag is the answer). A verifier's ``fallback`` (off by
default; ``get_verifier(name, fallback=True)``, the config's
``tasks.<task>.answer_fallback``) also grades a completion without answer tags:
by its last ``\\boxed{}`` (math) or ``[[…]]`` (logic) anywhere.
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import dataclass

from mirage.registry import Registry
from mirage.verifier_names import LOGIC_VERIFIERS

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


# -- paper scale: competition mathematics ------------------------------------------------------

# Longer answers are graded wrong without being parsed: parsing is the only step
# whose cost grows with the model's output, and an answer is a short expression.
MAX_ANSWER_CHARS = 1_000

# One pass over the text: an escaped character (``\{``) is skipped so that it
# cannot open or close a group; ``\boxed{`` opens a group whose content we want.
_BRACE_TOKENS = re.compile(r"(?P<boxed>\\boxed\s*\{)|(?P<escaped>\\.)|(?P<open>\{)|(?P<close>\})", re.DOTALL)


def last_boxed(text: str) -> str | None:
    """The content of the ``\\boxed{…}`` that closes last (nested braces
    matched), stripped; None if no boxed group is complete. Linear in the text,
    so a huge completion full of unclosed groups costs one scan."""
    open_groups: list[int] = []  # per open brace: where a boxed content starts, or -1
    last: tuple[int, int] | None = None
    for token in _BRACE_TOKENS.finditer(text):
        kind = token.lastgroup
        if kind == "boxed":
            open_groups.append(token.end())
        elif kind == "open":
            open_groups.append(-1)
        elif kind == "close" and open_groups:
            start = open_groups.pop()
            if start >= 0:
                last = (start, token.start())
    return text[last[0]:last[1]].strip() if last else None


def extract_math_answer(completion: str, fallback: bool = False) -> str | None:
    """The last boxed content inside the last answer tag, else that tag's whole
    content; without a tag, None (the released rule), or with ``fallback`` the
    last boxed content anywhere (the format reward is then zero, but the
    answer is graded)."""
    answer = extract_answer(completion)
    if answer is None and not fallback:
        return None
    boxed = last_boxed(answer if answer is not None else completion)
    return boxed if boxed is not None else answer


def boxed_or_tag_answer(verifier, completion: str) -> str | None:
    """The answer as TTRL and Spurious Rewards read it: the last ``\\boxed{}``
    anywhere in the completion, else what ``verifier`` extracts (the answer tag)."""
    boxed = last_boxed(completion)
    return boxed if boxed is not None else verifier.extract(completion)


def _require_main_thread() -> None:
    # math-verify bounds parsing and comparison with SIGALRM, which only the
    # main thread can set; failing loudly beats grading everything wrong.
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("MathVerifier must run in the main thread: math-verify's timeouts use SIGALRM")


@functools.cache
def _math_verify():
    """math-verify and sympy, imported on the first math grade: with
    latex2sympy2 they take a third of a second, which config validation and data
    preparation (that import this module's names, never grade) need not pay."""
    import math_verify
    import math_verify.errors
    import math_verify.utils
    import sympy

    return math_verify, sympy


def _timeout_error() -> type[BaseException]:
    """math-verify's timeout, which is not an ``Exception``."""
    return _math_verify()[0].errors.TimeoutException


@functools.lru_cache(maxsize=16_384)
def _parse_math(text: str, timeout_seconds: int) -> tuple:
    """math-verify's parse as an immutable tuple (cached: the gold answer is
    parsed once per group, not once per completion). Bare LaTeX such as
    ``\\frac12`` is only found between dollars, so text without any is wrapped."""
    wrapped = text if "$" in text else f"${text}$"
    return tuple(_math_verify()[0].parse(wrapped, parsing_timeout=timeout_seconds))


def _first_expression(parsed: tuple):
    sympy = _math_verify()[1]
    return next((p for p in parsed if isinstance(p, (sympy.Basic, sympy.MatrixBase))), None)


@functools.lru_cache(maxsize=65_536)
def _math_equal(gold: str, answer: str, parse_timeout: int, verify_timeout: int) -> bool:
    """Cached: a group's completions often repeat one answer, and an answer that
    runs into the timeout should cost it once, not once per copy."""
    math_verify, timeout_error = _math_verify()[0], _timeout_error()
    try:
        want, got = _parse_math(gold, parse_timeout), _parse_math(answer, parse_timeout)
    except (Exception, timeout_error):
        return False
    if _first_expression(want) is None or _first_expression(got) is None:
        return False
    try:
        # lists: math-verify takes any other container for a single expression
        return bool(math_verify.verify(list(want), list(got), timeout_seconds=verify_timeout))
    except (Exception, timeout_error):
        return False


class MathVerifier(AnswerVerifier):
    """Grades competition-mathematics answers with math-verify: ``\\frac{1}{2}``,
    ``0.5`` and ``1/2`` are one answer, and so are ``2x+1`` and ``1+2x``. The
    released code compared strings. Any failure, timeout included, grades the
    answer wrong; nothing from the completion is ever executed."""

    name = "math"

    def __init__(self, parse_timeout: int = 5, verify_timeout: int = 5, fallback: bool = False):
        # whole seconds: they become signal.alarm arguments
        self.parse_timeout = int(parse_timeout)
        self.verify_timeout = int(verify_timeout)
        self.fallback = bool(fallback)

    def extract(self, completion: str) -> str | None:
        return extract_math_answer(completion, self.fallback)

    def _parse(self, text: str) -> tuple:
        timeout_error = _timeout_error()
        try:
            return _parse_math(text, self.parse_timeout)
        except (Exception, timeout_error):
            return ()

    def equal(self, gold: str, answer: str) -> bool:
        """Whether math-verify judges ``answer`` equal to ``gold``. The order
        matters: math-verify is asymmetric (gold ``1<x<2`` accepts ``(1,2)``,
        gold ``(1,2)`` rejects ``1<x<2``), and the gold goes first."""
        if not gold.strip() or not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            return False
        _require_main_thread()
        return _math_equal(gold, answer, self.parse_timeout, self.verify_timeout)

    def canonical(self, answer: str) -> str | None:
        """The LaTeX of the parsed expression (``0.5`` and ``\\frac12`` both give
        ``\\frac{1}{2}``), so that equal answers vote together and a wrong label
        built from it parses again; the collapsed text when nothing parses."""
        if not answer.strip() or len(answer) > MAX_ANSWER_CHARS:
            return None
        _require_main_thread()
        expression = _first_expression(self._parse(answer))
        if expression is not None:
            math_verify, sympy = _math_verify()
            try:
                return math_verify.utils.timeout(self.parse_timeout)(sympy.latex)(expression)
            except (Exception, math_verify.errors.TimeoutException):
                pass
        return " ".join(answer.split())

    def fallback_wrong(self, gold: str) -> str:
        """The first of a few candidates that parses and that math-verify does
        not accept for ``gold``."""
        for candidate in (f"{gold}+1", "0", "1"):
            if _first_expression(self._parse(candidate)) is not None and not self.equal(gold, candidate):
                return candidate
        return f"{gold}+1"


# -- paper scale: logic puzzles (KOR-Bench, SynLogic) ------------------------------------------

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
# One entry per verifier name (mirage.verifier_names.LOGIC_VERIFIERS) that LogicVerifier
# grades: "synlogic", a SynLogic label. KOR-Bench's ("kor:<subset>", "kor") are mirage.kor's.
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


# -- any task: exact text, a multiple-choice letter --------------------------------------------

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


# name -> a factory taking no argument
VERIFIERS: Registry[type[AnswerVerifier]] = Registry("verifier", {
    "exact": ExactVerifier,
    "choice": ChoiceVerifier,
    "integer": IntegerVerifier,
    "math": MathVerifier,
    **{name: functools.partial(LogicVerifier, name) for name in LOGIC_RULES},
})


def get_verifier(name, fallback: bool = False):
    """The verifier called ``name``, grading answers outside ``<answer>`` tags
    only with ``fallback``; a verifier object (already configured) is returned as is."""
    if isinstance(name, AnswerVerifier):
        return name
    verifier = VERIFIERS.lookup(name)()
    if fallback:
        verifier.fallback = True
    return verifier


# The SynLogic task types' verifiers (``synlogic`` and ``synlogic:<task type>``,
# replacing the string rule above under the name ``synlogic``) and KOR-Bench's
# (``kor``, ``kor:<subset>``): their modules add them to VERIFIERS when imported,
# so these imports stay last.
# ``reasoning_gym``: a reasoning-gym generator's own score_answer (reasoning-gym is imported
# only when a problem is graded).
import mirage.kor  # noqa: E402,F401
import mirage.reasoning_gym_tasks  # noqa: E402,F401
import mirage.synlogic  # noqa: E402,F401
