"""Peak memory of the entropy-minimisation reward's log-probabilities:
mirage.training.logprobs.completion_mean_logprobs (micro-batches of sequences, chunks of
completion positions) against the former full-batch computation (one forward
over the whole batch, float32 log-softmax over every position and the whole
vocabulary), on a random Llama with a 32k vocabulary, hidden size 64, and a
batch of 32 sequences of 512 tokens (256 prompt + 256 completion).

Each variant runs in its own process; its peak is the process's maximum
resident set size (getrusage) less its resident size just before the call
(model and batch built). About 45 s on 2 cores (64 sequences: 85 s, the
full-batch run then peaking at 12 GB). Writes
benchmarks/results/entropy_reward_memory.json.

    python benchmarks/entropy_reward_memory.py [--sequences 32]"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "results" / "entropy_reward_memory.json"
VOCAB, HIDDEN, LAYERS, PROMPT, COMPLETION = 32_000, 64, 2, 256, 256
BATCH_SIZE, CHUNK_SIZE, TEMPERATURE = 8, 512, 0.7


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def full_batch(model, prompt_ids, completion_ids, temperature, pad_id):
    """The reward's former computation (mirage.training.rewards.mean_completion_logprobs)."""
    import torch

    seqs = [list(p) + list(c) for p, c in zip(prompt_ids, completion_ids)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        attn[i, : len(s)] = 1
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=attn).logits.float() / temperature
    logps = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return [float(logps[i, len(p) - 1:len(p) - 1 + len(c)].mean()) for i, (p, c) in enumerate(zip(prompt_ids, completion_ids))]


def child(variant: str, sequences: int) -> dict:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from mirage.training.logprobs import ScoringLayout, completion_mean_logprobs

    torch.set_num_threads(2)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=HIDDEN, intermediate_size=4 * HIDDEN, num_hidden_layers=LAYERS,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=PROMPT + COMPLETION,
                         initializer_range=0.1, tie_word_embeddings=False)
    model = LlamaForCausalLM(config).float()
    g = torch.Generator().manual_seed(1)
    prompts = torch.randint(1, VOCAB, (sequences, PROMPT), generator=g).tolist()
    completions = torch.randint(1, VOCAB, (sequences, COMPLETION), generator=g).tolist()
    before = rss_mib()
    start = time.perf_counter()
    if variant == "chunked":
        rewards = completion_mean_logprobs(model, prompts, completions, TEMPERATURE, 0,
                                           layout=ScoringLayout(batch_size=BATCH_SIZE, chunk_size=CHUNK_SIZE))
    else:
        rewards = full_batch(model, prompts, completions, TEMPERATURE, 0)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"variant": variant, "seconds": round(seconds, 2), "rss_before_mib": round(before, 1),
            "peak_rss_mib": round(peak, 1), "peak_above_before_mib": round(peak - before, 1), "rewards": rewards}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sequences", type=int, default=32)
    parser.add_argument("--child", choices=["chunked", "full_batch"])
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.sequences)))
        return
    runs = {}
    for variant in ("chunked", "full_batch"):
        proc = subprocess.run([sys.executable, __file__, "--child", variant, "--sequences", str(args.sequences)],
                              capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
        if proc.returncode:
            raise SystemExit(f"{variant} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        runs[variant] = json.loads(proc.stdout.strip().splitlines()[-1])
    a, b = runs["chunked"].pop("rewards"), runs["full_batch"].pop("rewards")
    import torch

    result = {
        "model": {"architecture": "llama (random)", "vocab": VOCAB, "hidden": HIDDEN, "layers": LAYERS},
        "batch": {"sequences": args.sequences, "prompt_tokens": PROMPT, "completion_tokens": COMPLETION,
                  "temperature": TEMPERATURE},
        "chunked_settings": {"batch_size": BATCH_SIZE, "chunk_size": CHUNK_SIZE},
        "full_batch_logits_mib": round(args.sequences * (PROMPT + COMPLETION) * VOCAB * 4 / 2**20, 1),
        "chunked": runs["chunked"],
        "full_batch": runs["full_batch"],
        "peak_ratio_full_over_chunked": round(runs["full_batch"]["peak_above_before_mib"]
                                              / max(runs["chunked"]["peak_above_before_mib"], 1e-9), 1),
        "max_abs_reward_difference": max(abs(x - y) for x, y in zip(a, b)),
        "mean_reward": sum(a) / len(a),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "torch_threads": 2,
                    "torch": torch.__version__},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
