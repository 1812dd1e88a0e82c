"""A short GPU check (a few minutes, for wherever a GPU is available) of the project's own
training and sampling code on a model of a real shape: a random-initialised model of
Qwen2.5-0.5B's shape, built from a hand-written config (no hub), with the toy tokenizer padded
to Qwen's vocabulary (151,936 ids, every one decodable).

1. GRPO steps through ``mirage.training.runs.run_grpo`` on one GPU, bf16, Hugging Face generate (no vLLM):
   the rl settings are config/paper.yaml's ``rl.grpo`` with a small batch and short completions
   (the overrides are recorded); the final model folder is checked (a normal safetensors folder
   that ``from_pretrained`` loads, and whether training changed its weights);
2. the same through ``accelerate launch --config_file config/accelerate/fsdp2.yaml
   --num_processes 1 --main_process_port 0``: one process under FSDP2 (``--skip-fsdp``: not);
3. the Hugging Face sampler's tokens/s (``mirage.generation.sampling.HFSampler``) on that model, and
   vLLM's (``VLLMSampler``, in a process of its own) where vllm is installed;
4. peak GPU memory of each phase.

    python benchmarks/gpu_check.py                  # on a GPU
    python benchmarks/gpu_check.py --cpu --tiny     # the same code path on the CPU, tiny model, < 2 min

Writes gpu_check.json and gpu_check.md (``--cpu --tiny``: gpu_check_cpu_tiny.*) to ``--out``,
by default $OUT when set (the device machine's folder that comes back), else
benchmarks/results/ (a temporary folder for ``--tiny``). A GPU run's two files belong in
benchmarks/results/gpu_check.json and .md, and its numbers in docs/benchmarks.md's
table (the ``gpu_check.py`` row).

What it needs beyond torch/transformers/accelerate: trl 1.16, datasets, polars, pyarrow,
math-verify, numpy, PyYAML (it names any that is missing and stops). vLLM and DeepSpeed are
not exercised unless installed (vLLM) / at all (DeepSpeed): a run says which."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Qwen2.5-0.5B (Qwen/Qwen2.5-0.5B config.json): 494M parameters, embeddings tied
QWEN25_05B = {"hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2,
              "intermediate_size": 4864, "vocab_size": 151936, "max_position_embeddings": 32768,
              "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": True}
# the same architecture, small enough for a CPU check
TINY = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "intermediate_size": 128, "vocab_size": 2048, "max_position_embeddings": 512, "rms_norm_eps": 1e-6,
        "hidden_act": "silu", "tie_word_embeddings": True}

# rl.grpo of config/paper.yaml, resized: few rollout batches, small batch, short completions
GPU_OVERRIDES = {"steps": 3, "prompts_per_generation": 8, "num_generations": 8, "steps_per_generation": 2,
                 "micro_batch_size": 8,
                 "max_completion_length": 256, "warmup_steps": 0, "use_vllm": False,
                 "dynamic_sampling": {"enabled": False}}
CPU_OVERRIDES = {"steps": 2, "prompts_per_generation": 4, "num_generations": 4, "steps_per_generation": 2,
                 "micro_batch_size": 2,
                 "max_completion_length": 16, "warmup_steps": 0, "use_vllm": False, "model_dtype": "float32",
                 "dynamic_sampling": {"enabled": False}}
SAMPLING = {"gpu": {"prompts": 64, "n": 8, "max_new_tokens": 256, "batch_size": 512},
            "cpu": {"prompts": 8, "n": 4, "max_new_tokens": 16, "batch_size": 32}}
PHASES = ("grpo_single", "grpo_single_fp32_weights", "grpo_fsdp2_1proc", "grpo_zero3_1proc")
NEEDED = ["torch", "transformers", "accelerate", "trl", "datasets", "polars", "pyarrow", "math_verify", "numpy", "yaml"]


# -- the model -------------------------------------------------------------------------------

def padded_tokenizer(vocab_size: int):
    """The toy tokenizer (mirage.toy.tokenizer: characters, the format tags, pad/bos/eos/unk)
    with filler tokens ``<xN>`` up to ``vocab_size``, so that every id a random model of that
    vocabulary samples decodes."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from mirage.toy.tokenizer import BOS, EOS, PAD, UNK, build_tokenizer

    spec = json.loads(build_tokenizer().backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    if vocab_size < len(vocab):
        raise ValueError(f"vocab_size {vocab_size} is below the toy tokenizer's {len(vocab)}")
    vocab.update({f"<x{i}>": i for i in range(len(vocab), vocab_size)})
    return PreTrainedTokenizerFast(tokenizer_object=Tokenizer.from_str(json.dumps(spec)), pad_token=PAD,
                                   bos_token=BOS, eos_token=EOS, unk_token=UNK, padding_side="left",
                                   model_max_length=4096)


def build_model(out: Path, shape: dict, dtype: str, device: str, seed: int = 0) -> dict:
    """A random-initialised Qwen2 model of ``shape`` with the padded tokenizer, saved like a
    hub model (safetensors, weights in ``dtype``)."""
    import torch
    import transformers

    torch.manual_seed(seed)
    tokenizer = padded_tokenizer(shape["vocab_size"])
    config = transformers.Qwen2Config(**shape, bos_token_id=tokenizer.bos_token_id,
                                      eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    start = time.perf_counter()
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config)
    model = model.to(getattr(torch, dtype))
    model.save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    params = sum(p.numel() for p in model.parameters())
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return {"parameters": params, "dtype": dtype, "build_and_save_s": round(time.perf_counter() - start, 1)}


def training_rows(n: int) -> list[dict]:
    return [{"prompt": f"{a}+{b} -> <think> <answer>\n", "answer": str(a + b), "problem_id": f"add-{i}"}
            for i, (a, b) in enumerate(zip(range(10, 10 + n), range(90, 90 - n, -1)))]


def grpo_settings(cpu: bool) -> tuple[dict, dict]:
    """config/paper.yaml's rl.grpo with this check's overrides, and the overrides."""
    import yaml

    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["rl"]["grpo"]
    overrides = CPU_OVERRIDES if cpu else GPU_OVERRIDES
    rl = {**paper, **overrides, "dynamic_sampling": {**paper.get("dynamic_sampling", {}),
                                                      **overrides["dynamic_sampling"]}}
    return rl, overrides


# -- one GRPO run (in this process, or in a process under accelerate launch) --------------------

def step_timer():
    """A TrainerCallback recording each optimizer step's wall time and the engine the trainer
    actually ran under (accelerate's distributed type, FSDP version, parameter class)."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.steps: list[float] = []
            self.engine: dict = {}
            self.last = None

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            from accelerate.state import AcceleratorState

            acc = AcceleratorState()
            plugin = getattr(acc, "fsdp_plugin", None)
            param = next(model.parameters())
            self.engine = {"distributed_type": str(acc.distributed_type).split(".")[-1],
                           "num_processes": acc.num_processes,
                           "fsdp_version": getattr(plugin, "fsdp_version", None),
                           "fsdp_state_dict_type": str(getattr(plugin, "state_dict_type", None)).split(".")[-1]
                           if plugin else None,
                           "parameter_class": type(param).__name__, "parameter_dtype": str(param.dtype),
                           "bf16_autocast": bool(args.bf16), "gradient_checkpointing": bool(args.gradient_checkpointing),
                           "per_device_train_batch_size": args.per_device_train_batch_size,
                           "steps_per_generation": args.steps_per_generation,
                           "gradient_accumulation_steps": args.gradient_accumulation_steps}
            self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            self.steps.append(round(now - self.last, 3))
            self.last = now

    return StepTimer()


def run_grpo_job(spec: dict) -> dict:
    """One GRPO run through mirage.training.runs.run_grpo as ``spec`` says; its timings, memory and engine."""
    import polars as pl
    import torch

    from mirage.core.settings import GRPOSettings
    from mirage.training.runs import GRPOJob, GRPORun, RunOutputs, Runtime, run_grpo

    cuda = torch.cuda.is_available() and not spec["cpu"]
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    out = Path(spec["out"])
    timer = step_timer()
    start = time.perf_counter()
    job = GRPOJob(model_path=spec["model"], problems_path="", verifier="integer", seed=1,
                  grpo=GRPOSettings.from_dict(spec["rl"]),
                  outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")))
    run_grpo(GRPORun(job=job, rows=spec["rows"], reward="random_ungated", reward_settings={"p": 0.5}, grpo=job.grpo,
                     summary={"claim": "gpu_check"}),
             Runtime(threads=spec["threads"], use_cpu=spec["cpu"], callbacks=(timer,)))
    wall = time.perf_counter() - start
    curves = pl.read_parquet(out / "curves.parquet")
    run_info = json.loads((out / "model" / "run.json").read_text())
    rl = spec["rl"]
    completions = rl["prompts_per_generation"] * rl["num_generations"]
    # one generation batch per rollout; every optimizer step logs its batch's mean completion length
    mean_length = curves.group_by("rollout").agg(pl.col("completion_length").mean())["completion_length"]
    tokens = int(round(float(mean_length.sum()) * completions))
    train_s = run_info.get("train_seconds", wall)
    return {"wall_s_incl_load": round(wall, 1), "train_s": train_s, "rollout_batches": rl["steps"],
            "optimizer_steps": run_info.get("optimizer_steps"), "step_s": timer.steps,
            "completions_per_rollout": completions, "generated_tokens": tokens,
            "generated_tokens_per_s_incl_training": round(tokens / train_s, 1) if train_s else None,
            "mean_reward": round(float(curves["reward"].mean()), 3) if curves.height else None,
            "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
            "engine": timer.engine, "processes": run_info.get("processes", 1)}


def check_model_folder(initial: str, trained: str) -> dict:
    """Is ``trained`` a normal safetensors model folder (from_pretrained loads it, same
    parameters as ``initial``), and did training change the weights?"""
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    folder = Path(trained)
    files = sorted(p.name for p in folder.glob("*.safetensors"))
    result = {"safetensors_files": files, "files": sorted(p.name for p in folder.iterdir())}
    try:
        model = AutoModelForCausalLM.from_pretrained(trained)
        result["loads_with_from_pretrained"] = True
        result["parameters"] = sum(p.numel() for p in model.parameters())
        del model
    except Exception as exc:  # recorded: this is what the check is for
        result["loads_with_from_pretrained"] = False
        result["load_error"] = f"{type(exc).__name__}: {exc}"[:500]
        return result
    before, after = {}, {}
    for f in Path(initial).glob("*.safetensors"):
        before.update(load_file(str(f)))
    for f in folder.glob("*.safetensors"):
        after.update(load_file(str(f)))
    result["same_tensor_names"] = sorted(before) == sorted(after)
    changed = total = 0
    largest = 0.0
    for name, tensor in before.items():
        if name in after:
            diff = (after[name].float() - tensor.float()).abs()
            changed += int((diff > 0).sum())
            total += diff.numel()
            largest = max(largest, float(diff.max()))
    result["saved_dtype"] = str(next(iter(after.values())).dtype) if after else None
    result["share_of_weights_changed"] = round(changed / total, 6) if total else None
    result["largest_weight_change"] = largest
    del before, after
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return result


# -- sampling ------------------------------------------------------------------------------------

def sampler_throughput(backend: str, model: str, cpu: bool, threads: int) -> dict:
    import torch

    from mirage.generation.prompts import prompt_token_ids
    from mirage.generation.sampling import SamplingParams, make_sampler

    s = SAMPLING["cpu" if cpu else "gpu"]
    cuda = torch.cuda.is_available() and not cpu
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    sampler = make_sampler(backend, model, threads=threads)
    load = time.perf_counter() - start
    rows = training_rows(s["prompts"])
    ids = prompt_token_ids(sampler.tokenizer, [r["prompt"] for r in rows], "plain")
    params = SamplingParams(n=s["n"], temperature=1.0, top_p=1.0, max_new_tokens=s["max_new_tokens"], seed=1,
                            batch_size=s["batch_size"])
    sampler.generate(ids[:2], params)  # warm-up
    start = time.perf_counter()
    out = sampler.generate(ids, params)
    elapsed = time.perf_counter() - start
    tokens = sum(c.n_tokens for c in out)
    weights = getattr(getattr(sampler, "model", None), "dtype", None)
    return {"backend": backend, "prompts": len(ids), "n": s["n"], "max_new_tokens": s["max_new_tokens"],
            "sequences_per_generate_call": max(1, s["batch_size"] // s["n"]) * s["n"], "tokens": tokens,
            "seconds": round(elapsed, 2), "tokens_per_s": round(tokens / elapsed, 1), "load_s": round(load, 1),
            "weights_dtype": str(weights) if weights is not None else "vLLM auto",
            "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None}


# -- the child processes -------------------------------------------------------------------------

def child(kind: str, spec_path: str) -> int:
    """One phase in a process of its own: ``grpo`` (under accelerate launch) or ``vllm``."""
    spec = json.loads(Path(spec_path).read_text())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if kind == "grpo":
        result = run_grpo_job(spec)
    elif kind == "vllm":
        result = sampler_throughput("vllm", spec["model"], spec["cpu"], spec["threads"])
    else:
        raise SystemExit(f"unknown child {kind!r}")
    if int(os.environ.get("RANK", "0")) == 0:
        Path(spec["result"]).write_text(json.dumps(result))
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    return 0


def run_child(kind: str, spec: dict, work: Path, launcher: list[str], log: Path, timeout: int) -> dict:
    spec = {**spec, "result": str(work / f"{kind}-result.json")}
    spec_path = work / f"{kind}-spec.json"
    spec_path.write_text(json.dumps(spec))
    command = [*launcher, str(Path(__file__).resolve()), "--child", kind, "--spec", str(spec_path)]
    start = time.perf_counter()
    with log.open("w") as fh:
        fh.write("$ " + " ".join(command) + "\n")
        fh.flush()
        try:
            done = subprocess.run(command, cwd=REPO, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout,
                                  env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                      filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))})
            status = done.returncode
        except subprocess.TimeoutExpired:
            status = "timeout"
    wall = round(time.perf_counter() - start, 1)
    if status != 0 or not Path(spec["result"]).exists():
        tail = log.read_text(errors="replace").splitlines()[-25:]
        return {"ok": False, "exit_status": status, "wall_s_incl_launch": wall, "command": " ".join(command),
                "log_tail": tail}
    return {"ok": True, "wall_s_incl_launch": wall, "command": " ".join(command),
            **json.loads(Path(spec["result"]).read_text())}


# -- the report ----------------------------------------------------------------------------------

# -- 4. paper-scale numbers: one micro-batch of a 7B-shaped model, MFU, the sampling floor -----

# Qwen2.5-7B and Qwen2.5-1.5B (their config.json); a tiny stand-in for --tiny
QWEN25_7B = {"hidden_size": 3584, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
             "intermediate_size": 18944, "vocab_size": 152064, "max_position_embeddings": 32768,
             "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": False}
QWEN25_1_5B = {"hidden_size": 1536, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
               "intermediate_size": 8960, "vocab_size": 151936, "max_position_embeddings": 32768,
               "rms_norm_eps": 1e-6, "hidden_act": "silu", "tie_word_embeddings": True}
H200_BF16_TFLOPS = 989.4  # dense bf16 peak of an H100/H200 SXM (NVIDIA's data sheets), for MFU


def step_flops(params_no_embed: float, shape: dict, m: int, T: int, C: int) -> float:
    """FLOPs of one training micro-batch with gradient checkpointing: the layers' matmuls 2 P per
    token forward, 4 P backward and 2 P recomputed (8 P per token), causal attention's scores and
    values (4 T^2 h per layer forward, halved by the mask, x 4), and the LM head on the C
    completion positions (2 V h forward, 4 V h backward)."""
    h, layers, vocab = shape["hidden_size"], shape["num_hidden_layers"], shape["vocab_size"]
    attention = 4 * layers * (2 * T * T * h) / 2
    return m * (8 * params_no_embed * T + attention + 6 * vocab * h * C)


def paper_scale_step(shape: dict, micro_batches: list[int], width: int, completion: int, cpu: bool) -> dict:
    """Peak memory and time of one GRPO micro-batch forward/backward (TRL 1.16's forward, bf16
    weights, gradient checkpointing) of a model of ``shape`` at each micro-batch of ``width``
    tokens, beside mirage.memory's activation estimate, and its MFU."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    from gpu_memory import build, measured_pass, one_pass

    from mirage.memory import GIB, ModelShape, activation_bytes

    device = "cpu" if cpu else "cuda"
    dtype = torch.float32 if cpu else torch.bfloat16
    model = build({"model_type": "qwen2", **{k: v for k, v in shape.items() if k not in (
        "max_position_embeddings", "rms_norm_eps", "hidden_act")}}, shape["num_hidden_layers"], dtype, device)
    params = sum(p.numel() for p in model.parameters())
    embed = shape["vocab_size"] * shape["hidden_size"] * (1 if shape["tie_word_embeddings"] else 2)
    estimate_shape = ModelShape(params_b=params / 1e9, head_dim=shape["hidden_size"] // shape["num_attention_heads"],
                                **{k: shape[k] for k in ("hidden_size", "num_hidden_layers", "intermediate_size",
                                                         "vocab_size", "num_key_value_heads")})

    def autocast():
        import contextlib

        return contextlib.nullcontext() if cpu else torch.autocast("cuda", dtype=torch.bfloat16)

    rows = []
    one_pass(model, 1, min(width, 256), min(completion, 192), device, autocast)  # gradients allocated once
    for m in micro_batches:
        measured = measured_pass(model, m, width, completion, device, autocast)
        estimate = activation_bytes(estimate_shape, m, width, 2 if not cpu else 4, checkpointing=True) / GIB
        row = {"micro_batch": m, "tokens": width, "completion_tokens": completion, "step_s": measured["seconds"],
               "estimated_activation_gib": round(estimate, 2), "error": measured["error"]}
        if not cpu:
            row.update(peak_gib=round(measured["peak"] / GIB, 2),
                       activation_peak_gib=round(measured["activation_peak"] / GIB, 2),
                       weights_and_grads_gib=round(measured["allocated_before"] / GIB, 2))
            flops = step_flops(params - embed, shape, m, width, completion)
            row.update(tflops=round(flops / measured["seconds"] / 1e12, 1),
                       mfu=round(flops / measured["seconds"] / 1e12 / H200_BF16_TFLOPS, 3))
        rows.append(row)
        print(f"gpu_check: paper-scale step: {json.dumps(row)}", flush=True)
    del model
    if not cpu:
        torch.cuda.empty_cache()
    return {"parameters": params, "rows": rows, "peak_tflops": None if cpu else H200_BF16_TFLOPS}


def generate_floor(shape: dict, batch: int, new_tokens: int, cpu: bool) -> dict:
    """HF ``generate`` tokens/s of a random model of ``shape`` at ``batch`` sequences with EOS
    disabled (every sequence runs to ``new_tokens``): the sampling floor without vLLM."""
    import torch
    import transformers

    device = "cpu" if cpu else "cuda"
    torch.manual_seed(0)
    config = transformers.Qwen2Config(**shape)
    with torch.device(device):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32 if cpu else torch.bfloat16)
    model.eval()
    prompts = torch.randint(0, shape["vocab_size"], (batch, 64), device=device)
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(prompts, attention_mask=torch.ones_like(prompts), max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=True, eos_token_id=None, pad_token_id=0)
    if not cpu:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    tokens = (out.shape[1] - prompts.shape[1]) * batch
    result = {"batch": batch, "new_tokens": new_tokens, "tokens": tokens, "seconds": round(seconds, 2),
              "tokens_per_s": round(tokens / seconds, 1),
              "peak_gpu_memory_gib": None if cpu else round(torch.cuda.max_memory_allocated() / 2**30, 2)}
    del model
    if not cpu:
        torch.cuda.empty_cache()
    return result


