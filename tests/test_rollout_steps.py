"""rl.grpo.steps and warmup_steps count rollout batches, as the released verl
run counts them: a real GRPO run makes one generation batch per step, two
optimizer updates per batch, and holds the learning rate constant within a
batch while it warms up over batches."""

import polars as pl
import pytest
from transformers import TrainerCallback

from mirage.core.settings import GRPOSettings
from mirage.toy.data import generate_task_splits
from mirage.toy.pretrain import PretrainJob, pretrain_toy_model
from mirage.toy.tokenizer import build_tokenizer
from mirage.training.rewards import GroundTruthReward
from mirage.training.runs import ClaimJob, GRPOJob, GRPORun, RunOutputs, Runtime, run_grpo
from mirage.training.trainer import rollout_lr_scheduler

TEMPLATE = "{question} -> <think> <answer>\n"
ARCH = {"type": "llama", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 96}
MODEL = {"name": "toy", "architecture": ARCH,
         "sft": {"steps": 2, "batch_size": 8, "learning_rate": 3e-3, "max_length": 48, "logging_steps": 1},
         "mixture": {"add": {"weight": 1.0, "styles": {"procedure": 1.0}}}}
GRPO = {"steps": 4, "prompts_per_generation": 4, "num_generations": 2, "steps_per_generation": 2,
        "learning_rate": 1e-3, "warmup_steps": 2, "weight_decay": 0.0, "max_grad_norm": 1.0, "epsilon": 0.2,
        "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
        "max_completion_length": 8}


def grpo_run(root, rows, reward, reward_settings, grpo, out_dir, **job):
    """A GRPO run of the toy base model on ``rows``, writing into ``out_dir``."""
    outputs = RunOutputs(str(out_dir / "model"), str(out_dir / "curves.parquet"), str(out_dir / "history.parquet"))
    spec = GRPOJob(model_path=str(root / "base"), problems_path=str(root / "add.parquet"), outputs=outputs,
                   grpo=GRPOSettings.from_dict(grpo), verifier="integer", seed=1, **job)
    return GRPORun(job=spec, rows=rows, reward=reward, reward_settings=reward_settings, grpo=spec.grpo)


def claim_job(root, out, claim, grpo, **extra):
    """A claim job on the toy base model's add task, writing into ``out``."""
    return ClaimJob(model_path=str(root / "base"), problems_path=str(root / "add.parquet"),
                    outputs=RunOutputs(str(out / "model"), str(out / "curves.parquet"), str(out / "history.parquet")),
                    grpo=GRPOSettings.from_dict(grpo), verifier="integer", seed=1, claim=claim, **extra)


class LearningRates(TrainerCallback):
    """The learning rate each optimizer update uses."""

    def __init__(self):
        self.lrs = []

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        self.lrs.append(optimizer.param_groups[0]["lr"])


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    root = tmp_path_factory.mktemp("steps")
    build_tokenizer().save_pretrained(str(root / "tokenizer"))
    problems = generate_task_splits("add", "add", {"digits": 2}, 8, 2, 3, TEMPLATE)
    problems.write_parquet(root / "add.parquet")
    pretrain_toy_model(PretrainJob(tokenizer_dir=root / "tokenizer", problem_files=[root / "add.parquet"],
                                   out_dir=root / "base", model_cfg=MODEL,
                                   task_families={"add": {"family": "add", "params": {"digits": 2}}},
                                   prompt_template=TEMPLATE, seed=5))
    return root, problems.filter(pl.col("split") == "train").select("prompt", "answer", "problem_id").to_dicts()


@pytest.mark.integration
def test_steps_are_rollout_batches_of_two_updates_with_a_per_batch_warmup(base, tmp_path, monkeypatch):
    root, rows = base
    calls = []
    score = GroundTruthReward.score
    monkeypatch.setattr(GroundTruthReward, "score", lambda self, *a, **k: calls.append(len(a[1])) or score(self, *a, **k))
    lrs = LearningRates()
    run_grpo(grpo_run(root, rows, "ground_truth", {}, GRPO, tmp_path), Runtime(use_cpu=True, callbacks=(lrs,)))
    assert calls == [8] * 4  # 4 rollout batches of 4 prompts x 2 completions, one generation each
    assert len(lrs.lrs) == 8  # 2 optimizer updates per rollout batch
    # warm-up over 2 rollout batches (0, then 1/2), constant within a batch
    assert lrs.lrs == pytest.approx([0.0, 0.0, 5e-4, 5e-4, 1e-3, 1e-3, 1e-3, 1e-3])
    curves = pl.read_parquet(tmp_path / "curves.parquet")
    assert curves["step"].to_list() == list(range(1, 9)) and curves["rollout"].to_list() == [0, 0, 1, 1, 2, 2, 3, 3]
    history = pl.read_parquet(tmp_path / "history.parquet")
    assert history.height == 32 and history["step"].unique().sort().to_list() == [0, 2, 4, 6]


