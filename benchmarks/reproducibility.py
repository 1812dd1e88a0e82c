"""The default study on "other machines": how its tables and verdicts depend on the
CPU kernels (cpu_kernels.isa) and on the world seed. Usage:

    python benchmarks/reproducibility.py [--work DIR] [--cores 2] [RUN ...]

Each run is the default toy study from an empty directory (the real Snakemake CLI,
``--directory DIR/<run>``), timed:

- ``avx2``: the default settings (AVX2 kernels in every library);
- ``avx2_on_avx2_cpu``: the same settings where the CPU offers no more than AVX2 (every
  library capped at AVX2 in the environment, as such a CPU presents itself): the stand-in
  for another machine;
- ``native``: each library's own pick for this CPU (AVX-512 where it has it);
- ``baseline``: the kernels every x86-64 CPU has;
- ``seed1``, ``seed2``: the avx2 study with another world seed (``seed``): a new toy world.

Then a short pretraining and GRPO run (``tests/kernel_run.py``) under each setting with 1 and
2 threads: its time and whether its weights equal the avx2 one-thread run's.

A run whose directory already holds its claims table is not run again. Every run is
compared with ``avx2`` (``compare_studies.compare``, provenance's machine entries left
out): the first stage whose files differ, and the verdicts that change. Writes
benchmarks/results/reproducibility.json and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from compare_studies import compare  # noqa: E402

from mirage.core import kernels  # noqa: E402

AVX2_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
RUNS = {
    "avx2": ({}, []),
    "avx2_on_avx2_cpu": (AVX2_CPU, []),
    "native": ({}, ["cpu_kernels={isa: native}"]),
    "baseline": ({}, ["cpu_kernels={isa: baseline}"]),
    "seed1": ({}, ["seed=1"]),
    "seed2": ({}, ["seed=2"]),
}
# the stages in DAG order, by the folders their files are written to
STAGES = [("data", "results/data"), ("sft", "results/models"), ("alignment", "results/samples/base"),
          ("rl", "results/rl"), ("evaluation", "results/samples/rl"), ("tables", "results/tables"),
          ("figures", "results/figures")]
CLAIMS = "results/tables/claims.parquet"


def run_study(name: str, work: Path, cores: int) -> float:
    out = work / name
    if (out / CLAIMS).exists() and (out / "wall_s.txt").exists():
        return float((out / "wall_s.txt").read_text())
    out.mkdir(parents=True, exist_ok=True)
    machine, config = RUNS[name]
    env = {k: v for k, v in os.environ.items() if k not in kernels.VARIABLES} | machine
    cmd = [str(REPO / ".venv" / "bin" / "snakemake"), "--snakefile", str(REPO / "Snakefile"),
           "--profile", str(REPO / "profiles" / "default"), "--directory", str(out), "--cores", str(cores)]
    if config:
        cmd += ["--config", *config]
    start = time.time()
    with open(out / "snakemake.log", "w") as log:
        subprocess.run(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    wall = time.time() - start
    (out / "wall_s.txt").write_text(f"{wall:.1f}\n")
    return wall


def kernel_runs(work: Path) -> list[dict]:
    """tests/kernel_run.py under each isa and thread count: seconds, and the weights' digests."""
    rows = []
    for isa in ("avx2", "native", "baseline"):
        for threads in (1, 2):
            out = work / "kernel_run" / f"{isa}-{threads}"
            out.mkdir(parents=True, exist_ok=True)
            env = {k: v for k, v in os.environ.items() if k not in kernels.VARIABLES}
            kernels.apply({"isa": isa}, env, warn=None)
            env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
            start = time.time()
            proc = subprocess.run([sys.executable, str(REPO / "tests" / "kernel_run.py"), str(out)], env=env,
                                  capture_output=True, text=True, check=True)
            sft, grpo = proc.stdout.split()[-2:]
            rows.append({"isa": isa, "threads": threads, "seconds": round(time.time() - start, 1), "sft": sft[:12],
                         "grpo": grpo[:12]})
    reference = rows[0]
    for row in rows:
        row["same_weights_as_avx2_1_thread"] = (row["sft"], row["grpo"]) == (reference["sft"], reference["grpo"])
    return rows


def verdicts(folder: Path) -> dict[str, str]:
    import polars as pl

    table = pl.read_parquet(folder / CLAIMS)
    return {f"{r['model']}/{r['benchmark']}/{r['claim']}": r["verdict"] for r in table.iter_rows(named=True)}


def first_stage(differ: dict[str, str]) -> str | None:
    for stage, prefix in STAGES:
        if any(path.startswith(prefix) for path in differ):
            return stage
    return None


START, END = "<!-- reproducibility:start -->", "<!-- reproducibility:end -->"
RECORD = REPO / "benchmarks" / "results" / "reproducibility.json"


