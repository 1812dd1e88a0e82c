"""Wall time of a whole study, all stages, from an empty directory, with the
time per stage. Usage:

    python benchmarks/study_time.py [--config config/config.yaml [overlay.yaml ...]] [--cores 2] [--name default]

Runs the real Snakemake CLI in a fresh work directory; writes
benchmarks/results/study_time_<name>.json and .md. Stage times are spans:
from the first job of a stage starting to its last job finishing, read from
Snakemake's log; job seconds are summed from the rules' benchmark files.
Then times a no-op run of the same command (everything up to date).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = {
    "data": ["prepare_task", "build_tokenizer"],
    "sft": ["pretrain_toy_model"],
    "alignment": ["sample_base", "passk_table", "sample_votes", "wrong_labels"],
    "rl": ["one_shot_reference", "select_examples", "example_selection_table", "train_claim"],
    "evaluation": ["evaluate_base", "evaluate_claim", "eval_table"],
    "results": ["claims_table", "verdict_tables", "plot_passk", "plot_claim_gains", "plot_style_shift",
                "plot_training_curves", "plot_gain_vs_alignment"],
}


def job_spans(log_text: str) -> dict[str, list[tuple[float, float]]]:
    """(start, end) in seconds of every job, per rule, from a Snakemake log."""
    stamp = re.compile(r"^\[(\w{3} \w{3}\s+\d+ [\d:]+ \d{4})\]$")
    starts, rule_of, spans = {}, {}, {}
    now, pending_rule = None, None
    for line in log_text.splitlines():
        m = stamp.match(line.strip())
        if m:
            now = datetime.strptime(re.sub(r"\s+", " ", m.group(1)), "%a %b %d %H:%M:%S %Y").timestamp()
            continue
        m = re.match(r"^(?:local)?rule (\w+):", line.strip())
        if m:
            pending_rule = m.group(1)
            continue
        m = re.match(r"^\s*jobid: (\d+)", line)
        if m and pending_rule:
            starts[m.group(1)], rule_of[m.group(1)] = now, pending_rule
            pending_rule = None
            continue
        m = re.match(r"^Finished jobid: (\d+)", line.strip()) or re.match(r"^Finished job (\d+)\.", line.strip())
        if m and m.group(1) in starts:
            spans.setdefault(rule_of[m.group(1)], []).append((starts[m.group(1)], now))
    return spans


def benchmark_seconds(workdir: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for tsv in (workdir / "benchmarks" / "runs").rglob("*.tsv"):
        rule = tsv.relative_to(workdir / "benchmarks" / "runs").parts[0]
        lines = tsv.read_text().splitlines()
        seconds = float(lines[1].split("\t")[0])
        n, total = out.get(rule, (0, 0.0))
        out[rule] = (n + 1, total + seconds)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "config.yaml")],
                    help="config files, merged in order")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--name", default="default")
    ap.add_argument("--workdir", default=None, help="default: a fresh temporary directory")
    args = ap.parse_args()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="mirage-study-"))
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    configs = [Path(c).resolve() for c in args.config]
    cmd = [snakemake, "-s", str(REPO / "Snakefile"), "--configfile", *map(str, configs),
           "--directory", str(workdir), "--cores", str(args.cores)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    (workdir / "study.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode:
        print(proc.stderr[-3000:], file=sys.stderr)
        return proc.returncode
    # a no-op run: everything is up to date (the target: <= 5 s for the default study)
    noop_start = time.perf_counter()
    noop = subprocess.run(cmd, capture_output=True, text=True, env=env)
    noop_s = time.perf_counter() - noop_start
    if noop.returncode or "Nothing to be done" not in noop.stdout + noop.stderr:
        print("the second run was not a no-op:\n" + (noop.stdout + noop.stderr)[-3000:], file=sys.stderr)
        return 1
    spans = job_spans(proc.stdout + proc.stderr)
    bench = benchmark_seconds(workdir)
    stages = {}
    for stage, rules in STAGES.items():
        s = [span for r in rules for span in spans.get(r, [])]
        if s:
            stages[stage] = {"jobs": len(s), "span_s": round(max(e for _, e in s) - min(b for b, _ in s), 1)}
    result = {
        "config": " + ".join(str(c.relative_to(REPO)) if c.is_relative_to(REPO) else str(c) for c in configs),
        "cores": args.cores, "wall_s": round(wall, 1), "noop_s": round(noop_s, 2), "stages": stages,
        "job_seconds": {r: {"jobs": n, "total_s": round(t, 1), "mean_s": round(t / n, 1)} for r, (n, t) in sorted(bench.items())},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"), "workdir": str(workdir),
    }
    out = REPO / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"study_time_{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    lines = [f"# Study wall time: {result['config']} ({args.cores} cores)", "",
             f"Whole study from an empty directory: **{wall / 60:.1f} min** ({result['machine']}, {result['date']}).",
             f"A no-op run afterwards (`snakemake`, everything up to date): **{noop_s:.1f} s**.", "",
             "| stage | jobs | span (min) |", "|---|---|---|"]
    lines += [f"| {k} | {v['jobs']} | {v['span_s'] / 60:.1f} |" for k, v in stages.items()]
    lines += ["", "| rule | jobs | total job time (s) | mean (s) |", "|---|---|---|---|"]
    lines += [f"| {r} | {v['jobs']} | {v['total_s']} | {v['mean_s']} |" for r, v in result["job_seconds"].items()]
    (out / f"study_time_{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
