"""benchmarks/gpu_check.py (the GPU check of the training and sampling code on a model of a
real shape) works here too: ``--cpu --tiny`` runs its code path on the CPU, and without a GPU
the plain command says so and stops."""

import json
import subprocess
import sys

import pytest
import torch
from conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"


@pytest.mark.integration
@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here: the check would run")
def test_without_a_gpu_it_says_so_and_stops():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "no GPU" in proc.stderr and "--cpu --tiny" in proc.stderr


def test_padded_tokenizer_decodes_every_id_of_the_vocabulary():
    sys.path.insert(0, str(SCRIPT.parent))
    import gpu_check

    tok = gpu_check.padded_tokenizer(151936)
    assert len(tok) == 151936
    assert tok.decode([151935]) == "<x151935>"
    from mirage.toy.tokenizer import build_tokenizer

    ids = tok("12+34 -> <think> <answer>\n")["input_ids"]
    assert ids == build_tokenizer()("12+34 -> <think> <answer>\n")["input_ids"]  # the toy tokenizer's ids
    assert tok.decode(ids) == "12+34 -> <think> <answer>\n"


@pytest.mark.slow
def test_cpu_tiny_mode_runs_the_training_and_sampling_code(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--tiny", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check_cpu_tiny.json").read_text())
    assert (tmp_path / "gpu_check_cpu_tiny.md").read_text().startswith("# gpu_check (cpu-tiny)")
    for phase in ("grpo_single", "grpo_fsdp2_1proc"):
        run = report[phase]
        assert run.get("ok", True), run
        assert run["optimizer_steps"] == 4 and len(run["step_s"]) == 4
        assert run["generated_tokens"] > 0
        folder = run["model_folder"]
        assert folder["loads_with_from_pretrained"] and folder["safetensors_files"] == ["model.safetensors"]
        assert folder["parameters"] == report["model"]["parameters"]
        assert folder["share_of_weights_changed"] > 0.9  # float32 weights: the updates are kept
    # through accelerate launch with config/accelerate/fsdp2.yaml, one process (gloo on the CPU), really
    # under FSDP2 (accelerate alone would ignore the plugin on the CPU: mirage.training.cpu_engines switches it on)
    engine = report["grpo_fsdp2_1proc"]["engine"]
    assert engine["distributed_type"] == "FSDP" and engine["fsdp_version"] == 2, engine
    assert engine["parameter_class"] == "DTensor", engine
    assert "fsdp2.yaml --num_processes 1 --main_process_port 0" in report["grpo_fsdp2_1proc"]["command"]
    (sampling,) = report["sampling"]
    assert sampling["backend"] == "hf" and sampling["tokens"] > 0 and sampling["tokens_per_s"] > 0
    # the paper-scale part: micro-batches 1, 2, 4 through TRL's forward with the memory estimate beside
    # each; the HF generate floor with every sequence run to its length (EOS off)
    step = report["paper_scale_step"]
    assert step["ok"] and [r["micro_batch"] for r in step["rows"]] == [1, 2, 4]
    assert all(r["error"] is None and r["estimated_activation_gib"] > 0 for r in step["rows"])
    floor = report["generate_floor"]
    assert floor["ok"] and floor["tokens"] == floor["batch"] * floor["new_tokens"]


# What the lent GPU machine has (../shared/gpu-notes.md, section 6): torch, transformers,
# accelerate and peft preinstalled, with what they require; what travels to it: the wheels the
# device command of docs/gpu.md installs (trl, datasets, polars, math-verify, with theirs).
DEVICE_HAS = {"torch", "transformers", "accelerate", "peft"}
TRAVELS = {"trl", "datasets", "polars", "math-verify"}
# modules the check reaches but never imports there, and why: vllm and deepspeed only where
# installed (its sampler and ZeRO-3 parts skip with their reason otherwise); PIL reads a PNG's
# provenance, reasoning_gym builds reasoning-gym tasks: neither runs in the check
NOT_IMPORTED_THERE = {"vllm", "deepspeed", "PIL", "reasoning_gym"}


def test_the_gpu_check_needs_only_what_the_device_has_or_what_travels():
    """Every third-party module benchmarks/gpu_check.py and gpu_memory.py import, and every
    mirage module they reach imports (a static walk, imports inside functions included), comes
    from a distribution the device has or one that travels, or their requirements."""
    import importlib.metadata as metadata

    from test_envs import imported_modules, requirement_closure

    benchmarks = REPO / "benchmarks"
    modules, todo, seen = set(), [SCRIPT], set()
    while todo:  # the benchmark scripts import each other as top-level modules
        path = todo.pop()
        for module in imported_modules(path, seen):
            local = benchmarks / f"{module}.py"
            if local.exists():
                todo.append(local)
            else:
                modules.add(module)
    assert {"torch", "transformers", "trl"} <= modules
    providers = metadata.packages_distributions()
    closure = requirement_closure(DEVICE_HAS | TRAVELS)
    missing = {}
    for module in sorted(modules - NOT_IMPORTED_THERE):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        if not dists & closure:
            missing[module] = sorted(dists)
    assert not missing, f"the GPU check imports what the device has not and no wheel brings: {missing}"
