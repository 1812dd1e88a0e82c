"""The Snakefile validates the config (mirage.config) and imports mirage.tasks.sources on
every parse, so both stay light: the names config validation needs live in modules
without heavy imports, each defined once and checked here against the registry it
names. And no mirage module imports another inside a function."""

import ast
import subprocess
import sys

import pytest
from conftest import REPO

HEAVY = ("datasets", "math_verify", "sympy", "torch", "transformers", "trl", "vllm", "reasoning_gym")


def test_config_validation_names_are_the_registries_names():
    from mirage.tasks.hub_sources import SOURCES
    from mirage.tasks.hub_sources import SOURCES as HUB_DATA_SOURCES  # the registry hub_data reads
    from mirage.verifiers.logic import LOGIC_RULES
    from mirage.verifiers.names import LOGIC_VERIFIERS, SYNLOGIC_TASK_TYPES, VERIFIER_NAMES
    from mirage.verifiers.registry import VERIFIERS
    from mirage.verifiers.synlogic.rules import RULES

    assert set(VERIFIER_NAMES) == set(VERIFIERS)
    # LogicVerifier grades SynLogic labels, mirage.verifiers.kor's KorVerifier KOR-Bench
    assert set(LOGIC_VERIFIERS) == set(LOGIC_RULES) | {n for n in LOGIC_VERIFIERS if n.startswith("kor")}
    assert set(SYNLOGIC_TASK_TYPES) == set(RULES)
    assert HUB_DATA_SOURCES is SOURCES  # one registry, re-exported
    assert {s.verifier for s in SOURCES.values()} <= VERIFIER_NAMES


@pytest.mark.integration
def test_config_and_sources_import_no_heavy_package():
    # huggingface_hub too: it reads HF_HUB_OFFLINE once, when it is imported
    # and the command line (python -m mirage --help answers in well under a second)
    code = ("import sys, mirage.config, mirage.tasks.sources, mirage.__main__; "
            f"print(sorted(m for m in {(*HEAVY, 'huggingface_hub')!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_validating_the_default_configs_imports_no_heavy_package():
    code = ("import sys; from mirage.config import load_config; "
            "load_config(); load_config(['config/paper.yaml']); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def imports_in_functions(root=REPO / "mirage") -> list[tuple[str, str, int, str]]:
    """(file, function, line, module) of each import of a mirage module (or a
    relative one) inside a function body."""
    found = []

    def visit(node, path, function):
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = child.name if function is None else f"{function}.{child.name}"
            if function is not None:
                if isinstance(child, ast.ImportFrom) and (child.level or (child.module or "").split(".")[0] == "mirage"):
                    found.append((path, function, child.lineno, "." * child.level + (child.module or "")))
                elif isinstance(child, ast.Import):
                    found.extend((path, function, child.lineno, a.name) for a in child.names
                                 if a.name.split(".")[0] == "mirage")
            visit(child, path, inner)

    for file in sorted(root.rglob("*.py")):
        visit(ast.parse(file.read_text(), str(file)), file.relative_to(REPO).as_posix(), None)
    return found


def test_no_mirage_module_imports_another_inside_a_function():
    found = imports_in_functions()
    assert not found, "imports of mirage modules inside functions:\n" + "\n".join(
        f"{path}:{line} {function}: {module}" for path, function, line, module in found)
