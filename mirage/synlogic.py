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

import ast
import json
import math
import re
from collections import Counter, deque
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable

from mirage.verifier_names import SYNLOGIC_TASK_TYPES
from mirage.verify import (
    VERIFIERS,
    MathVerifier,
    TextFallbackVerifier,
    last_boxed,
    last_double_bracket,
)

GOLD_KEY = "synlogic"  # the key that marks a gold as game data, naming its task type
MAX_ANSWER_CHARS = 20_000  # an ARC grid is a few thousand characters; longer answers are wrong unread
MAX_EXPRESSION_TOKENS = 200
MAX_NUMBER_DIGITS = 12
MAX_DEPTH = 40
NO_WRONG_LABEL = "<no wrong answer>"  # a label no answer's canonical form can equal


# -- the gold ---------------------------------------------------------------------------------------

def make_gold(task_type: str, game_data: str | dict) -> str:
    """The problems table's ``answer`` for a SynLogic row: its game data (JSON
    text or an object) with the task type under ``GOLD_KEY``."""
    game = json.loads(game_data) if isinstance(game_data, str) else dict(game_data)
    if not isinstance(game, dict):
        raise ValueError(f"SynLogic game data of {task_type!r} is not a JSON object")
    return json.dumps({GOLD_KEY: task_type, "question": game.get("question"), "answer": game.get("answer"),
                       "metadata": game.get("metadata") or {}}, ensure_ascii=False)


def read_gold(gold: str) -> dict | None:
    """The game data in ``gold``, or None when ``gold`` is a label."""
    text = gold.strip()
    if not text.startswith("{") or f'"{GOLD_KEY}"' not in text:
        return None
    try:
        game = json.loads(text)
    except ValueError:
        return None
    return game if isinstance(game, dict) and isinstance(game.get(GOLD_KEY), str) else None


# -- reading answers without running them -----------------------------------------------------------

_FENCE = re.compile(r"```[A-Za-z0-9_+-]*[ \t]*\n?(.*?)```", re.DOTALL)


def code_block(text: str) -> str | None:
    """The content of the last fenced code block (any language tag), stripped."""
    blocks = _FENCE.findall(text)
    return blocks[-1].strip() if blocks else None


def last_span(text: str, opening: str, closing: str) -> str | None:
    """The last balanced ``opening…closing`` group that ends at the last
    ``closing`` (found backwards, one scan)."""
    end = text.rfind(closing)
    depth = 0
    for i in range(end, -1, -1):
        if text[i] == closing:
            depth += 1
        elif text[i] == opening:
            depth -= 1
            if depth == 0:
                return text[i:end + 1]
    return None


def literal(text: str | None) -> Any:
    """A JSON or Python literal (lists, tuples, dicts, strings, numbers), or
    None. ``ast.literal_eval`` builds literals only: no name, call or operator
    other than a sign is ever evaluated."""
    if text is None:
        return None
    text = text.strip()
    if not text or len(text) > MAX_ANSWER_CHARS:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        value = ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError on hostile text
        return None
    return value if _plain(value) else None


def _plain(value: Any, depth: int = 0) -> bool:
    """Whether a Python literal holds only what JSON can write (strings,
    numbers other than complex, booleans, None, lists, tuples, dicts with
    string or number keys): ``0J``, bytes, sets and ``...`` are not answers."""
    if depth > 64:
        return False
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, (str, int, float, bool)) and _plain(v, depth + 1) for k, v in value.items())
    return False


MAX_CANDIDATE_GROUPS = 32  # bracket groups tried from the end of an answer before giving up


def spans_from_end(text: str, opening: str, closing: str):
    """The balanced ``opening…closing`` groups of ``text`` that end at each
    ``closing``, last first (at most ``MAX_CANDIDATE_GROUPS``)."""
    end = len(text)
    for _ in range(MAX_CANDIDATE_GROUPS):
        end = text.rfind(closing, 0, end)
        if end < 0:
            return
        span = last_span(text[:end + 1], opening, closing)
        if span is not None:
            yield span


def find_literal(text: str, kinds: str = "[", accept: Callable[[Any], bool] | None = None) -> Any:
    """The answer's literal: the last code block if it parses, else, for each
    kind of bracket in ``kinds`` (``[``, ``(``, ``{``), the last balanced group
    that parses and that ``accept`` takes (any literal by default): a remark
    after the answer, e.g. ``((9, 4, ...)) (done).``, does not hide it."""
    accept = accept or (lambda value: True)
    value = literal(code_block(text))
    if value is not None and accept(value):
        return value
    for opening in kinds:
        for span in spans_from_end(text, opening, {"[": "]", "(": ")", "{": "}"}[opening]):
            value = literal(span)
            if value is not None and accept(value):
                return value
    return None