def test_the_schedule_factor_by_optimizer_step():
    import torch

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = rollout_lr_scheduler(opt, warmup_rollouts=3, updates_per_rollout=2)
    seen = []
    for _ in range(10):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert seen == pytest.approx([0, 0, 1 / 3, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1, 1])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert rollout_lr_scheduler(opt, 0, 2).get_last_lr() == [1.0]  # no warm-up


@pytest.mark.integration
def test_majority_vote_samples_its_extra_votes_from_the_policy(base, tmp_path, monkeypatch):
    from mirage.training.rewards import MajorityVoteReward

    seen = []
    bind = MajorityVoteReward.bind_vote_sampler

    def recording(self, sampler):
        def wrapped(prompts, n):
            out = sampler(prompts, n)
            seen.append((len(prompts), n, len(out), all(isinstance(c, str) for c in out)))
            return out
        bind(self, wrapped)

    monkeypatch.setattr(MajorityVoteReward, "bind_vote_sampler", recording)
    root, rows = base
    run_grpo(grpo_run(root, rows, "majority_vote", {"votes": 5}, {**GRPO, "steps": 2}, tmp_path), Runtime(use_cpu=True))
    assert seen == [(4, 3, 12, True)] * 2  # per rollout batch: 4 prompts x 3 more votes (5 - 2 trained)


