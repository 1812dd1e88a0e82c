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

from mirage import kernels  # noqa: E402

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


def verdicts(folder: Path) -> dict[str, str]:
    import polars as pl

    table = pl.read_parquet(folder / CLAIMS)
    return {f"{r['model']}/{r['benchmark']}/{r['claim']}": r["verdict"] for r in table.iter_rows(named=True)}


def first_stage(differ: dict[str, str]) -> str | None:
    for stage, prefix in STAGES:
        if any(path.startswith(prefix) for path in differ):
            return stage
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", choices=[*RUNS, []], help="runs to make (default: all)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mirage-reproducibility"))
    ap.add_argument("--cores", type=int, default=2)
    args = ap.parse_args(argv)
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
    record = {"cpu": kernels.cpu(), "python": platform.python_version(), "cores": args.cores,
              "date": time.strftime("%Y-%m-%d"), "settings": kernels.SETTINGS, "runs": rows}
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
    (out / "reproducibility.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
