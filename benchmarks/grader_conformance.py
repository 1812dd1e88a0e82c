"""Our SynLogic verifiers against the official ones (the released code's copy of SynLogic) on the
same answers: tests/fixtures/conformance/synlogic.jsonl holds the official verdicts (written by
tests/fixtures/conformance/official_synlogic.py from a checkout of the released code; their code is
not part of mirage), synlogic_differences.yaml classifies every disagreement. Agreement per task
type, and each disagreement with its class, to benchmarks/results/grader_conformance.{json,md}:

    python benchmarks/grader_conformance.py
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CONFORMANCE = REPO / "tests" / "fixtures" / "conformance"
RESULTS = REPO / "benchmarks" / "results"


def official_rows() -> list[dict]:
    return [json.loads(line) for line in (CONFORMANCE / "synlogic.jsonl").read_text().splitlines()]


def differences() -> list[dict]:
    return yaml.safe_load((CONFORMANCE / "synlogic_differences.yaml").read_text())


def classify(row: dict, ours: bool, entries: list[dict]) -> list[int]:
    """The indices of the entries a disagreement matches."""
    return [i for i, e in enumerate(entries)
            if re.fullmatch(e["task"], row["task"]) and e["ours"] == ours and e["official"] == row["official"]
            and re.fullmatch(e["match"], row["answer"])]


def compare() -> dict:
    """Our verdict beside the official one on every answer, the disagreements with the entries
    that classify them."""
    from mirage.synlogic import SynLogicVerifier, make_gold

    puzzles = {p.stem: json.loads(p.read_text()) for p in (REPO / "tests" / "fixtures" / "synlogic").glob("*.json")}
    entries = differences()
    total, agree, disagreements = Counter(), Counter(), []
    for row in official_rows():
        puzzle = puzzles[row["task"]][row["puzzle"]]
        gold = make_gold(row["task"], {k: puzzle[k] for k in ("question", "answer", "metadata")})
        ours = SynLogicVerifier(row["task"]).equal(gold, row["answer"])
        total[row["task"]] += 1
        if ours == row["official"]:
            agree[row["task"]] += 1
        else:
            disagreements.append({**row, "ours": ours, "entries": classify(row, ours, entries)})
    return {"answers": sum(total.values()), "agree": sum(agree.values()),
            "per_task": {t: {"answers": total[t], "agree": agree[t]} for t in sorted(total)},
            "disagreements": disagreements, "entries": entries}


def report(result: dict) -> dict:
    """What is recorded: agreement per task type and the disagreements per class."""
    by_entry = Counter(d["entries"][0] for d in result["disagreements"] if len(d["entries"]) == 1)
    return {"reference": "hkust-nlp/model-task-align-rl, SynLogic/ (the released code's copy)",
            "answers": result["answers"], "agree": result["agree"],
            "unclassified": sum(len(d["entries"]) != 1 for d in result["disagreements"]),
            "per_task": result["per_task"],
            "classes": [{**{k: e[k] for k in ("task", "ours", "official", "kind", "row", "why")}, "answers": by_entry[i]}
                        for i, e in enumerate(result["entries"])]}


def markdown(rec: dict) -> str:
    lines = [f"# SynLogic grader conformance\n\nOur verifiers vs the official ones ({rec['reference']}) on "
             f"{rec['answers']} answers: {rec['agree']} agree, {rec['answers'] - rec['agree']} differ, "
             f"{rec['unclassified']} unclassified.\n", "| task type | answers | agree |", "|---|---|---|"]
    lines += [f"| {t} | {v['answers']} | {v['agree']} |" for t, v in rec["per_task"].items()]
    lines += ["", "| task | ours | official | answers | kind | README row | why |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {c['task']} | {c['ours']} | {c['official']} | {c['answers']} | {c['kind']} | {c['row']} | {c['why']} |"
              for c in rec["classes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    rec = report(compare())
    (RESULTS / "grader_conformance.json").write_text(json.dumps(rec, indent=1) + "\n")
    (RESULTS / "grader_conformance.md").write_text(markdown(rec))
    print(f"{rec['agree']} of {rec['answers']} agree; {rec['unclassified']} unclassified")


if __name__ == "__main__":
    main()