@pytest.mark.integration
def test_a_claim_with_nothing_to_train_on_writes_an_untrained_run(base, tmp_path):
    """incorrect_label where the base model's majority answer is right on every
    problem: the base model, marked untrained, with empty curves and history."""
    import json

    from mirage.analysis.verdicts import was_trained
    from mirage.core.schemas import WRONG_LABELS
    from mirage.training.runs import train_claim

    root, rows = base
    labels = WRONG_LABELS.frame([{"problem_id": r["problem_id"], "wrong_label": r["answer"], "votes": 4,
                                  "majority_count": 4, "majority_wrong": False} for r in rows])
    WRONG_LABELS.write(labels, tmp_path / "labels.parquet")
    out = tmp_path / "run"
    train_claim(claim_job(root, out, "incorrect_label", GRPO, wrong_labels_path=str(tmp_path / "labels.parquet")),
                Runtime(use_cpu=True))
    run = json.loads((out / "model" / "run.json").read_text())
    assert run["trained"] is False and run["training_problems"] == [] and not was_trained(str(out / "model"))
    assert pl.read_parquet(out / "curves.parquet").height == 0 and pl.read_parquet(out / "history.parquet").height == 0
    from safetensors.torch import load_file

    a, b = load_file(str(root / "base" / "model.safetensors")), load_file(str(out / "model" / "model.safetensors"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)


@pytest.mark.integration
def test_decomposed_polarity_claims_run_without_dynamic_sampling(base, tmp_path):
    """nsr_decomposed gives all-wrong groups a gradient: the study's dynamic
    sampling, which would drop them, is off for it (and on for nsr)."""
    from mirage.training.runs import train_claim

    root, _ = base
    rl = {**GRPO, "steps": 2, "dynamic_sampling": {"enabled": True, "max_generation_batches": 2}}
    curves = {}
    for claim in ("nsr", "nsr_decomposed"):
        out = tmp_path / claim
        train_claim(claim_job(root, out, claim, rl), Runtime(use_cpu=True))
        curves[claim] = pl.read_parquet(out / "curves.parquet")
    assert curves["nsr"]["generation_batches"].is_not_null().all()
    assert curves["nsr_decomposed"]["generation_batches"].is_null().all()


def tensorboard_scalars(folder) -> dict[str, list[tuple[int, float]]]:
    """(step, value) per tag of the event files under ``folder``, read as TFRecords
    (length, its CRC, an Event protobuf, its CRC) with tensorboardX's Event message."""
    import struct
    from pathlib import Path

    from tensorboardX.proto.event_pb2 import Event

    scalars = {}
    for path in sorted(Path(folder).rglob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


@pytest.mark.integration
def test_tensorboard_tracking_writes_each_step_under_the_runs_name(base, tmp_path, monkeypatch):
    from mirage.training.trainer import tracking_settings

    root, rows = base
    assert tracking_settings("none", "toy", "add", "ground_truth", 1) is None
    tracking = tracking_settings("tensorboard", "toy", "add", "ground_truth", 1)
    assert tracking["run_name"] == "toy-add-ground_truth-seed1"
    monkeypatch.chdir(tmp_path)  # the job's working directory: the study's
    run_grpo(grpo_run(root, rows, "ground_truth", {}, {**GRPO, "steps": 2}, tmp_path, tracking=tracking),
             Runtime(use_cpu=True))
    scalars = tensorboard_scalars(tmp_path / "results" / "tracking" / "toy" / "add" / "ground_truth" / "seed1")
    curves = pl.read_parquet(tmp_path / "curves.parquet")
    # the reward of every logged step, as the curves table has it
    logged = dict(scalars["train/reward"])
    measured = dict(curves.filter(pl.col("reward").is_not_null()).select("step", "reward").iter_rows())
    assert logged.keys() == measured.keys() and len(logged) >= 2
    assert [logged[s] for s in sorted(logged)] == pytest.approx([measured[s] for s in sorted(measured)], abs=1e-6)
    assert not list((tmp_path / "model").rglob("events.out.tfevents.*"))  # nothing in the model folder


class BatchShape(TrainerCallback):
    """The micro-batch and accumulation TRL trains with, and each update's learning rate."""

    def __init__(self):
        self.shape, self.lrs = None, []

    def on_train_begin(self, args, state, control, **kwargs):
        self.shape = (args.per_device_train_batch_size, args.gradient_accumulation_steps, args.steps_per_generation)

    def on_step_begin(self, args, state, control, optimizer=None, **kwargs):
        self.lrs.append(optimizer.param_groups[0]["lr"])


@pytest.mark.integration
def test_micro_batches_give_the_same_updates_and_learning_rates(base, tmp_path):
    """rl.grpo.micro_batch_size splits each optimizer step's mini-batch into
    gradient-accumulated micro-batches: the same optimizer steps, the same
    learning rate at every step and the same weights (up to float reduction
    order) as one forward/backward over the whole mini-batch. (A random reward:
    the tiny base model gets every answer wrong, so ground truth moves nothing.)"""
    import torch
    from safetensors.torch import load_file

    root, rows = base
    grpo = {**GRPO, "steps": 3, "warmup_steps": 1}  # mini-batch: 4 prompts x 2 completions / 2 steps = 4 sequences
    results = {}
    for micro in (None, 2, 1):
        out, seen = tmp_path / f"micro{micro}", BatchShape()
        run_grpo(grpo_run(root, rows, "random_ungated", {"p": 0.5}, {**grpo, "micro_batch_size": micro}, out),
                 Runtime(use_cpu=True, callbacks=(seen,)))
        results[micro] = (seen, load_file(str(out / "model" / "model.safetensors")),
                          pl.read_parquet(out / "history.parquet"), pl.read_parquet(out / "curves.parquet"))
    assert results[None][0].shape == (4, 1, 2) and results[2][0].shape == (2, 2, 4) and results[1][0].shape == (1, 4, 8)
    base_weights = load_file(str(root / "base" / "model.safetensors"))
    full = results[None]
    for micro in (2, 1):
        seen, weights, history, curves = results[micro]
        assert seen.lrs == full[0].lrs == pytest.approx([0.0, 0.0, 1e-3, 1e-3, 1e-3, 1e-3])
        assert curves["step"].to_list() == full[3]["step"].to_list() == list(range(1, 7))
        assert history.equals(full[2])  # the same completions and rewards in every rollout batch
        for name, w in weights.items():
            moved = full[1][name] - base_weights[name]
            assert torch.allclose(w - base_weights[name], moved, atol=1e-6, rtol=1e-4), name
        assert any(not torch.equal(full[1][n], base_weights[n]) for n in weights)  # training moved the weights
