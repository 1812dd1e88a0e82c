"""The SynLogic task types' rules (``RULES``, one per task type: the row's ``data_source``):
the answers that are a value, a list or an expression here, the grid puzzles' from
mirage.verifiers.synlogic.puzzles."""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from typing import Any, Callable

from mirage.verifiers.logic import last_double_bracket
from mirage.verifiers.math_answers import MathVerifier, last_boxed
from mirage.verifiers.names import SYNLOGIC_TASK_TYPES
from mirage.verifiers.synlogic.puzzles import PUZZLE_RULES
from mirage.verifiers.synlogic.reading import (
    MAX_ANSWER_CHARS,
    Rule,
    arithmetic,
    boxed_or_text,
    code_block,
    game_meta,
    gold_text,
    int_cell,
    last_span,
    literal,
    small_int,
)


# Game of 24 / Mathador
def _parse_target(text: str):
    expression = code_block(text) or text
    expression = " ".join(expression.split())
    return expression if arithmetic(expression) is not None else None


def _check_target(game: dict, expression: str) -> bool:
    meta = game_meta(game)
    operators = "".join(str(op) for op in meta.get("operators") or "+-*/")
    parsed = arithmetic(expression, operators)
    if parsed is None:
        return False
    value, numbers = parsed
    try:
        target = Fraction(str(meta["result"]))
    except (ValueError, ZeroDivisionError):
        return False
    return value == target and Counter(numbers) == Counter(int(n) for n in meta["numbers"])


# boolean_expressions: the set of option letters
def _letters(text: str) -> list[str]:
    return sorted({c.lower() for c in text if c.isascii() and c.isalpha()})


def _parse_letters(text: str):
    boxed = last_boxed(text)
    return _letters(boxed) or None if boxed is not None else None


# cipher: the text inside [[…]]
def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text


def _parse_cipher(text: str):
    inner = last_double_bracket(text)
    return _unquote(inner) or None if inner is not None else None


def _check_cipher(game: dict, value: str) -> bool:
    gold = gold_text(game).strip()
    inner = last_double_bracket(gold)
    return value == _unquote(inner if inner is not None else gold)


# cryptarithm: the digit equation
_EQUATION = re.compile(r"\d+(?:\s*[-+*]\s*\d+)+\s*=\s*-?\d+")


def _parse_equation(text: str):
    found = _EQUATION.findall(text)
    return "".join(found[-1].split()) if found else None


# dyck_language: the whole closed sequence
def _parse_sequence(text: str):
    return _unquote("".join(text.split())) or None


# dyck_language_errors: the first error's position, or -1 when valid
def _parse_error_position(text: str):
    text = text.strip()
    number = small_int(text)
    if number is not None:
        return number
    lowered = text.casefold()
    if re.search(r"\b(invalid|incorrect|not valid|not correct)\b", lowered) or "不合法" in text:
        return None
    return -1 if re.search(r"\b(valid|correct)\b", lowered) or "合法" in text else None


def _check_error_position(game: dict, value: int) -> bool:
    meta = game_meta(game)
    return value == (-1 if meta["is_valid"] else int(meta["first_error_pos"]))


# dyck_language_reasoning_errors: the set of wrong thoughts
_NO_ERRORS = {"no", "none", "no error", "no errors", "no mistakes", "all correct", "无问题", "无错误", "无"}


def _parse_indices(text: str):
    text = text.strip().rstrip(".").strip()
    # the task's prompt asks for "" when no thought is wrong: the empty answer and the quotes alone mean none
    if text.casefold() in _NO_ERRORS or text.strip("\"'“”‘’ ") == "":
        return []
    if "unclear" in text.casefold() or "不确定" in text or "不知道" in text:
        return None
    numbers = re.findall(r"\d{1,6}", text)
    return sorted({int(n) for n in numbers}) if numbers else None


