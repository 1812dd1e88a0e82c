"""A training job stopped dead after a checkpoint and started again ends
exactly as an uninterrupted one: the same weights, curves and reward history.
(tests/test_kill_resume.py kills real jobs through Snakemake.)"""

import json

import polars as pl
import pytest
from conftest import Killed, StopAfterSaving
from safetensors.torch import load_file
from transformers import TrainerCallback

from mirage.core.atomic import atomic_directory, atomic_file
from mirage.core.checkpoints import CheckpointDir
from mirage.core.settings import GRPOSettings
from mirage.toy.data import generate_task_splits
from mirage.toy.pretrain import PretrainJob, pretrain_toy_model
from mirage.toy.tokenizer import build_tokenizer
from mirage.training.runs import ClaimJob, RunOutputs, Runtime, train_claim

TEMPLATE = "{question} -> <think> <answer>\n"
ARCH = {"type": "llama", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 96}
FAMILIES = {"add": {"family": "add", "params": {"digits": 2}}}
MODEL = {"name": "toy", "architecture": ARCH,
         "sft": {"steps": 6, "batch_size": 8, "learning_rate": 3e-3, "max_length": 48, "logging_steps": 2},
         "mixture": {"add": {"weight": 1.0, "practice": 0.2, "styles": {"procedure": 0.6, "flawed": 0.3, "direct": 0.1}}}}
GRPO = {"steps": 6, "prompts_per_generation": 4, "num_generations": 4, "steps_per_generation": 2,
        "learning_rate": 3e-2, "warmup_steps": 0, "weight_decay": 0.1, "max_grad_norm": 1.0, "epsilon": 0.2,
        "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
        "max_completion_length": 24}


class SavedSteps(TrainerCallback):
    """The optimizer steps a run saved a checkpoint at."""

    def __init__(self, seen):
        self.seen = seen

    def on_save(self, args, state, control, **kwargs):
        self.seen.append(state.global_step)


def sft_job(inputs, out):
    return PretrainJob(tokenizer_dir=inputs / "tokenizer", problem_files=[inputs / "add.parquet"], out_dir=out,
                       model_cfg=MODEL, task_families=FAMILIES, prompt_template=TEMPLATE, seed=5)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    build_tokenizer().save_pretrained(str(root / "tokenizer"))
    generate_task_splits("add", "add", {"digits": 2}, 16, 4, 3, TEMPLATE).write_parquet(root / "add.parquet")
    pretrain_toy_model(sft_job(root, root / "base"))
    return root


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert wa[name].equal(wb[name]), name


@pytest.mark.integration
def test_sft_stopped_after_a_checkpoint_resumes_to_the_same_weights(inputs, tmp_path):
    def pretrain(out, **kwargs):
        return pretrain_toy_model(sft_job(inputs, out), resume_key="run", **kwargs)

    ckpt = CheckpointDir(tmp_path / "ckpt", every=2)
    with pytest.raises(Killed):
        pretrain(tmp_path / "resumed", checkpoints=ckpt, callbacks=[StopAfterSaving(4)])
    assert not (tmp_path / "resumed").exists()  # nothing that looks complete
    assert ckpt.latest().name == "checkpoint-4"
    summary = pretrain(tmp_path / "resumed", checkpoints=ckpt)
    assert summary["resumed_from_step"] == 4
    assert_same_weights(inputs / "base", tmp_path / "resumed")
    straight = json.loads((inputs / "base" / "pretrain_summary.json").read_text())
    losses = lambda s: [e["loss"] for e in s["log_history"] if "loss" in e]
    assert losses(summary) == losses(straight) and len(losses(straight)) == 3
    assert not ckpt.root.exists()  # removed once the job succeeded


@pytest.mark.integration
@pytest.mark.parametrize("claim,dynamic", [("random", False), ("ground_truth", False), ("random", True)])
def test_grpo_stopped_after_a_checkpoint_resumes_to_the_same_run(inputs, tmp_path, claim, dynamic):
    """``random`` carries a stateful reward generator across the checkpoint. An epoch
    is 16 problems / 4 per generation = 4 rollout batches = 8 optimizer steps: the run
    resumes in its second (checkpoints every rollout batch, named by optimizer step).
    With dynamic sampling, refills draw extra prompts: the resumed run must continue
    the same walk through the data."""
    rl = {**GRPO, "dynamic_sampling": {"enabled": dynamic, "max_generation_batches": 2}}

    def train(name, **runtime):
        out = tmp_path / name
        job = ClaimJob(model_path=str(inputs / "base"), problems_path=str(inputs / "add.parquet"),
                       outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")),
                       grpo=GRPOSettings.from_dict(rl), verifier="integer", seed=11, claim=claim)
        train_claim(job, Runtime(resume_key="run", use_cpu=True, **runtime))
        return out

    straight = train("straight")
    ckpt = CheckpointDir(tmp_path / "ckpt", every=1)
    with pytest.raises(Killed):
        train("resumed", checkpoints=ckpt, callbacks=(StopAfterSaving(10),))
    assert not (tmp_path / "resumed" / "model").exists()
    resumed = train("resumed", checkpoints=ckpt)
    assert json.loads((resumed / "model" / "run.json").read_text())["resumed_from_step"] == 10
    assert_same_weights(straight / "model", resumed / "model")
    for table in ("curves.parquet", "history.parquet"):
        a, b = pl.read_parquet(straight / table), pl.read_parquet(resumed / table)
        assert a.height > 0 and a.equals(b), table
    curves = pl.read_parquet(straight / "curves.parquet")
    if dynamic:  # the random reward agrees within some groups of 4: they were dropped and refilled
        assert curves["filtered_share"].max() > 0 and curves["generation_batches"].max() == 2
    else:
        assert curves["filtered_share"].is_null().all()


