"""A short GPU check (well under 5 minutes, for wherever a GPU is available):
both samplers' tokens/s on a toy model (benchmarks/sampler_throughput.py; vLLM
when it is installed) and the time of TRL GRPO steps through mirage's trainer on
the GPU (bf16, no use_cpu). Appends to benchmarks/results/gpu_check.jsonl.

    python benchmarks/gpu_check.py

Not run here so far: no GPU was lent to the sessions that wrote it."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> int:
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 1
    import sampler_throughput

    from mirage.rl import train_claim
    from mirage.schemas import PROBLEMS
    from mirage.toy.data import generate_task_splits

    sampler_throughput.main()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = sampler_throughput.toy_model(tmp / "toy")
        problems = tmp / "add.parquet"
        PROBLEMS.write(generate_task_splits("add", "add", {"digits": 2}, 64, 8, 1, "{question} -> <think> <answer>\n"),
                       problems)
        rl = {"steps": 4, "prompts_per_generation": 32, "num_generations": 8, "steps_per_generation": 2,
              "learning_rate": 3e-5, "warmup_steps": 0, "weight_decay": 0.1, "max_grad_norm": 1.0, "epsilon": 0.2,
              "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
              "max_completion_length": 48}
        start = time.perf_counter()
        train_claim(model, str(problems), str(tmp / "run"), str(tmp / "curves.parquet"), str(tmp / "hist.parquet"),
                    "ground_truth", rl, {}, "integer", seed=1, use_cpu=False)
        elapsed = time.perf_counter() - start
    record = {"check": "grpo_steps", "steps": rl["steps"], "seconds_incl_setup": round(elapsed, 2),
              "gpu": torch.cuda.get_device_name(0), "date": time.strftime("%Y-%m-%d")}
    print(json.dumps(record))
    with (REPO / "benchmarks" / "results" / "gpu_check.jsonl").open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