# goods_exchange: who owns what
_PAIR = re.compile(r"\(\s*['\"]?([^,'\"()]+?)['\"]?\s*,\s*['\"]?([^,'\"()]+?)['\"]?\s*\)")


def _parse_owners(text: str):
    text = code_block(text) or text
    value = literal(text)
    pairs = None
    if isinstance(value, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2
                                                and all(isinstance(x, str) for x in p) for p in value):
        pairs = value
    elif len(text) <= MAX_ANSWER_CHARS:
        pairs = _PAIR.findall(text)
    if not pairs:
        return None
    owners = {str(person).strip().casefold(): str(item).strip().casefold() for person, item in pairs}
    return sorted(owners.items()) if len(owners) == len(pairs) else None


def _check_owners(game: dict, value) -> bool:
    return [list(p) for p in value] == [list(p) for p in (_parse_owners(str(game_meta(game)["owns_after"])) or [])]


# math_path: fill the blanks of an equation
def _parse_filled(text: str):
    inner = last_double_bracket(text)
    if inner is None:
        return None
    expression = "".join(inner.split())
    sides = expression.split("=")
    if len(sides) != 2 or any(arithmetic(side, "+-*/%") is None for side in sides):
        return None
    return expression


def _check_filled(game: dict, expression: str) -> bool:
    query = "".join(str(game_meta(game)["query_expr"]).split())
    want_digits = [c for c in query if c.isdigit() or c == "?"]
    got_digits = [c for c in expression if c.isdigit()]
    if len(want_digits) != len(got_digits) or any(w not in ("?", g) for w, g in zip(want_digits, got_digits)):
        return False
    if [c for c in query if c in "+-*/%"] != [c for c in expression if c in "+-*/%"]:
        return False
    left, right = (arithmetic(side, "+-*/%") for side in expression.split("="))
    return left is not None and right is not None and left[0] == right[0]


# object_counting, object_properties: one integer
def _parse_count(text: str):
    return small_int(boxed_or_text(text))


def _check_count(game: dict, value: int) -> bool:
    return value == small_int(gold_text(game))


# operation: math-verify on the boxed value
_MATH = MathVerifier()


def _parse_math(text: str):
    value = boxed_or_text(text).strip()
    return value if value and len(value) <= 1_000 else None


# space_reasoning: one boxed word; space_reasoning_tree: a boxed set
def _parse_boxed_word(text: str):
    boxed = last_boxed(text)
    return boxed.strip().casefold() or None if boxed is not None else None


def _items(text: str) -> list[str]:
    return sorted({x for x in text.replace("，", ",").replace(" ", "").split(",")})


def _parse_boxed_items(text: str):
    boxed = last_boxed(text)
    return _items(boxed) if boxed is not None and boxed.strip() else None


