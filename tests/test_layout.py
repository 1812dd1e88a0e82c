"""The package's shape (README.md, Layout): packages by role with empty ``__init__``s, no
import cycle, no module too long to read, a short top level."""

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "mirage"
MAX_LINES = 600
# files that are long because they are catalogues (one entry per item), named as such
CATALOGUES: set[str] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The mirage modules ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in modules}
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {m: imports(p, set(files)) - {m} for m, p in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected set of modules (Tarjan), empty without any."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_cycle_check_finds_a_planted_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_of_mirage_imports_itself_through_others():
    graph = import_graph()
    assert len(graph) > 40 and sum(map(len, graph.values())) > 100  # the scan reads the imports
    assert cycles(graph) == []


def test_packages_by_role_with_empty_inits_and_a_short_top_level():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.name != "__pycache__")
    assert len(top) <= 15, top
    for init in PACKAGE.rglob("__init__.py"):
        assert init.read_text().strip() == "", f"{init.relative_to(REPO)}: a package's __init__ stays empty"
    for package in ("core", "tasks", "verifiers", "generation", "training", "analysis", "toy"):
        assert (PACKAGE / package / "__init__.py").is_file(), package


def test_no_module_is_longer_than_a_reader_holds():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(REPO)) not in CATALOGUES}
    assert not long, f"modules over {MAX_LINES} lines (split them, or name a catalogue in CATALOGUES): {long}"


def test_the_workflow_lint_reads_each_finding_and_waives_only_the_listed_ones():
    import importlib.util

    spec = importlib.util.spec_from_file_location("lint_workflow", REPO / "scripts" / "lint_workflow.py")
    lint = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lint)
    output = (f"Lints for snakefile {REPO}/Snakefile:\n"
              "    * Environment variable PYTHONPATH used but not asserted with envvars directive in line 37.:\n"
              "      Asserting existence ...\n"
              f"Lints for snakefile {REPO}/rules/common.smk:\n"
              '    * Absolute path "/x" in line 3:\n')
    found = lint.findings(output)
    assert [f for f, _ in found] == ["Snakefile", "rules/common.smk"]
    assert lint.unwaived(found) == found[1:]  # the absolute path is not waived: make lint would fail on it