def readme_block(record: dict) -> str:
    """The summary of the recorded runs in docs/reproducibility.md (between START and END;
    ``python -m mirage docs`` renders it too)."""
    runs = {r["run"]: r for r in record["runs"]}
    lines = [f"Generated by `python benchmarks/reproducibility.py --readme` from "
             f"`benchmarks/results/reproducibility.json` ({record['cpu']['cpu_model']}, {record['cores']} cores, "
             f"{record['date']}); do not edit by hand.", "",
             "| the default study | wall (min) | files that differ from `avx2`'s | first stage that differs | "
             "verdicts that change |", "|---|---|---|---|---|"]
    for name, r in runs.items():
        lines.append(f"| {name} | {r['wall_min']:.1f} | {r['files_differing']} of {r['files_compared']} | "
                     f"{r['first_stage_differing'] or '-'} | {r['verdicts_changed']} of {r['verdicts']} |")
    same = [r for r in record.get("kernel_runs", []) if r["same_weights_as_avx2_1_thread"]]
    if record.get("kernel_runs"):
        lines += ["", f"A short pretraining and GRPO run gives the same weights in {len(same)} of "
                  f"{len(record['kernel_runs'])} (setting, threads) pairs: "
                  + ", ".join(f"{r['isa']} × {r['threads']} thread{'s' * (r['threads'] > 1)} "
                              f"{'same' if r['same_weights_as_avx2_1_thread'] else 'differs'} ({r['seconds']:.0f} s)"
                              for r in record["kernel_runs"]) + "."]
    return "\n".join(lines) + "\n"


def write_readme(readme: Path = REPO / "docs" / "reproducibility.md") -> None:
    text = readme.read_text()
    head, rest = text.split(START)
    _, tail = rest.split(END)
    readme.write_text(f"{head}{START}\n{readme_block(json.loads(RECORD.read_text()))}{END}{tail}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", choices=[*RUNS, []], help="runs to make (default: all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mirage-reproducibility"))
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--readme", action="store_true", help="only rewrite docs/reproducibility.md's block from the recorded JSON")
    args = ap.parse_args(argv)
    if args.readme:
        write_readme()
        return 0
    runs = ["avx2", *[r for r in (args.runs or RUNS) if r != "avx2"]]
    walls = {}
    for name in runs:
        print(f"{name} ...", flush=True)
        walls[name] = run_study(name, args.work, args.cores)
        print(f"{name}: {walls[name] / 60:.1f} min", flush=True)
    reference = verdicts(args.work / "avx2")
    rows = []
    for name in runs:
        result = compare(args.work / "avx2", args.work / name, ignore_machine=True)
        theirs = verdicts(args.work / name)
        changed = sorted(c for c in reference if theirs.get(c) != reference[c])
        rows.append({"run": name, "wall_min": round(walls[name] / 60, 2), "files_compared": result["compared"],
                     "files_differing": len(result["differ"]), "first_stage_differing": first_stage(result["differ"]),
                     "verdicts": len(reference), "verdicts_changed": len(changed),
                     "changed": {c: f"{reference[c]} -> {theirs.get(c)}" for c in changed}})
    short = kernel_runs(args.work)
    record = {"cpu": kernels.cpu(), "python": platform.python_version(), "cores": args.cores,
              "date": time.strftime("%Y-%m-%d"), "settings": kernels.SETTINGS, "runs": rows, "kernel_runs": short}
    out = REPO / "benchmarks" / "results"
    (out / "reproducibility.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = ["# The default study on other kernels and other world seeds", "",
             f"Written by `python benchmarks/reproducibility.py` on {record['date']}: {record['cpu']['cpu_model']} "
             f"({record['cpu']['cpu_flags']}), {args.cores} cores. Every run is compared with `avx2` (the default "
             "settings), provenance's machine entries left out.", "",
             "| run | wall (min) | files differing / compared | first stage differing | verdicts changed |",
             "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['wall_min']:.1f} | {r['files_differing']} / {r['files_compared']} | "
                     f"{r['first_stage_differing'] or '-'} | {r['verdicts_changed']} of {r['verdicts']} |")
    for r in rows:
        if r["changed"]:
            lines += ["", f"{r['run']}: " + "; ".join(f"{c} {v}" for c, v in r["changed"].items())]
    lines += ["", "A short pretraining and GRPO run (`tests/kernel_run.py`) under each setting:", "",
              "| isa | threads | seconds | SFT weights | GRPO weights | same as avx2, 1 thread |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['isa']} | {r['threads']} | {r['seconds']:.1f} | `{r['sft']}` | `{r['grpo']}` | "
              f"{'yes' if r['same_weights_as_avx2_1_thread'] else 'no'} |" for r in short]
    (out / "reproducibility.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
