"""The docs cite files that exist: every repository path a doc names in backticks or a link."""

import re
from pathlib import Path

from conftest import REPO

DOCS = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOP = ("mirage/", "tests/", "benchmarks/", "config/", "rules/", "workflow_scripts/", "scripts/", "envs/",
       "profiles/", "report/", "docs/", ".ci/")
CITED = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)")


def cited_paths(text: str) -> set[str]:
    """Repository-relative paths a doc names (a folder ends with /; globs kept)."""
    found = set()
    for m in CITED.finditer(text):
        path = (m.group(1) or m.group(2)).rstrip(".,:;")
        path = re.split(r"::|:(?=\d)", path)[0]  # a test's id, file.py:12
        # benchmarks/runs/: a study's own benchmark files, in its work directory
        if path.startswith(TOP) and not path.startswith("benchmarks/runs") and not re.search(r"[{}<>$…]|\.\.\.", path):
            found.add(path)
    return found


def missing(doc: Path) -> list[str]:
    out = []
    for path in sorted(cited_paths(doc.read_text())):
        if not (list(REPO.glob(path.rstrip("/"))) if "*" in path else (REPO / path).exists()):
            out.append(path)
    return out


def test_the_scan_finds_a_cited_file_that_does_not_exist(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("See `mirage/core/seeding.py`, [the plan](benchmarks/results/plan-paper.md) and `mirage/verify.py`.")
    assert cited_paths(doc.read_text()) == {"mirage/core/seeding.py", "benchmarks/results/plan-paper.md", "mirage/verify.py"}
    assert missing(doc) == ["mirage/verify.py"]


def test_every_file_a_doc_cites_exists():
    assert len(cited_paths((REPO / "README.md").read_text())) > 20  # the scan reads the README's paths
    stale = {str(doc.relative_to(REPO)): m for doc in DOCS if (m := missing(doc))}
    assert not stale, stale
