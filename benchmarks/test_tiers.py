"""Wall time of each test tier of the main suite (docs/testing.md), run one after the other
in fresh pytest processes on this machine. Usage:

    python benchmarks/test_tiers.py [--tiers unit integration slow]

Writes benchmarks/results/test_tiers.json, which ``python -m mirage docs`` renders into
docs/testing.md. A tier that fails is recorded as failed, with its time."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "test_tiers.json"


def counts(summary: str) -> dict[str, int]:
    """pytest's last line ("3 failed, 120 passed, 2 skipped in 9.1s") as counts."""
    return {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", summary)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tiers", nargs="+", default=["unit", "integration", "slow"])
    args = ap.parse_args()
    result = json.loads(OUT.read_text()) if OUT.exists() else {"tiers": {}}
    status = 0
    for tier in args.tiers:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-m", tier, "-q", "-p", "no:cacheprovider", "--tb=short"],
                              cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        found = counts(lines[-1] if lines else "")
        result["tiers"][tier] = {"tests": found.get("passed", 0) + found.get("failed", 0),
                                 "seconds": round(seconds, 1), "passed": proc.returncode == 0}
        print(f"{tier}: {result['tiers'][tier]}")
        if proc.returncode:  # what failed, for the log
            print("\n".join(lines[-60:]), file=sys.stderr)
        status = status or proc.returncode
    result["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    result["date"] = time.strftime("%Y-%m-%d")
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