def environment() -> dict:
    import torch

    versions = {}
    for name in ("torch", "transformers", "accelerate", "trl", "datasets", "vllm", "deepspeed"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except Exception:
            versions[name] = None
    cuda = torch.cuda.is_available()
    return {"python": platform.python_version(), **versions,
            "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "gpu_memory_gib": round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1) if cuda else None,
            "cuda": torch.version.cuda, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d")}


def gib(value) -> str:
    return "—" if value is None else f"{value} GiB"


def markdown(r: dict) -> str:
    env = r["environment"]
    lines = [f"# gpu_check ({r['mode']})", "",
             f"{env['gpu'] or 'CPU'}; Python {env['python']}, torch {env['torch']} (CUDA {env['cuda']}), "
             f"transformers {env['transformers']}, accelerate {env['accelerate']}, trl {env['trl']}, "
             f"vllm {env['vllm']}, deepspeed {env['deepspeed']}; {env['date']}.", "",
             f"Model: random-initialised Qwen2 of shape {json.dumps(r['model']['shape'])}, "
             f"{r['model']['parameters']:,} parameters, saved in {r['model']['dtype']}.", "",
             "| phase | engine | result | wall | peak GPU memory |", "|---|---|---|---|---|"]
    for name in PHASES:
        p = r.get(name)
        if not p:
            continue
        if not p.get("ok", True):
            lines.append(f"| {name} | — | **failed** (exit {p.get('exit_status')}): "
                         f"{(p.get('log_tail') or [''])[-1][:150]} | {p.get('wall_s_incl_launch')} s | — |")
            continue
        e = p["engine"]
        engine = f"{e['distributed_type']}" + (f" v{e['fsdp_version']} ({e['fsdp_state_dict_type']})"
                                               if e.get("fsdp_version") else "")
        engine += f", params {e['parameter_class']} {e['parameter_dtype']}, bf16 autocast {e['bf16_autocast']}"
        folder = p.get("model_folder", {})
        lines.append(
            f"| {name} | {engine} | {p['rollout_batches']} rollout batches = {p['optimizer_steps']} optimizer steps in "
            f"{p['train_s']} s (steps: {', '.join(str(s) for s in p['step_s'])} s); {p['generated_tokens']:,} tokens "
            f"generated ({p['generated_tokens_per_s_incl_training']} tokens/s incl. training); model folder: "
            f"{'loads' if folder.get('loads_with_from_pretrained') else 'DOES NOT LOAD'}, "
            f"{folder.get('share_of_weights_changed')} of weights changed "
            f"| {p.get('wall_s_incl_launch', p.get('wall_s_incl_load'))} s | {gib(p.get('peak_gpu_memory_gib'))} |")
    for s in r.get("sampling", []):
        if not s.get("ok", True):
            lines.append(f"| sampler {s.get('backend', 'vllm')} | — | **failed** | — | — |")
            continue
        lines.append(f"| sampler {s['backend']} | {s['weights_dtype']} | {s['tokens_per_s']:,} tokens/s "
                     f"({s['prompts']} prompts × {s['n']}, ≤ {s['max_new_tokens']} new tokens, {s['tokens']:,} tokens "
                     f"in {s['seconds']} s; load {s['load_s']} s) | {s['seconds']} s | {gib(s['peak_gpu_memory_gib'])} |")
    step = r.get("paper_scale_step") or {}
    if step.get("ok"):
        lines += ["", f"One GRPO micro-batch forward/backward of a {step['parameters']:,}-parameter model "
                      "(TRL's forward, bf16 weights, gradient checkpointing), beside mirage/memory.py's estimate:", "",
                  "| micro-batch × tokens | step | activation peak | estimate | peak (weights + grads + activations) "
                  "| TFLOP/s | MFU |", "|---|---|---|---|---|---|---|"]
        for row in step["rows"]:
            lines.append(f"| {row['micro_batch']} × {row['tokens']:,} | {row['step_s']} s | "
                         f"{gib(row.get('activation_peak_gib'))} | {row['estimated_activation_gib']} GiB | "
                         f"{gib(row.get('peak_gib'))} | {row.get('tflops', '—')} | {row.get('mfu', '—')} |"
                         + (f" {row['error']}" if row.get("error") else ""))
    elif step:
        lines += ["", f"Paper-scale step: skipped ({step.get('error')})."]
    floor = r.get("generate_floor") or {}
    if floor.get("ok"):
        lines += ["", f"HF generate, 1.5B-shaped model, batch {floor['batch']}, EOS off: {floor['tokens_per_s']:,} "
                      f"tokens/s ({floor['tokens']:,} tokens in {floor['seconds']} s; peak "
                      f"{gib(floor['peak_gpu_memory_gib'])})."]
    elif floor:
        lines += ["", f"HF generate floor: skipped ({floor.get('error')})."]
    lines += ["", "Not exercised: " + "; ".join(r["not_exercised"]) + ".", "",
              f"Settings: config/paper.yaml rl.grpo with {json.dumps(r['rl_overrides'])}; total {r['total_s']} s.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GRPO steps, FSDP2 and sampler throughput on a GPU "
                                                 "(or, --cpu --tiny, the same code path on the CPU)")
    parser.add_argument("--cpu", action="store_true", help="run on the CPU (with --tiny: the test mode)")
    parser.add_argument("--tiny", action="store_true", help="a tiny model of the same architecture")
    parser.add_argument("--skip-fsdp", action="store_true", help="no FSDP2 run under accelerate launch")
    parser.add_argument("--out", help="where the JSON and markdown go (default: $OUT, else benchmarks/results/; "
                                      "--tiny: a temporary folder)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.spec)

    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing:
        print(f"gpu_check: missing modules {', '.join(missing)}: install them (trl 1.16, datasets, polars, pyarrow, "
              "math-verify, numpy, PyYAML) before this check", file=sys.stderr)
        return 1
    import torch

    if not args.cpu and not torch.cuda.is_available():
        print(f"gpu_check: no GPU: torch {torch.__version__} sees no CUDA device, so there is nothing to measure "
              "here. `python benchmarks/gpu_check.py --cpu --tiny` runs the same code path on a tiny model on "
              "the CPU.", file=sys.stderr)
        return 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    mode = ("cpu" if args.cpu else "gpu") + ("-tiny" if args.tiny else "")
    threads = args.threads or (1 if args.cpu else min(8, os.cpu_count() or 1))
    out = Path(args.out or os.environ.get("OUT") or (tempfile.mkdtemp(prefix="gpu_check-") if args.tiny
                                                    else REPO / "benchmarks" / "results"))
    out.mkdir(parents=True, exist_ok=True)
    stem = "gpu_check" if mode == "gpu" else f"gpu_check_{mode.replace('-', '_')}"
    start = time.perf_counter()
    shape = TINY if args.tiny else QWEN25_05B
    rl, overrides = grpo_settings(args.cpu)
    report: dict = {"mode": mode, "environment": environment(), "rl_overrides": overrides,
                    "not_exercised": ["more than one process"]}
    with tempfile.TemporaryDirectory(prefix="gpu_check-") as tmp:
        work = Path(tmp)
        model_dir = work / "model"
        dtype = "float32" if args.cpu else "bfloat16"  # the hub's Qwen2.5 checkpoints are bf16
        report["model"] = {"shape": shape, **build_model(model_dir, shape, dtype, "cpu" if args.cpu else "cuda")}
        print(f"gpu_check: model {report['model']}", flush=True)
        spec = {"model": str(model_dir), "rows": training_rows(8 * rl["prompts_per_generation"]), "rl": rl,
                "cpu": args.cpu, "threads": threads}

        # 1. one process, as the single-GPU training rule runs it: the paper's model_dtype, and (on
        # a GPU) float32 weights under bf16 autocast; pure bf16 weights lose AdamW updates of
        # ~lr = 1e-6 to rounding (the weights' changed share says how many survived)
        runs = [("grpo_single", {})] + ([] if args.cpu else [("grpo_single_fp32_weights", {"model_dtype": "float32"})])
        for name, extra in runs:
            result = run_grpo_job({**spec, "rl": {**rl, **extra}, "out": str(work / name)})
            result["model_folder"] = check_model_folder(str(model_dir), str(work / name / "model"))
            report[name] = result
            print(f"gpu_check: {name}: {json.dumps(result)}", flush=True)
            if not args.cpu:
                torch.cuda.empty_cache()

        # 2. through accelerate launch, one process: FSDP2 (float32 weights, bf16 mixed precision);
        # ZeRO-3 too where deepspeed is installed (the paper's bf16 weights: DeepSpeed keeps float32
        # master weights)
        engines = [] if args.skip_fsdp else [("fsdp2", "grpo_fsdp2_1proc", {"model_dtype": "float32"})]
        if not args.cpu and importlib.util.find_spec("deepspeed") is not None:
            engines.append(("zero3", "grpo_zero3_1proc", {}))
        else:
            report["not_exercised"].append("DeepSpeed ZeRO-3 (" + ("needs a GPU" if args.cpu else
                                                                   "deepspeed is not installed here") + ")")
        if args.skip_fsdp:
            report["not_exercised"].append("FSDP2 (--skip-fsdp)")
        for engine, name, extra in engines:
            launcher = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
                        str(REPO / "config" / "accelerate" / f"{engine}.yaml"), "--num_processes", "1",
                        "--main_process_port", "0"]
            result = run_child("grpo", {**spec, "rl": {**rl, **extra}, "out": str(work / name)}, work, launcher,
                               out / f"{stem}_{engine}.log", timeout=900)
            if result.get("ok"):
                result["model_folder"] = check_model_folder(str(model_dir), str(work / name / "model"))
                if args.cpu:
                    result["note"] = ("accelerate runs FSDP on GPUs only: on the CPU this process ran as "
                                      f"{result['engine']['distributed_type']} (the launch and the code path, not FSDP)")
            report[name] = result
            print(f"gpu_check: {name}: {json.dumps(result)}", flush=True)

        # 3. the samplers
        report["sampling"] = [sampler_throughput("hf", str(model_dir), args.cpu, threads)]
        print(f"gpu_check: sampler: {json.dumps(report['sampling'][-1])}", flush=True)
        if not args.cpu and importlib.util.find_spec("vllm") is not None:
            vllm = run_child("vllm", spec, work, [sys.executable], out / f"{stem}_vllm.log", timeout=600)
            report["sampling"].append({"backend": "vllm", **vllm})
            print(f"gpu_check: sampler: {json.dumps(vllm)}", flush=True)
        else:
            report["not_exercised"].append("vLLM (not installed here)" if not args.cpu
                                           else "vLLM (needs a GPU)")
        # 4. paper scale: a 7B-shaped micro-batch at 10,240 tokens (the memory model's prediction beside
        # it, and MFU), and HF generate of a 1.5B-shaped model as the sampling floor
        big, small = (TINY, TINY) if args.tiny else (QWEN25_7B, QWEN25_1_5B)
        width, completion = (64, 48) if args.tiny else (10240, 8192)
        for name, work_fn in (("paper_scale_step", lambda: paper_scale_step(big, [1, 2, 4], width, completion,
                                                                            args.cpu)),
                              ("generate_floor", lambda: generate_floor(small, 64, 16 if args.tiny else 256,
                                                                        args.cpu))):
            began = time.perf_counter()
            try:
                report[name] = {"ok": True, **work_fn()}
            except Exception as exc:  # a part that cannot run is skipped with its reason
                report[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
            report[name]["wall_s"] = round(time.perf_counter() - began, 1)
            print(f"gpu_check: {name}: {json.dumps(report[name])}", flush=True)
    report["total_s"] = round(time.perf_counter() - start, 1)
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1))
    (out / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))
    print(f"gpu_check: wrote {out / (stem + '.json')} and {out / (stem + '.md')}")
    failed = [k for k in PHASES if report.get(k) and not report[k].get("ok", True)]
    folder_bad = [k for k in PHASES if report.get(k) and report[k].get("ok", True)
                  and not report[k].get("model_folder", {}).get("loads_with_from_pretrained")]
    return 1 if failed or folder_bad else 0


if __name__ == "__main__":
    sys.exit(main())