def find_grid(text: str, cell: Callable[[Any], Any], kinds: str = "[") -> list[list] | None:
    """The last literal of ``text`` that is a grid of ``cell`` values (``grid``)."""
    return grid(find_literal(text, kinds, accept=lambda value: grid(value, cell) is not None), cell)


def grid(value: Any, cell: Callable[[Any], Any]) -> list[list] | None:
    """``value`` as a rectangular-or-ragged list of rows of ``cell(x)`` values
    (None if any cell is refused)."""
    if not isinstance(value, (list, tuple)) or not value:
        return None
    rows = []
    for row in value:
        if not isinstance(row, (list, tuple)) or not row:
            return None
        cells = [cell(x) for x in row]
        if any(c is None for c in cells):
            return None
        rows.append(cells)
    return rows


def int_cell(x: Any) -> int | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, int):
        return x
    if isinstance(x, str) and re.fullmatch(r"\s*-?\d{1,9}\s*", x):
        return int(x)
    return None


def str_cell(x: Any) -> str | None:
    if isinstance(x, str):
        return x
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return None


def small_int(text: str) -> int | None:
    text = text.strip().rstrip(".").strip()
    return int(text) if re.fullmatch(r"[+-]?\d{1,18}", text) else None


def boxed_or_text(text: str) -> str:
    boxed = last_boxed(text)
    return boxed if boxed is not None else text


# -- arithmetic: a grammar of our own ---------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\d+|[-+*/%()=])")


class _Expression:
    """expr := term (('+'|'-') term)*; term := factor (('*'|'/'|'%') factor)*;
    factor := number | '(' expr ')'. Exact fractions; no unary sign."""

    def __init__(self, tokens: list[str], operators: str):
        self.tokens, self.operators, self.pos, self.numbers = tokens, operators, 0, []

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expr(self, depth: int) -> Fraction:
        value = self.term(depth)
        while self.peek() in ("+", "-") and self.peek() in self.operators:
            value = value + self.term(depth) if self.take() == "+" else value - self.term(depth)
        return value

    def term(self, depth: int) -> Fraction:
        value = self.factor(depth)
        while self.peek() in ("*", "/", "%") and self.peek() in self.operators:
            op, right = self.take(), self.factor(depth)
            if op == "*":
                value = value * right
            elif right == 0:
                raise ZeroDivisionError
            else:
                value = value / right if op == "/" else value % right
        return value

    def factor(self, depth: int) -> Fraction:
        token = self.peek()
        if token is None:
            raise ValueError("expression ends early")
        if token == "(":
            if depth >= MAX_DEPTH:
                raise ValueError("too deep")
            self.take()
            value = self.expr(depth + 1)
            if self.peek() != ")":
                raise ValueError("unclosed parenthesis")
            self.take()
            return value
        if token.isdigit():
            if len(token) > MAX_NUMBER_DIGITS:
                raise ValueError("number too long")
            self.take()
            self.numbers.append(int(token))
            return Fraction(int(token))
        raise ValueError(f"unexpected {token!r}")


def arithmetic(text: str, operators: str = "+-*/") -> tuple[Fraction, list[int]] | None:
    """The exact value of an arithmetic expression and the numbers it uses, in
    order; None if it is not one (a character outside the grammar, an operator
    outside ``operators``, a division by zero, too long or too deep)."""
    text = text.strip()
    if not text or len(text) > 4 * MAX_EXPRESSION_TOKENS:
        return None
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos:].strip() == "":
                break
            return None
        tokens.append(match.group(1))
        pos = match.end()
    if len(tokens) > MAX_EXPRESSION_TOKENS or any(t in "+-*/%" and t not in operators for t in tokens if not t.isdigit()):
        return None
    parser = _Expression(tokens, operators)
    try:
        value = parser.expr(0)
    except (ValueError, ZeroDivisionError):
        return None
    if parser.pos != len(tokens):
        return None
    return value, parser.numbers