# time_sequence: [longest free slot, number of slots]
def _whole_number(x: Any) -> int | None:
    """An integer, or a float that is one (``40.0``: the original compares numbers, 40.0 == 40)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return int(x)
    return int_cell(x)


def _parse_pair(text: str):
    value = literal(last_span(text.replace("，", ","), "[", "]"))
    if not isinstance(value, list) or len(value) < 2 or any(_whole_number(x) is None for x in value[:2]):
        return None
    return [_whole_number(x) for x in value[:2]]


def _check_pair(game: dict, value) -> bool:
    answers = game_meta(game)["records"]["answers"]
    return value == [int(answers["answer_maxLen"]), int(answers["answer_nums"])]


# web_of_lies: yes/no per person, in order
_TRUTH = re.compile(r"\b(yes|true|truth|no|false|lie)\b|(是|真话|真|否|假话|假|谎)")


def _truths(text: str) -> list[bool]:
    return [(m.group(1) or m.group(2)) in ("yes", "true", "truth", "是", "真话", "真") for m in _TRUTH.finditer(text.casefold())]


def _parse_truths(text: str):
    bold = re.findall(r"\*\*([^*]+)\*\*", text)
    return _truths(bold[-1] if bold else text) or None


def _check_truths(game: dict, value) -> bool:
    return value == _truths(gold_text(game))


# word_sorting: an ordered list of words
def _words(text: str) -> list[str]:
    return [w for w in text.replace("，", ",").replace(" ", "").split(",")]


def _parse_words(text: str):
    boxed = last_boxed(text)
    return _words(boxed) if boxed is not None and boxed.strip() else None


# word_sorting_mistake: a step number or "No"
def _mistake(text: str):
    text = text.strip()
    return int(text) if text.isdigit() and len(text) <= 9 else text.casefold()


def _parse_mistake(text: str):
    boxed = last_boxed(text)
    return _mistake(boxed) if boxed is not None and boxed.strip() else None


def _check_mistake(game: dict, value) -> bool:
    answer = game.get("answer")
    return value == _mistake(str(answer) if answer is not None else "No")


# zebra_puzzle: a JSON object, compared with types; arc_agi: a JSON grid
def _parse_json(text: str):
    body = code_block(text) or text
    value = literal(body)
    return value if value is not None else body.strip() or None


def _strict_equal(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_strict_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_strict_equal(x, y) for x, y in zip(a, b))
    return a == b


def _check_zebra(game: dict, value) -> bool:
    gold = game.get("answer")
    parsed = literal(gold) if isinstance(gold, str) else gold
    if isinstance(parsed, dict):
        return isinstance(value, dict) and _strict_equal(parsed, value)
    return isinstance(value, str) and value == str(gold).strip()


def _parse_arc(text: str):
    value = _parse_json(text.casefold())
    return [list(row) for row in value] if isinstance(value, list) and all(isinstance(r, (list, tuple)) for r in value) else None


def _check_arc(game: dict, value) -> bool:
    gold = game.get("answer")
    gold = literal(gold) if isinstance(gold, str) else gold
    return isinstance(gold, list) and value == gold


# buggy_tables: a number with two decimals
_TWO_DECIMALS = re.compile(r"-?\d+\.\d{2}\b")


def _two_decimals(text: str) -> str:
    found = _TWO_DECIMALS.findall(text)
    return found[-1] if found else text.strip()


def _parse_table_value(text: str):
    return _two_decimals(text) or None


def _equal_to_gold(parse: Callable[[str], Any]) -> Callable[[dict, Any], bool]:
    """A check that compares with the game's own answer read the same way."""
    return lambda game, value: value == parse(gold_text(game))


_TARGET = Rule(_parse_target, _check_target, ("numbers", "result"), canon=lambda v: v.replace(" ", ""),
               doc="an arithmetic expression (last code block or the whole answer) that uses exactly the given "
                   "numbers with the allowed operators and equals the target, computed exactly")
_COUNT = Rule(_parse_count, _check_count, ("@answer",), canon=str,
              doc="an integer (last \\boxed{} or the whole answer) equal to the game's answer")

