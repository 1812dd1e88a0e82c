"""Our graders against the official ones on the same answers: SynLogic's verifiers (the released
code's copy of SynLogic) and KOR-Bench's grader (its eval/eval_utils.py).
tests/fixtures/conformance/<suite>.jsonl holds the official verdicts (written by
official_<suite>.py there from a checkout of the official code, which is not part of mirage),
<suite>_differences.yaml classifies every disagreement. Agreement per task type (SynLogic) or
category (KOR-Bench), and each class of disagreement, to benchmarks/results/grader_conformance.{json,md}:

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


SUITES = {"synlogic": "hkust-nlp/model-task-align-rl, SynLogic/ (the released code's copy)",
          "korbench": "KOR-Bench/KOR-Bench, eval/eval_utils.py (evaluate_response_vs_answer)"}


def official_rows(suite: str) -> list[dict]:
    return [json.loads(line) for line in (CONFORMANCE / f"{suite}.jsonl").read_text().splitlines()]


def differences(suite: str) -> list[dict]:
    return yaml.safe_load((CONFORMANCE / f"{suite}_differences.yaml").read_text())


def classify(task: str, answer: str, official: bool, ours: bool, entries: list[dict]) -> list[int]:
    """The indices of the entries a disagreement matches."""
    return [i for i, e in enumerate(entries)
            if re.fullmatch(e["task"], task) and e["ours"] == ours and e["official"] == official
            and re.fullmatch(e["match"], answer)]


def our_verdicts(suite: str, rows: list[dict]):
    """(task, answer, our verdict) of each official row: SynLogic's by the task type's verifier on
    the puzzle's game data, KOR-Bench's by kor:<category> on the question's gold (mirage.verifiers.kor.make_gold)."""
    from mirage.verifiers.kor import make_gold as kor_gold
    from mirage.verifiers.registry import get_verifier
    from mirage.verifiers.synlogic.reading import make_gold
    from mirage.verifiers.synlogic.verifier import SynLogicVerifier

    if suite == "synlogic":
        puzzles = {p.stem: json.loads(p.read_text())
                   for p in (REPO / "tests" / "fixtures" / "synlogic").glob("*.json")}
        for row in rows:
            puzzle = puzzles[row["task"]][row["puzzle"]]
            gold = make_gold(row["task"], {k: puzzle[k] for k in ("question", "answer", "metadata")})
            yield row["task"], row["answer"], SynLogicVerifier(row["task"]).equal(gold, row["answer"])
    else:
        for row in rows:
            gold = kor_gold(row["subset"], row["answer"], row["rule_id"], row["idx"])
            completion = f"<think>x</think><answer>{row['response']}</answer>"
            yield row["subset"], row["response"], get_verifier(f"kor:{row['subset']}").grade(completion, gold).correct


def compare(suite: str = "synlogic") -> dict:
    """Our verdict beside the official one on every answer, the disagreements with the entries
    that classify them."""
    rows, entries = official_rows(suite), differences(suite)
    total, agree, disagreements = Counter(), Counter(), []
    for row, (task, answer, ours) in zip(rows, our_verdicts(suite, rows)):
        total[task] += 1
        if ours == row["official"]:
            agree[task] += 1
        else:
            disagreements.append({"task": task, "answer": answer, "official": row["official"], "ours": ours,
                                  "entries": classify(task, answer, row["official"], ours, entries)})
    return {"suite": suite, "answers": sum(total.values()), "agree": sum(agree.values()),
            "per_task": {t: {"answers": total[t], "agree": agree[t]} for t in sorted(total)},
            "disagreements": disagreements, "entries": entries}


def report(result: dict) -> dict:
    """What is recorded of a suite: agreement per task type and the disagreements per class."""
    by_entry = Counter(d["entries"][0] for d in result["disagreements"] if len(d["entries"]) == 1)
    return {"reference": SUITES[result["suite"]],
            "answers": result["answers"], "agree": result["agree"],
            "unclassified": sum(len(d["entries"]) != 1 for d in result["disagreements"]),
            "per_task": result["per_task"],
            "classes": [{**{k: e[k] for k in ("task", "ours", "official", "kind", "row", "why")}, "answers": by_entry[i]}
                        for i, e in enumerate(result["entries"])]}


def markdown(records: dict) -> str:
    lines = ["# Grader conformance\n"]
    for suite, rec in records.items():
        lines += [f"## {suite}\n\nOurs vs the official grader ({rec['reference']}) on {rec['answers']} answers: "
                  f"{rec['agree']} agree, {rec['answers'] - rec['agree']} differ, {rec['unclassified']} unclassified.\n",
                  "| task | answers | agree |", "|---|---|---|"]
        lines += [f"| {t} | {v['answers']} | {v['agree']} |" for t, v in rec["per_task"].items()]
        lines += ["", "| task | ours | official | answers | kind | differences row | why |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {c['task']} | {c['ours']} | {c['official']} | {c['answers']} | {c['kind']} | {c['row']} | "
                  f"{c['why']} |" for c in rec["classes"]]
        lines.append("")
    return "\n".join(lines)


def records() -> dict:
    return {suite: report(compare(suite)) for suite in SUITES}


def main() -> None:
    recs = records()
    (RESULTS / "grader_conformance.json").write_text(json.dumps(recs, indent=1) + "\n")
    (RESULTS / "grader_conformance.md").write_text(markdown(recs))
    for suite, rec in recs.items():
        print(f"{suite}: {rec['agree']} of {rec['answers']} agree; {rec['unclassified']} unclassified")


if __name__ == "__main__":
    main()
