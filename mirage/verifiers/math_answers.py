"""Competition mathematics: the last ``\\boxed{}`` of an answer, graded by math-verify
(``math``), with bounds on what is parsed."""

from __future__ import annotations

import functools
import re
import threading

from mirage.verifiers.base import MAX_ANSWER_CHARS, AnswerVerifier, extract_answer

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
