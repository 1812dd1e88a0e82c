"""Time of `snakemake -n` for a config (planning the DAG only), best of three.

    python benchmarks/dry_run_time.py [--config config/paper.yaml] [--name paper]

Writes benchmarks/results/dry_run_<name>.json with the job counts per rule."""

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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", nargs="+", default=[str(REPO / "config" / "paper.yaml")])
    ap.add_argument("--name", default="paper")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    times, out = [], ""
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as work:
            cmd = [snakemake, "-n", "-s", str(REPO / "Snakefile"), "--configfile", *args.config, "--directory", work]
            start = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
            times.append(time.perf_counter() - start)
            if proc.returncode:
                print(proc.stderr[-2000:], file=sys.stderr)
                return proc.returncode
            out = proc.stdout
    table = out.split("Job stats:")[1].split("total")[0]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)}
    result = {"config": args.config, "best_s": round(min(times), 2), "all_s": [round(t, 2) for t in times],
              "jobs": jobs, "total_jobs": sum(jobs.values()),
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    dest = REPO / "benchmarks" / "results" / f"dry_run_{args.name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
