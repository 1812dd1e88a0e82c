"""pass@k table from 1,000,000 sample rows (3,906 problems x n = 256) for every
k = 1..256: mirage.analysis.passk.passk_table (target <= 1 s) against a per-problem
Python loop with math.comb (target: >= 50x slower). Writes
benchmarks/results/passk_speed.json. Both are timed in this one run.

    python benchmarks/passk_speed.py"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import polars as pl

from mirage.analysis.passk import passk_table

REPO = Path(__file__).resolve().parents[1]
N, PROBLEMS = 256, 3_906


def python_loop(samples: pl.DataFrame, ks: list[int]) -> dict[int, float]:
    """The textbook estimator, one problem and one k at a time."""
    counts: dict[str, list[int]] = {}
    for pid, ok in zip(samples["problem_id"].to_list(), samples["correct"].to_list()):
        n_c = counts.setdefault(pid, [0, 0])
        n_c[0] += 1
        n_c[1] += ok
    out = {}
    for k in ks:
        vals = [1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k) for n, c in counts.values()]
        out[k] = sum(vals) / len(vals)
    return out


def main() -> None:
    rng = np.random.default_rng(0)
    rates = rng.beta(0.5, 2.0, size=PROBLEMS)
    samples = pl.DataFrame({
        "model": "m", "task": "t", "benchmark": "t",
        "problem_id": np.repeat([f"p{i:05d}" for i in range(PROBLEMS)], N),
        "correct": rng.random(PROBLEMS * N) < np.repeat(rates, N),
    })
    ks = list(range(1, N + 1))
    start = time.perf_counter()
    table = passk_table(samples, ks)
    fast = time.perf_counter() - start
    start = time.perf_counter()
    slow_values = python_loop(samples, ks)
    slow = time.perf_counter() - start
    worst = max(abs(row["pass_at_k"] - slow_values[row["k"]]) for row in table.iter_rows(named=True))
    result = {"rows": samples.height, "problems": PROBLEMS, "n": N, "ks": f"1..{N}",
              "passk_table_s": round(fast, 3), "python_loop_s": round(slow, 2), "speedup": round(slow / fast, 1),
              "max_abs_difference": worst, "targets": {"passk_table_s": 1.0, "speedup": 50},
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    dest = REPO / "benchmarks" / "results" / "passk_speed.json"
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