# task type (the row's data_source) -> rule, for the answers that are a value
_VALUE_RULES: dict[str, Rule] = {
    "arc_agi": Rule(_parse_arc, _check_arc, ("@answer",), doc="the output grid (JSON, last code block) equals the answer"),
    "boolean_expressions": Rule(_parse_letters, _equal_to_gold(_letters), ("@answer",),
                                doc="the set of letters in the last \\boxed{} equals the answer's (the true options)"),
    "buggy_tables": Rule(_parse_table_value, _equal_to_gold(_two_decimals), ("@answer",), canon=str,
                         doc="the last number with two decimals equals the answer's"),
    "cipher": Rule(_parse_cipher, _check_cipher, ("@answer",), canon=str,
                   doc="the text in the last [[…]] (quotes stripped) equals the answer's, case kept"),
    "cryptarithm": Rule(_parse_equation, _equal_to_gold(lambda t: "".join(t.split())), ("@answer",), canon=str,
                        doc="the last digit equation, spaces removed, equals the answer"),
    "dyck_language": Rule(_parse_sequence, lambda g, v: v == "".join(str(game_meta(g)["full_sequence"]).split()),
                          ("full_sequence",), canon=str,
                          doc="the whole answer, spaces removed, is the completed sequence"),
    "dyck_language_errors": Rule(_parse_error_position, _check_error_position, ("is_valid",), canon=str,
                                 doc="the first error's position as an integer, or -1 / 'valid' for a valid sequence"),
    "dyck_language_reasoning_errors": Rule(_parse_indices, lambda g, v: set(v) == {int(x) for x in game_meta(g)["error_indices"]},
                                           ("error_indices",), reads_empty=True,
                                           doc="the set of wrong thought numbers, or an explicit 'no errors' "
                                               "(the prompt's \"\", or an empty answer)"),
    "game_of_24": _TARGET,
    "goods_exchange": Rule(_parse_owners, _check_owners, ("owns_after",),
                           doc="the (person, item) pairs, case-insensitive, equal the final ownership"),
    "math_path": Rule(_parse_filled, _check_filled, ("query_expr",), canon=str,
                      doc="the equation in the last [[…]] fills the blanks of the query (digits and operators "
                          "kept) and holds, computed exactly"),
    "mathador": _TARGET,
    "object_counting": _COUNT,
    "object_properties": _COUNT,
    "operation": Rule(_parse_math, lambda g, v: _MATH.equal(gold_text(g), v), ("@answer",),
                      canon=lambda v: _MATH.canonical(v) or v,
                      doc="the last \\boxed{} (or the whole answer) equals the answer under math-verify"),
    "space_reasoning": Rule(_parse_boxed_word, _equal_to_gold(lambda t: t.strip().casefold()), ("@answer",), canon=str,
                            doc="the last \\boxed{} equals the answer, case-insensitive"),
    "space_reasoning_tree": Rule(_parse_boxed_items, _equal_to_gold(_items), ("@answer",),
                                 doc="the set of comma-separated items in the last \\boxed{} equals the answer's"),
    "time_sequence": Rule(_parse_pair, _check_pair, ("records",),
                          doc="the last [a, b] is [longest slot, number of slots]"),
    "web_of_lies": Rule(_parse_truths, _check_truths, ("@answer",),
                        doc="the yes/no sequence (last bold text or the answer) equals the answer's, in order"),
    "word_sorting": Rule(_parse_words, _equal_to_gold(_words), ("@answer",),
                         doc="the comma-separated words in the last \\boxed{}, spaces removed, equal the answer's in order"),
    "word_sorting_mistake": Rule(_parse_mistake, _check_mistake, (), canon=str,
                                 doc="the last \\boxed{}: the step number, or the word, equal to the answer ('No' if none)"),
    "zebra_puzzle": Rule(_parse_json, _check_zebra, ("@answer",),
                         doc="the JSON object (last code block) equals the answer's, types included"),
}

# every task type's rule, in the order of their names
RULES: dict[str, Rule] = dict(sorted({**_VALUE_RULES, **PUZZLE_RULES}.items()))

# Config validation knows the task types by name alone (mirage.verifiers.names.SYNLOGIC_TASK_TYPES):
# a task type added here or removed must be added or removed there too.
if set(RULES) != set(SYNLOGIC_TASK_TYPES):
    raise ImportError(f"mirage.verifiers.synlogic.rules.RULES and mirage.verifiers.names.SYNLOGIC_TASK_TYPES differ: "
                      f"{', '.join(sorted(set(RULES) ^ set(SYNLOGIC_TASK_TYPES)))}")


def missing_fields(task_type: str, game: dict) -> list[str]:
    """The fields ``task_type``'s rule needs that ``game`` lacks."""
    meta = game_meta(game) if isinstance(game.get("metadata"), dict) else {}
    return [key for key in RULES[task_type].needs
            if (game.get("answer") is None if key == "@answer" else key not in meta)]
