"""Every verifier on >= 10,000 adversarial completions (mirage.verifiers.adversarial: huge
numbers, deep LaTeX, megabyte strings, control characters, Unicode digits,
unbalanced tags), wrapped six ways; records the time per verifier and the
slowest case. Writes benchmarks/results/verifier_robustness.json.

    python benchmarks/verifier_robustness.py [--rounds 112]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from mirage.verifiers.adversarial import adversarial_answers, wrap
from mirage.verifiers.registry import VERIFIERS, get_verifier

REPO = Path(__file__).resolve().parents[1]
GOLDS = {"integer": "12", "math": "\\frac{1}{2}", "kor": "[[A]]", "synlogic": "3"}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=112, help="15 answers x 6 wrappings per round")
    args = ap.parse_args()
    result = {"verifiers": {}, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
    total, crashes, correct = 0, 0, 0
    for name in sorted(VERIFIERS):
        verifier, gold = get_verifier(name), GOLDS.get(name.split(":")[0], "1")
        times, slowest = [], (0.0, "")
        for r in range(args.rounds):
            for kind, answer in adversarial_answers(np.random.default_rng(r)):
                for how in range(6):
                    start = time.perf_counter()
                    try:
                        correct += verifier.grade(wrap(answer, how), gold).correct
                    except Exception:  # counted: a crash would kill a training job
                        crashes += 1
                    t = time.perf_counter() - start
                    times.append(t)
                    if t > slowest[0]:
                        slowest = (t, f"{kind} (wrapping {how})")
        total += len(times)
        result["verifiers"][name] = {"completions": len(times), "total_s": round(sum(times), 2),
                                     "mean_ms": round(1000 * sum(times) / len(times), 3),
                                     "slowest_s": round(slowest[0], 3), "slowest_case": slowest[1]}
        print(name, result["verifiers"][name], flush=True)
    result.update(completions=total, crashes=crashes, graded_correct=correct)
    dest = REPO / "benchmarks" / "results" / "verifier_robustness.json"
    dest.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "verifiers"}))
    return 0 if crashes == 0 and correct == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
