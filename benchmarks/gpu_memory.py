"""Peak GPU memory of one GRPO training micro-batch, measured on the shapes of the paper's models
(the numbers behind the activation terms of ``mirage.memory``).

TRL 1.16 trains each micro-batch with ``_get_per_token_logps_and_entropies`` (a fused LM head: no
(batch, sequence, vocabulary) logits tensor) under bf16 autocast, with gradient checkpointing on. This
script calls that very method, on random-initialised models of Qwen2.5-7B's and Llama-3.1-8B's widths
(hidden, intermediate, heads, vocabulary: their config.json) with 2 and 4 layers, and on the full depth
of both in bf16, for micro-batches of m sequences of T tokens (T - C prompt tokens, left-padded by 16,
C completion tokens). Memory is measured on a second pass (gradients already allocated), as
``torch.cuda.max_memory_allocated`` minus what was allocated before the pass (weights and gradients):
that is the micro-batch's activation peak, the part that grows with m, T and C.

Two policies: ``bf16`` (weights in bf16: rl.grpo.model_dtype bfloat16 under ZeRO-3) and ``fp32``
(float32 weights under bf16 autocast: DDP / FSDP2 with rl.grpo.model_dtype float32).

    python benchmarks/gpu_memory.py              # on a GPU (about 2 minutes on an H200)
    python benchmarks/gpu_memory.py --cpu --tiny # the same code on the CPU, tiny shapes (seconds)

Writes gpu_memory.json to --out (default $OUT when set, else benchmarks/results/). Needs torch,
transformers and trl 1.16."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# from each model's config.json on the hub (Qwen/Qwen2.5-7B, meta-llama/Llama-3.1-8B-Instruct)
SHAPES = {
    "qwen2_5_7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                   "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064, "tie_word_embeddings": False},
    "llama3_1_8b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
                    "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "tie_word_embeddings": False},
}
TINY = {"tiny": {"model_type": "llama", "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 4,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 512, "tie_word_embeddings": False}}
# (m, T, C): sequences per micro-batch, sequence tokens, completion tokens
GRID = [(1, 2048, 1536), (1, 4096, 3584), (2, 4096, 3584), (1, 4096, 1024), (1, 10240, 8192)]
FULL_DEPTH = [(1, 10240, 8192), (2, 10240, 8192)]
TINY_GRID = [(1, 64, 48), (2, 64, 48), (1, 128, 96)]
PROMPT_PADDING = 16


def build(shape: dict, layers: int, dtype, device):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    cfg = {k: v for k, v in shape.items() if k != "model_type"}
    cfg["num_hidden_layers"] = layers
    config = AutoConfig.for_model(shape["model_type"], **cfg)
    config.use_cache = False
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    add_fused_lm_head(model, temperature=1.0, outputs=("log_probs", "entropy"))
    return model


def one_pass(model, m: int, T: int, C: int, device, autocast):
    """TRL's training forward (compute_entropy, as _compute_loss) and a token-mean loss's backward."""
    import torch
    from trl import GRPOTrainer

    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (m, T), device=device)
    mask = torch.ones(m, T, dtype=torch.long, device=device)
    mask[:, :PROMPT_PADDING] = 0  # left padding of the prompt, as TRL pads a batch
    fake = SimpleNamespace(accelerator=SimpleNamespace(autocast=autocast, is_main_process=True))
    logps, entropies, _ = GRPOTrainer._get_per_token_logps_and_entropies(fake, model, ids, mask, C, compute_entropy=True)
    loss = -(logps * mask[:, -C:]).sum() / mask[:, -C:].sum()
    loss.backward()
    return float(loss)


def measured_pass(model, m: int, T: int, C: int, device, autocast) -> dict:
    """``one_pass`` timed; on a GPU also the bytes allocated before it, its peak and the
    difference (the micro-batch's activation peak). An out-of-memory error is recorded."""
    import torch

    on_gpu = device == "cuda"
    if on_gpu:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    start = time.perf_counter()
    try:
        one_pass(model, m, T, C, device, autocast)
        error = None
    except torch.OutOfMemoryError as oom:  # pragma: no cover - GPU only
        error = str(oom).splitlines()[0][:300]
    if on_gpu:
        torch.cuda.synchronize()
    row = {"seconds": round(time.perf_counter() - start, 3), "error": error}
    if on_gpu:
        peak = torch.cuda.max_memory_allocated()
        row.update(allocated_before=before, peak=peak, activation_peak=peak - before)
    return row


def measure(name: str, shape: dict, layers: int, policy: str, grid, device) -> list[dict]:
    import contextlib

    import torch

    dtype = torch.bfloat16 if policy == "bf16" else torch.float32
    on_gpu = device == "cuda"

    def autocast():
        return torch.autocast("cuda", dtype=torch.bfloat16) if on_gpu else contextlib.nullcontext()

    model = build(shape, layers, dtype, device)
    params = sum(p.numel() for p in model.parameters())
    rows = []
    one_pass(model, *grid[0], device, autocast)  # allocates the gradients once
    for m, T, C in grid:
        row = {"shape": name, "layers": layers, "policy": policy, "m": m, "T": T, "C": C, "params": params,
               **measured_pass(model, m, T, C, device, autocast)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    del model
    if on_gpu:
        torch.cuda.empty_cache()
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--out", default=os.environ.get("OUT") or str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    import torch
    import transformers
    import trl

    device = "cpu" if args.cpu or not torch.cuda.is_available() else "cuda"
    shapes, grid, full = (TINY, TINY_GRID, TINY_GRID[:1]) if args.tiny else (SHAPES, GRID, FULL_DEPTH)
    rows = []
    for name, shape in shapes.items():
        for policy in ("bf16", "fp32"):
            for layers in (2, 4):
                rows += measure(name, shape, layers, policy, grid, device)
        rows += measure(name, shape, shape["num_hidden_layers"], "bf16", full, device)
    info = {"device": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or "cpu",
            "total_memory": torch.cuda.get_device_properties(0).total_memory if device == "cuda" else None,
            "torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__,
            "gradient_checkpointing": True, "prompt_padding": PROMPT_PADDING, "rows": rows}
    out = Path(args.out) / ("gpu_memory_cpu_tiny.json" if device == "cpu" else "gpu_memory.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