@pytest.mark.integration
def test_a_run_longer_than_its_time_limit_finishes_over_attempts_as_one_run(inputs, tmp_path):
    """A deadline already passed: every attempt trains one rollout batch, checkpoints at
    its end and stops (TimeLimitReached, the job's exit status 75); run again, it resumes.
    Six attempts of 6 rollout batches end as the uninterrupted run, bit for bit. A clock
    checkpoint (rl_minutes) saves without stopping."""
    from mirage.core.checkpoints import TimeLimit, TimeLimitReached

    def train(name, **runtime):
        out = tmp_path / name
        job = ClaimJob(model_path=str(inputs / "base"), problems_path=str(inputs / "add.parquet"),
                       outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")),
                       grpo=GRPOSettings.from_dict(GRPO), verifier="integer", seed=11, claim="random")
        train_claim(job, Runtime(resume_key="run", use_cpu=True, **runtime))
        return out

    straight = train("straight")
    ckpt = CheckpointDir(tmp_path / "ckpt", every=100)  # no checkpoint by rollout batches within the run
    steps = []
    for attempt in range(GRPO["steps"] + 1):
        try:
            resumed = train("resumed", checkpoints=ckpt, time_limit=TimeLimit(deadline=0.0))
            break
        except TimeLimitReached:
            steps.append(ckpt.latest().name)
            assert not (tmp_path / "resumed" / "model").exists()
    assert steps == [f"checkpoint-{2 * b}" for b in range(1, GRPO["steps"])]  # one rollout batch per attempt
    assert json.loads((resumed / "model" / "run.json").read_text())["resumed_from_step"] == 2 * (GRPO["steps"] - 1)
    assert_same_weights(straight / "model", resumed / "model")
    for table in ("curves.parquet", "history.parquet"):
        assert pl.read_parquet(straight / table).equals(pl.read_parquet(resumed / table)), table
    # a checkpoint every 0 seconds by the clock, no deadline: one per rollout batch (the last one is the
    # trainer's own save at the end), and the run ends
    seen = []
    ckpt2 = CheckpointDir(tmp_path / "ckpt2", every=100)
    train("clocked", checkpoints=ckpt2, time_limit=TimeLimit(every=1e-9),
          callbacks=(SavedSteps(seen),))
    assert seen == [2 * b for b in range(1, GRPO["steps"] + 1)] and (tmp_path / "clocked" / "model").exists()


def test_a_finished_run_leaves_no_empty_checkpoint_folder(tmp_path):
    base = tmp_path / "checkpoints"
    done = CheckpointDir(base / "train_claim" / "claim=a" / "seed=1", every=1, base=base)
    other = CheckpointDir(base / "train_claim" / "claim=b" / "seed=1", every=1, base=base)
    for run in (done, other):
        run.prepare("key")
    done.finish()
    assert not (base / "train_claim" / "claim=a").exists() and other.root.is_dir()  # another job's stay
    other.finish()
    assert not base.exists()


def test_a_checkpoint_of_another_run_is_never_resumed(tmp_path):
    ckpt = CheckpointDir(tmp_path / "ckpt", every=2)
    assert ckpt.prepare("config-1") is None
    (ckpt.root / "checkpoint-2").mkdir()
    (ckpt.root / "checkpoint-2" / "mirage_complete").write_text("")
    (ckpt.root / "checkpoint-4").mkdir()  # cut short by a kill: no marker
    assert ckpt.prepare("config-1").name == "checkpoint-2"
    assert ckpt.prepare("config-2") is None and not (ckpt.root / "checkpoint-2").exists()


def test_an_atomic_file_appears_only_when_its_block_succeeds(tmp_path):
    with pytest.raises(Killed):
        with atomic_file(tmp_path / "t.parquet") as tmp:
            assert tmp.suffix == ".parquet" and tmp.parent == tmp_path
            tmp.write_text("half")
            raise Killed()
    assert list(tmp_path.iterdir()) == []
    with atomic_file(tmp_path / "t.parquet") as tmp:
        tmp.write_text("all")
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"] and (tmp_path / "t.parquet").read_text() == "all"


def test_an_atomic_directory_appears_only_when_its_block_succeeds(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_directory(tmp_path / "out") as tmp:
            (tmp / "weights").write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "weights").write_text("all")
    assert (tmp_path / "out" / "weights").read_text() == "all" and len(list(tmp_path.iterdir())) == 1