# -- the rules --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """How one task type grades: ``parse`` reads an answer (the content of the
    answer tag) into a value, None if unreadable; ``check`` says whether the
    value solves the game; ``needs`` are the game's metadata keys ``check``
    reads ("@answer": the game's own answer); ``canon`` writes a value as the
    text majority votes and labels compare; ``reads_empty``: an empty answer is
    an answer of this task type (its prompt asks for one), not a missing one."""

    parse: Callable[[str], Any]
    check: Callable[[dict, Any], bool]
    needs: tuple[str, ...] = ()
    canon: Callable[[Any], str] = field(default=lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True))
    doc: str = ""
    reads_empty: bool = False


def _meta(game: dict) -> dict:
    return game.get("metadata") or {}


def _gold_text(game: dict) -> str:
    answer = game.get("answer")
    return answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False)


# Game of 24 / Mathador
def _parse_target(text: str):
    expression = code_block(text) or text
    expression = " ".join(expression.split())
    return expression if arithmetic(expression) is not None else None


def _check_target(game: dict, expression: str) -> bool:
    meta = _meta(game)
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
    gold = _gold_text(game).strip()
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
    meta = _meta(game)
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


# futoshiki and calcudoko: a Latin square, as [[1 2 3, 2 3 1, …]] or nested lists
def _parse_square(text: str):
    value = find_grid(text, int_cell)
    if value is None:
        inner = last_double_bracket(text)
        if inner is None:
            return None
        rows = [row.split() for row in inner.replace("，", ",").split(",")]
        if not all(rows) or not all(re.fullmatch(r"\d{1,4}", c) for row in rows for c in row):
            return None
        value = [[int(c) for c in row] for row in rows]
    n = len(value)
    return value if all(len(row) == n for row in value) else None


def _latin(square: list[list[int]], n: int) -> bool:
    want = set(range(1, n + 1))
    return (len(square) == n and all(len(row) == n and set(row) == want for row in square)
            and all({row[j] for row in square} == want for j in range(n)))


def _check_futoshiki(game: dict, square: list[list[int]]) -> bool:
    meta = _meta(game)
    n = int(meta["grid_size"])
    if not _latin(square, n):
        return False
    solution = game.get("answer")
    solution = literal(solution) if isinstance(solution, str) else solution
    for r, c in meta["prefilled_coords"]:
        if square[r][c] != int(solution[r][c]):
            return False
    for (r1, c1), (r2, c2), sign in meta["constraints"]:
        a, b = square[r1][c1], square[r2][c2]
        if (sign == ">" and not a > b) or (sign == "<" and not a < b):
            return False
    return True


def _check_calcudoko(game: dict, square: list[list[int]]) -> bool:
    meta = _meta(game)
    n = int(meta.get("grid_size", 4))
    if not _latin(square, n):
        return False
    for region in meta["regions"]:
        cells = []
        for cell in region["cells"]:
            if isinstance(cell, str):
                found = re.search(r"\((\d+)\s*,\s*(\d+)\)", cell)
                if not found:
                    return False
                cell = (int(found.group(1)), int(found.group(2)))
            r, c = int(cell[0]) - 1, int(cell[1]) - 1
            if not (0 <= r < n and 0 <= c < n):
                return False
            cells.append(square[r][c])
        if len(set(cells)) != len(cells):
            return False
        target, op = Fraction(str(region["target"])), region["operator"]
        if op == "+":
            ok = sum(cells) == target
        elif op == "*":
            ok = math.prod(cells) == target
        elif op == "-":
            ok = len(cells) == 2 and abs(cells[0] - cells[1]) == target
        else:
            ok = len(cells) == 2 and target in (Fraction(cells[0], cells[1]), Fraction(cells[1], cells[0]))
        if not ok:
            return False
    return True


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
    return [list(p) for p in value] == [list(p) for p in (_parse_owners(str(_meta(game)["owns_after"])) or [])]


# kukurasu
def _parse_kukurasu(text: str):
    value = find_grid(text, str_cell)
    return value if value is not None and all(c in ("1", "X") for row in value for c in row) else None


def _check_kukurasu(game: dict, cells) -> bool:
    meta = _meta(game)
    n, m = int(meta["n"]), int(meta["m"])
    if len(cells) != n or any(len(row) != m for row in cells):
        return False
    rows = [sum(j + 1 for j in range(m) if cells[i][j] == "1") for i in range(n)]
    cols = [sum(i + 1 for i in range(n) if cells[i][j] == "1") for j in range(m)]
    return rows == list(meta["row_sums"]) and cols == list(meta["col_sums"])


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
    query = "".join(str(_meta(game)["query_expr"]).split())
    want_digits = [c for c in query if c.isdigit() or c == "?"]
    got_digits = [c for c in expression if c.isdigit()]
    if len(want_digits) != len(got_digits) or any(w not in ("?", g) for w, g in zip(want_digits, got_digits)):
        return False
    if [c for c in query if c in "+-*/%"] != [c for c in expression if c in "+-*/%"]:
        return False
    left, right = (arithmetic(side, "+-*/%") for side in expression.split("="))
    return left is not None and right is not None and left[0] == right[0]


# minesweeper: the set of mines
_COORD = re.compile(r"[(\[]\s*(\d{1,4})\s*,\s*(\d{1,4})\s*[)\]]")


def _coordinate_list(value) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(int_cell(x) is not None for x in p)
                    for p in value))


def _parse_coords(text: str):
    """The last list of (row, col) pairs, e.g. ``[(0, 2), (3, 1)]`` (a remark
    after it, ``(cell (1, 1) is safe)``, is not a mine); with no such list, every
    coordinate in the answer."""
    value = find_literal(text, "[", accept=_coordinate_list)
    if value is not None:
        return sorted({(int_cell(r), int_cell(c)) for r, c in value})
    found = _COORD.findall(text)
    return sorted({(int(r), int(c)) for r, c in found}) if found else None


def _check_mines(game: dict, coords) -> bool:
    return set(coords) == {tuple(int(x) for x in mine) for mine in _meta(game)["current_mines"]}


# norinori: dominoes, 1-indexed
_DOMINO = re.compile(r"\(\s*(\d{1,4})\s*,\s*(\d{1,4})\s*\)\s*,\s*\(\s*(\d{1,4})\s*,\s*(\d{1,4})\s*\)")


def _parse_dominoes(text: str):
    found = _DOMINO.findall(text)
    return [[[int(a), int(b)], [int(c), int(d)]] for a, b, c, d in found] if found else None


def _check_norinori(game: dict, dominoes) -> bool:
    regions = _meta(game)["region_grid"]
    n = len(regions)
    owner: dict[tuple[int, int], int] = {}
    for k, ((r1, c1), (r2, c2)) in enumerate(dominoes):
        if abs(r1 - r2) + abs(c1 - c2) != 1:
            return False
        for r, c in ((r1, c1), (r2, c2)):
            if not (1 <= r <= n and 1 <= c <= n) or (r, c) in owner:
                return False
            owner[(r, c)] = k
    for (r, c), k in owner.items():
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            if owner.get((r + dr, c + dc), k) != k:
                return False
    shaded = Counter(regions[r - 1][c - 1] for r, c in owner)
    labels = {cell for row in regions for cell in row if cell != "X"}
    return (all(shaded[label] == 2 for label in labels)
            and all((i + 1, j + 1) in owner for i in range(n) for j in range(n) if regions[i][j] == "X"))


# number_wall: islands and walls
def _wall_cell(x):
    if isinstance(x, str) and x.strip() in ("A", "X"):
        return x.strip()
    return int_cell(x)


def _parse_wall(text: str):
    return find_grid(text, _wall_cell)


def _components(cells, n) -> dict[tuple[int, int], int]:
    label, seen = 0, {}
    for i in range(n):
        for j in range(n):
            if cells[i][j] != "A" and (i, j) not in seen:
                queue = deque([(i, j)])
                seen[(i, j)] = label
                while queue:
                    r, c = queue.popleft()
                    for nr, nc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                        if 0 <= nr < n and 0 <= nc < n and cells[nr][nc] != "A" and (nr, nc) not in seen:
                            seen[(nr, nc)] = label
                            queue.append((nr, nc))
                label += 1
    return seen


def _check_wall(game: dict, cells) -> bool:
    meta = _meta(game)
    n, given = int(meta["n"]), meta["grid"]
    if len(cells) != n or any(len(row) != n for row in cells):
        return False
    if any(isinstance(given[i][j], int) and cells[i][j] != given[i][j] for i in range(n) for j in range(n)):
        return False
    if any(all(cells[i + a][j + b] == "A" for a in (0, 1) for b in (0, 1)) for i in range(n - 1) for j in range(n - 1)):
        return False
    island = _components(cells, n)
    members: dict[int, list] = {}
    for cell, k in island.items():
        members.setdefault(k, []).append(cells[cell[0]][cell[1]])
    for values in members.values():
        numbers = [v for v in values if isinstance(v, int)]
        if len(numbers) != 1 or numbers[0] != len(values):
            return False
    for i in range(n - 1):
        for j in range(n - 1):
            for (a, b), (c, d) in (((i, j), (i + 1, j + 1)), ((i, j + 1), (i + 1, j))):
                others = [(a, d), (c, b)]
                if (cells[a][b] != "A" and cells[c][d] != "A" and all(cells[x][y] == "A" for x, y in others)
                        and island[(a, b)] != island[(c, d)]):
                    return False
    return True


# numbrix: a path 1..n² through orthogonal neighbours
def _parse_int_grid(text: str):
    return find_grid(text, int_cell, "[(")


def _check_numbrix(game: dict, cells) -> bool:
    given = _meta(game)["grid"]
    n = len(given)
    if len(cells) != n or any(len(row) != n for row in cells):
        return False
    where = {cells[i][j]: (i, j) for i in range(n) for j in range(n)}
    if sorted(where) != list(range(1, n * n + 1)) or len(where) != n * n:
        return False
    if any(given[i][j] != "X" and int_cell(given[i][j]) != cells[i][j] for i in range(n) for j in range(n)):
        return False
    return all(abs(where[k][0] - where[k + 1][0]) + abs(where[k][1] - where[k + 1][1]) == 1 for k in range(1, n * n))


# object_counting, object_properties: one integer
def _parse_count(text: str):
    return small_int(boxed_or_text(text))


def _check_count(game: dict, value: int) -> bool:
    return value == small_int(_gold_text(game))


# operation: math-verify on the boxed value
_MATH = MathVerifier()


def _parse_math(text: str):
    value = boxed_or_text(text).strip()
    return value if value and len(value) <= 1_000 else None


# skyscraper_puzzle
def _visible(heights) -> int:
    seen, tallest = 0, 0
    for h in heights:
        if h > tallest:
            seen, tallest = seen + 1, h
    return seen


def _check_skyscraper(game: dict, cells) -> bool:
    meta = _meta(game)
    n = int(meta["n"])
    if not _latin(cells, n):
        return False
    columns = [[cells[i][j] for i in range(n)] for j in range(n)]
    return ([_visible(col) for col in columns] == list(meta["top"])
            and [_visible(col[::-1]) for col in columns] == list(meta["bottom"])
            and [_visible(row) for row in cells] == list(meta["left"])
            and [_visible(row[::-1]) for row in cells] == list(meta["right"]))


# space_reasoning: one boxed word; space_reasoning_tree: a boxed set
def _parse_boxed_word(text: str):
    boxed = last_boxed(text)
    return boxed.strip().casefold() or None if boxed is not None else None


def _items(text: str) -> list[str]:
    return sorted({x for x in text.replace("，", ",").replace(" ", "").split(",")})


def _parse_boxed_items(text: str):
    boxed = last_boxed(text)
    return _items(boxed) if boxed is not None and boxed.strip() else None


# star_placement_puzzle: {region: [(row, col), …]}, 1-indexed
def _parse_stars(text: str):
    source = code_block(text) or text
    value = literal(last_span(source, "{", "}"))
    if not isinstance(value, dict) or not value:
        return None
    stars = set()
    for coords in value.values():
        if not isinstance(coords, (list, tuple)):
            return None
        for pair in coords:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(int_cell(x) is not None for x in pair)):
                return None
            stars.add((int_cell(pair[0]), int_cell(pair[1])))
    return sorted(stars)


def _check_stars(game: dict, stars) -> bool:
    meta = _meta(game)
    n, k, regions = int(meta["n"]), int(meta["k"]), meta["region_grid"]
    cells = {(r - 1, c - 1) for r, c in stars}
    if any(not (0 <= r < n and 0 <= c < n) for r, c in cells):
        return False
    if any((r + dr, c + dc) in cells for r, c in cells for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc):
        return False
    per_region = Counter(regions[r][c] for r, c in cells)
    labels = {cell for row in regions for cell in row}
    return (all(sum(1 for r, _ in cells if r == i) == k for i in range(n))
            and all(sum(1 for _, c in cells if c == j) == k for j in range(n))
            and all(per_region[label] == k for label in labels))


# sudoku
def _check_sudoku(game: dict, cells) -> bool:
    given = _meta(game)["original_sudoku"]
    n = len(given)
    box = math.isqrt(n)
    if n == 0 or box * box != n or not _latin(cells, n):
        return False
    for bi in range(0, n, box):
        for bj in range(0, n, box):
            if {cells[bi + a][bj + b] for a in range(box) for b in range(box)} != set(range(1, n + 1)):
                return False
    return all(given[i][j] in (0, "0", "X", "x") or cells[i][j] == int(given[i][j]) for i in range(n) for j in range(n))


# survo: fill the blanks so that the last row and column are sums
def _check_survo(game: dict, cells) -> bool:
    meta = _meta(game)
    given = meta["original_matrix"]
    rows, cols = len(given), len(given[0])
    if len(cells) != rows or any(len(row) != cols for row in cells):
        return False
    filled = []
    for i in range(rows):
        for j in range(cols):
            if given[i][j] == 0:
                filled.append(cells[i][j])
            elif cells[i][j] != given[i][j]:
                return False
    if sorted(filled) != sorted(int(x) for x in meta["candidate_numbers"]):
        return False
    return (all(sum(cells[i][:cols - 1]) == cells[i][cols - 1] for i in range(rows - 1))
            and all(sum(cells[i][j] for i in range(rows - 1)) == cells[rows - 1][j] for j in range(cols - 1)))


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
    answers = _meta(game)["records"]["answers"]
    return value == [int(answers["answer_maxLen"]), int(answers["answer_nums"])]


# web_of_lies: yes/no per person, in order
_TRUTH = re.compile(r"\b(yes|true|truth|no|false|lie)\b|(是|真话|真|否|假话|假|谎)")


def _truths(text: str) -> list[bool]:
    return [(m.group(1) or m.group(2)) in ("yes", "true", "truth", "是", "真话", "真") for m in _TRUTH.finditer(text.casefold())]


def _parse_truths(text: str):
    bold = re.findall(r"\*\*([^*]+)\*\*", text)
    return _truths(bold[-1] if bold else text) or None


def _check_truths(game: dict, value) -> bool:
    return value == _truths(_gold_text(game))


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


# wordscapes: a crossword grid
def _word_cell(x):
    if isinstance(x, (int, str)) and not isinstance(x, bool):
        text = str(x).strip()
        return " " if text in ("", "0") else text
    return None


def _parse_crossword(text: str):
    return find_grid(text, _word_cell)


def _check_crossword(game: dict, cells) -> bool:
    meta = _meta(game)
    layout = meta["grid"]
    if len(cells) != len(layout) or any(len(a) != len(b) for a, b in zip(cells, layout)):
        return False
    for i, row in enumerate(layout):
        for j, kind in enumerate(row):
            if (str(kind) == "0" and cells[i][j] != " ") or (str(kind) == "X" and cells[i][j] == " "):
                return False
    rows = ["".join(row).replace(" ", "").casefold() for row in cells]
    cols = ["".join(row[j] for row in cells if j < len(row)).replace(" ", "").casefold() for j in range(len(cells[0]))]
    return (all(not w or any(w.casefold() in r for r in rows) for w in meta["across_words"])
            and all(not w or any(w.casefold() in c for c in cols) for w in meta["down_words"]))


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


# campsite: tents (C) beside trees (T)
def _parse_campsite(text: str):
    return find_grid(text, str_cell)


def _check_campsite(game: dict, cells) -> bool:
    meta = _meta(game)
    given, n, m = meta["grid"], int(meta["n"]), int(meta["m"])
    if len(cells) != n or any(len(row) != m for row in cells):
        return False
    if any((given[i][j] == "T") != (cells[i][j] == "T") for i in range(n) for j in range(m)):
        return False
    tents = [(i, j) for i in range(n) for j in range(m) if cells[i][j] == "C"]
    trees = [(i, j) for i in range(n) for j in range(m) if cells[i][j] == "T"]
    if [sum(1 for i, _ in tents if i == r) for r in range(n)] != list(meta["row_constraints"]):
        return False
    if [sum(1 for _, j in tents if j == c) for c in range(m)] != list(meta["col_constraints"]):
        return False
    tent_set = set(tents)
    if any((i + a, j + b) in tent_set for i, j in tents for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b):
        return False
    if len(tents) != len(trees):
        return False
    near = {t: [(t[0] + a, t[1] + b) for a, b in ((0, 1), (1, 0), (0, -1), (-1, 0)) if (t[0] + a, t[1] + b) in set(trees)]
            for t in tents}
    match: dict[tuple, tuple] = {}

    def augment(tent, seen) -> bool:
        for tree in near[tent]:
            if tree not in seen:
                seen.add(tree)
                if tree not in match or augment(match[tree], seen):
                    match[tree] = tent
                    return True
        return False

    return all(augment(tent, set()) for tent in tents)


# arrow_maze: arrows in rays from the numbers
_ARROWS = {"↑": (-1, 0), "↓": (1, 0), "←": (0, -1), "→": (0, 1), "↖": (-1, -1), "↗": (-1, 1), "↘": (1, 1), "↙": (1, -1)}


def _parse_maze(text: str):
    return find_grid(text, lambda x: str_cell(x).strip() if str_cell(x) is not None else None)


def _check_maze(game: dict, cells) -> bool:
    given = _meta(game)["maze"]
    if len(cells) != len(given) or any(len(a) != len(b) for a, b in zip(cells, given)):
        return False
    for i, row in enumerate(given):
        for j, cell in enumerate(row):
            cell = str(cell)
            if cell != "X" and cells[i][j] != cell:  # numbers and given arrows stay
                return False
            if cells[i][j] == "X" or not (cells[i][j].isdigit() or cells[i][j] in _ARROWS):
                return False
    n, m = len(cells), len(cells[0])
    covered = set()
    for i in range(n):
        for j in range(m):
            if cells[i][j].isdigit():
                total = 0
                for arrow, (di, dj) in _ARROWS.items():
                    r, c = i + di, j + dj
                    while 0 <= r < n and 0 <= c < len(cells[r]) and cells[r][c] == arrow:
                        covered.add((r, c))
                        total, r, c = total + 1, r + di, c + dj
                if total != int(cells[i][j]):
                    return False
    return all((i, j) in covered for i in range(n) for j in range(len(cells[i])) if cells[i][j] in _ARROWS)


def _equal_to_gold(parse: Callable[[str], Any]) -> Callable[[dict, Any], bool]:
    """A check that compares with the game's own answer read the same way."""
    return lambda game, value: value == parse(_gold_text(game))


_TARGET = Rule(_parse_target, _check_target, ("numbers", "result"), canon=lambda v: v.replace(" ", ""),
               doc="an arithmetic expression (last code block or the whole answer) that uses exactly the given "
                   "numbers with the allowed operators and equals the target, computed exactly")
_COUNT = Rule(_parse_count, _check_count, ("@answer",), canon=str,
              doc="an integer (last \\boxed{} or the whole answer) equal to the game's answer")

# task type (the row's data_source) -> rule
RULES: dict[str, Rule] = {
    "arc_agi": Rule(_parse_arc, _check_arc, ("@answer",), doc="the output grid (JSON, last code block) equals the answer"),
    "arrow_maze": Rule(_parse_maze, _check_maze, ("maze",),
                       doc="every blank filled with an arrow, givens kept, each number equals the arrows in its rays, "
                           "every arrow on a number's ray"),
    "boolean_expressions": Rule(_parse_letters, _equal_to_gold(_letters), ("@answer",),
                                doc="the set of letters in the last \\boxed{} equals the answer's (the true options)"),
    "buggy_tables": Rule(_parse_table_value, _equal_to_gold(_two_decimals), ("@answer",), canon=str,
                         doc="the last number with two decimals equals the answer's"),
    "calcudoko": Rule(_parse_square, _check_calcudoko, ("regions",),
                      doc="a Latin square whose cages (distinct digits) meet their target under their operator"),
    "campsite": Rule(_parse_campsite, _check_campsite, ("grid", "row_constraints", "col_constraints", "n", "m"),
                     doc="trees kept, tent counts per row and column, no two tents touching, tents and trees "
                         "matched one to one by orthogonal neighbours"),
    "cipher": Rule(_parse_cipher, _check_cipher, ("@answer",), canon=str,
                   doc="the text in the last [[…]] (quotes stripped) equals the answer's, case kept"),
    "cryptarithm": Rule(_parse_equation, _equal_to_gold(lambda t: "".join(t.split())), ("@answer",), canon=str,
                        doc="the last digit equation, spaces removed, equals the answer"),
    "dyck_language": Rule(_parse_sequence, lambda g, v: v == "".join(str(_meta(g)["full_sequence"]).split()),
                          ("full_sequence",), canon=str,
                          doc="the whole answer, spaces removed, is the completed sequence"),
    "dyck_language_errors": Rule(_parse_error_position, _check_error_position, ("is_valid",), canon=str,
                                 doc="the first error's position as an integer, or -1 / 'valid' for a valid sequence"),
    "dyck_language_reasoning_errors": Rule(_parse_indices, lambda g, v: set(v) == {int(x) for x in _meta(g)["error_indices"]},
                                           ("error_indices",), reads_empty=True,
                                           doc="the set of wrong thought numbers, or an explicit 'no errors' "
                                               "(the prompt's \"\", or an empty answer)"),
    "futoshiki": Rule(_parse_square, _check_futoshiki, ("@answer", "grid_size", "prefilled_coords", "constraints"),
                      doc="a Latin square keeping the prefilled cells and every inequality"),
    "game_of_24": _TARGET,
    "goods_exchange": Rule(_parse_owners, _check_owners, ("owns_after",),
                           doc="the (person, item) pairs, case-insensitive, equal the final ownership"),
    "kukurasu": Rule(_parse_kukurasu, _check_kukurasu, ("row_sums", "col_sums", "n", "m"),
                     doc="a grid of '1'/'X' whose weighted row and column sums match"),
    "math_path": Rule(_parse_filled, _check_filled, ("query_expr",), canon=str,
                      doc="the equation in the last [[…]] fills the blanks of the query (digits and operators "
                          "kept) and holds, computed exactly"),
    "mathador": _TARGET,
    "minesweeper": Rule(_parse_coords, _check_mines, ("current_mines",),
                        doc="the set of (row, col) coordinates equals the mines"),
    "norinori": Rule(_parse_dominoes, _check_norinori, ("region_grid",),
                     doc="dominoes, not touching, two shaded cells per region, every X cell shaded"),
    "number_wall": Rule(_parse_wall, _check_wall, ("grid", "n"),
                        doc="numbers kept, no 2x2 wall, each island holds one number equal to its size, "
                            "no diagonal contact between islands"),
    "numbrix": Rule(_parse_int_grid, _check_numbrix, ("grid",),
                    doc="1..n² once each, givens kept, consecutive numbers orthogonal neighbours"),
    "object_counting": _COUNT,
    "object_properties": _COUNT,
    "operation": Rule(_parse_math, lambda g, v: _MATH.equal(_gold_text(g), v), ("@answer",),
                      canon=lambda v: _MATH.canonical(v) or v,
                      doc="the last \\boxed{} (or the whole answer) equals the answer under math-verify"),
    "skyscraper_puzzle": Rule(_parse_int_grid, _check_skyscraper, ("n", "top", "bottom", "left", "right"),
                              doc="a Latin square whose visible counts match the four clue lines"),
    "space_reasoning": Rule(_parse_boxed_word, _equal_to_gold(lambda t: t.strip().casefold()), ("@answer",), canon=str,
                            doc="the last \\boxed{} equals the answer, case-insensitive"),
    "space_reasoning_tree": Rule(_parse_boxed_items, _equal_to_gold(_items), ("@answer",),
                                 doc="the set of comma-separated items in the last \\boxed{} equals the answer's"),
    "star_placement_puzzle": Rule(_parse_stars, _check_stars, ("n", "k", "region_grid"),
                                  doc="k stars per row, column and region, no two touching (diagonals included)"),
    "sudoku": Rule(_parse_int_grid, _check_sudoku, ("original_sudoku",),
                   doc="a valid sudoku (rows, columns, boxes) keeping the givens"),
    "survo": Rule(_parse_int_grid, _check_survo, ("original_matrix", "candidate_numbers"),
                  doc="givens kept, the blanks use the candidate numbers, rows and columns add up to their last cell"),
    "time_sequence": Rule(_parse_pair, _check_pair, ("records",),
                          doc="the last [a, b] is [longest slot, number of slots]"),
    "web_of_lies": Rule(_parse_truths, _check_truths, ("@answer",),
                        doc="the yes/no sequence (last bold text or the answer) equals the answer's, in order"),
    "word_sorting": Rule(_parse_words, _equal_to_gold(_words), ("@answer",),
                         doc="the comma-separated words in the last \\boxed{}, spaces removed, equal the answer's in order"),
    "word_sorting_mistake": Rule(_parse_mistake, _check_mistake, (), canon=str,
                                 doc="the last \\boxed{}: the step number, or the word, equal to the answer ('No' if none)"),
    "wordscapes": Rule(_parse_crossword, _check_crossword, ("grid", "across_words", "down_words"),
                       doc="the grid's shape and blanks match the layout and every word is in a row or column"),
    "zebra_puzzle": Rule(_parse_json, _check_zebra, ("@answer",),
                         doc="the JSON object (last code block) equals the answer's, types included"),
}

# Config validation knows the task types by name alone (mirage.verifier_names.SYNLOGIC_TASK_TYPES):
# a task type added here or removed must be added or removed there too.
if set(RULES) != set(SYNLOGIC_TASK_TYPES):
    raise ImportError(f"mirage.synlogic.RULES and mirage.verifier_names.SYNLOGIC_TASK_TYPES differ: "
                      f"{', '.join(sorted(set(RULES) ^ set(SYNLOGIC_TASK_TYPES)))}")


def missing_fields(task_type: str, game: dict) -> list[str]:
    """The fields ``task_type``'s rule needs that ``game`` lacks."""
    meta = _meta(game) if isinstance(game.get("metadata"), dict) else {}
    return [key for key in RULES[task_type].needs
            if (game.get("answer") is None if key == "@answer" else key not in meta)]


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


# name -> a factory taking ``fallback``. Registered here, whichever of the two
# modules is imported first (mirage.verify imports this one at its end).
SYNLOGIC_VERIFIERS = {"synlogic": SynLogicDispatcher, **{f"synlogic:{t}": _factory(t) for t in RULES}}
VERIFIERS.update(SYNLOGIC_VERIFIERS)
