"""The SynLogic grid puzzles' rules (Sudoku, Futoshiki, Norinori, …): each answer grid is
checked against the puzzle's own rules and givens, not against one stored solution."""

from __future__ import annotations

import math
import re
from collections import Counter, deque
from fractions import Fraction

from mirage.verifiers.logic import last_double_bracket
from mirage.verifiers.synlogic.reading import (
    Rule,
    code_block,
    find_grid,
    find_literal,
    game_meta,
    int_cell,
    last_span,
    literal,
    str_cell,
)


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
    meta = game_meta(game)
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
    meta = game_meta(game)
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


# kukurasu
def _parse_kukurasu(text: str):
    value = find_grid(text, str_cell)
    return value if value is not None and all(c in ("1", "X") for row in value for c in row) else None


def _check_kukurasu(game: dict, cells) -> bool:
    meta = game_meta(game)
    n, m = int(meta["n"]), int(meta["m"])
    if len(cells) != n or any(len(row) != m for row in cells):
        return False
    rows = [sum(j + 1 for j in range(m) if cells[i][j] == "1") for i in range(n)]
    cols = [sum(i + 1 for i in range(n) if cells[i][j] == "1") for j in range(m)]
    return rows == list(meta["row_sums"]) and cols == list(meta["col_sums"])


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
    return set(coords) == {tuple(int(x) for x in mine) for mine in game_meta(game)["current_mines"]}


# norinori: dominoes, 1-indexed
_DOMINO = re.compile(r"\(\s*(\d{1,4})\s*,\s*(\d{1,4})\s*\)\s*,\s*\(\s*(\d{1,4})\s*,\s*(\d{1,4})\s*\)")


def _parse_dominoes(text: str):
    found = _DOMINO.findall(text)
    return [[[int(a), int(b)], [int(c), int(d)]] for a, b, c, d in found] if found else None


def _check_norinori(game: dict, dominoes) -> bool:
    regions = game_meta(game)["region_grid"]
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
    meta = game_meta(game)
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
    given = game_meta(game)["grid"]
    n = len(given)
    if len(cells) != n or any(len(row) != n for row in cells):
        return False
    where = {cells[i][j]: (i, j) for i in range(n) for j in range(n)}
    if sorted(where) != list(range(1, n * n + 1)) or len(where) != n * n:
        return False
    if any(given[i][j] != "X" and int_cell(given[i][j]) != cells[i][j] for i in range(n) for j in range(n)):
        return False
    return all(abs(where[k][0] - where[k + 1][0]) + abs(where[k][1] - where[k + 1][1]) == 1 for k in range(1, n * n))


# skyscraper_puzzle
def _visible(heights) -> int:
    seen, tallest = 0, 0
    for h in heights:
        if h > tallest:
            seen, tallest = seen + 1, h
    return seen


def _check_skyscraper(game: dict, cells) -> bool:
    meta = game_meta(game)
    n = int(meta["n"])
    if not _latin(cells, n):
        return False
    columns = [[cells[i][j] for i in range(n)] for j in range(n)]
    return ([_visible(col) for col in columns] == list(meta["top"])
            and [_visible(col[::-1]) for col in columns] == list(meta["bottom"])
            and [_visible(row) for row in cells] == list(meta["left"])
            and [_visible(row[::-1]) for row in cells] == list(meta["right"]))


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
    meta = game_meta(game)
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
    given = game_meta(game)["original_sudoku"]
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
    meta = game_meta(game)
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


# wordscapes: a crossword grid
def _word_cell(x):
    if isinstance(x, (int, str)) and not isinstance(x, bool):
        text = str(x).strip()
        return " " if text in ("", "0") else text
    return None


def _parse_crossword(text: str):
    return find_grid(text, _word_cell)


def _check_crossword(game: dict, cells) -> bool:
    meta = game_meta(game)
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


# campsite: tents (C) beside trees (T)
def _parse_campsite(text: str):
    return find_grid(text, str_cell)


def _check_campsite(game: dict, cells) -> bool:
    meta = game_meta(game)
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
    given = game_meta(game)["maze"]
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


# task type (the row's data_source) -> rule, for the grid puzzles
PUZZLE_RULES: dict[str, Rule] = {
    "arrow_maze": Rule(_parse_maze, _check_maze, ("maze",),
                       doc="every blank filled with an arrow, givens kept, each number equals the arrows in its rays, "
                           "every arrow on a number's ray"),
    "calcudoko": Rule(_parse_square, _check_calcudoko, ("regions",),
                      doc="a Latin square whose cages (distinct digits) meet their target under their operator"),
    "campsite": Rule(_parse_campsite, _check_campsite, ("grid", "row_constraints", "col_constraints", "n", "m"),
                     doc="trees kept, tent counts per row and column, no two tents touching, tents and trees "
                         "matched one to one by orthogonal neighbours"),
    "futoshiki": Rule(_parse_square, _check_futoshiki, ("@answer", "grid_size", "prefilled_coords", "constraints"),
                      doc="a Latin square keeping the prefilled cells and every inequality"),
    "kukurasu": Rule(_parse_kukurasu, _check_kukurasu, ("row_sums", "col_sums", "n", "m"),
                     doc="a grid of '1'/'X' whose weighted row and column sums match"),
    "minesweeper": Rule(_parse_coords, _check_mines, ("current_mines",),
                        doc="the set of (row, col) coordinates equals the mines"),
    "norinori": Rule(_parse_dominoes, _check_norinori, ("region_grid",),
                     doc="dominoes, not touching, two shaded cells per region, every X cell shaded"),
    "number_wall": Rule(_parse_wall, _check_wall, ("grid", "n"),
                        doc="numbers kept, no 2x2 wall, each island holds one number equal to its size, "
                            "no diagonal contact between islands"),
    "numbrix": Rule(_parse_int_grid, _check_numbrix, ("grid",),
                    doc="1..n² once each, givens kept, consecutive numbers orthogonal neighbours"),
    "skyscraper_puzzle": Rule(_parse_int_grid, _check_skyscraper, ("n", "top", "bottom", "left", "right"),
                              doc="a Latin square whose visible counts match the four clue lines"),
    "star_placement_puzzle": Rule(_parse_stars, _check_stars, ("n", "k", "region_grid"),
                                  doc="k stars per row, column and region, no two touching (diagonals included)"),
    "sudoku": Rule(_parse_int_grid, _check_sudoku, ("original_sudoku",),
                   doc="a valid sudoku (rows, columns, boxes) keeping the givens"),
    "survo": Rule(_parse_int_grid, _check_survo, ("original_matrix", "candidate_numbers"),
                  doc="givens kept, the blanks use the candidate numbers, rows and columns add up to their last cell"),
    "wordscapes": Rule(_parse_crossword, _check_crossword, ("grid", "across_words", "down_words"),
                       doc="the grid's shape and blanks match the layout and every word is in a row or column"),
}
