"""Our graders against the official ones on the same answers (tests/fixtures/conformance/: the
official verdicts, written from the released code's copy of SynLogic and from KOR-Bench's grader,
and the classification of every disagreement). No disagreement may be unclassified or a bug, no
classification may be stale, and each names a row of the differences table (docs/differences.md)."""

import json
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
import pytest  # noqa: E402
from grader_conformance import SUITES, compare, markdown, records  # noqa: E402


def differences_table() -> str:
    text = (REPO / "docs" / "differences.md").read_text()
    return text[text.index("# Differences from the released code"):]


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_disagreement_with_the_official_grader_is_classified(suite):
    result = compare(suite)
    assert result["answers"] > 500 and len(result["per_task"]) >= {"synlogic": 30, "korbench": 5}[suite]
    unclassified = [d for d in result["disagreements"] if len(d["entries"]) != 1]
    assert not unclassified, [(d["task"], d["answer"][:60], d["ours"], d["official"], d["entries"]) for d in unclassified]
    used = {d["entries"][0] for d in result["disagreements"]}
    stale = [e for i, e in enumerate(result["entries"]) if i not in used]
    assert not stale, stale
    assert all(e["kind"] == "intended" for e in result["entries"]), "a bug stays listed: fix it"
    table = differences_table()
    for entry in result["entries"]:
        assert f"| {entry['row']} |" in table, entry["row"]


def test_the_recorded_conformance_is_todays():
    recs = records()
    assert json.loads((REPO / "benchmarks" / "results" / "grader_conformance.json").read_text()) == recs
    assert (REPO / "benchmarks" / "results" / "grader_conformance.md").read_text() == markdown(recs)
