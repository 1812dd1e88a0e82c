"""RL training of one claim on one (base model, task, seed) with TRL's GRPOTrainer
(mirage.training.trainer): the run's specification, its steps (build, train, write), a claim's
run, the One-Shot reference run, and the training curves."""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from mirage.core.atomic import atomic_directory
from mirage.core.checkpoints import (
    CheckpointDir,
    TimeLimit,
    TimeLimitReached,
    barrier,
    checkpoint_step,
    clock_callback,
    load_extra_state,
    process_rank,
    resume_callback,
)
from mirage.core.schemas import CANDIDATE_RANKING, PROBLEMS, REWARD_HISTORY, TRAINING_CURVES, WRONG_LABELS
from mirage.core.seeding import stable_seed
from mirage.core.settings import GRPOSettings
from mirage.generation.models import load_model, load_tokenizer
from mirage.generation.prompts import check_prompt_format, drop_long_rows, training_prompt
from mirage.training.claims import Claim, get_claim
from mirage.training.cpu_engines import keep_vllm_cpu_weights
from mirage.training.rewards import EntropyMinReward, MajorityVoteReward, RewardRecorder, make_reward
from mirage.training.selection import candidate_pool, reference_steps
from mirage.training.trainer import claim_trainer_class, direct_tensorboard, grpo_config, training_rows
from mirage.verifiers.registry import get_verifier

log = logging.getLogger(__name__)


# -- run specifications ---------------------------------------------------------------------

@dataclass(frozen=True)
class RunOutputs:
    """What a GRPO job writes: the final model folder, its curves and its
    reward history (one row per scored completion)."""

    model_dir: str
    curves: str
    history: str


@dataclass(frozen=True, kw_only=True)
class GRPOJob:
    """What a GRPO job reads, writes and is set by; built by its adapter from
    the rule's input, params and output, and JSON-able (``mirage.training.launch`` hands
    it to each training process).

    ``model_path``: the base model's folder or hub id; ``problems_path``: the
    task's problems table (its train split is trained on); ``outputs``: what the
    job writes; ``grpo``: ``rl.grpo``; ``verifier``: the task's verifier name;
    ``seed``: the run's seed; ``prompt_format``: the model's (``chat``: TRL
    renders each prompt as a user message with the tokenizer's chat template,
    exactly as ``mirage.generation.prompts`` renders it for sampling); ``answer_fallback``:
    the task's grading fallback (``mirage.verifiers.registry``); ``load``: the model's load
    settings (``mirage.generation.models``; the policy's dtype is ``rl.grpo.model_dtype``);
    ``tracking``: experiment tracking (``tracking_settings``), None for none."""

    model_path: str
    problems_path: str
    outputs: RunOutputs
    grpo: GRPOSettings
    verifier: str
    seed: int
    prompt_format: str = "plain"
    answer_fallback: bool = False
    load: dict | None = None
    tracking: dict | None = None

    @classmethod
    def from_dict(cls, values: dict):
        values = dict(values)
        if isinstance(values["outputs"], dict):
            values["outputs"] = RunOutputs(**values["outputs"])
        values["grpo"] = GRPOSettings.from_dict(values["grpo"])
        return cls(**values)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class ClaimJob(GRPOJob):
    """A claim's run on one (base model, task, seed): ``claim`` names the
    registry entry (``mirage.training.claims``), ``claim_settings`` its
    ``rl.claim_settings`` entry; ``wrong_labels_path`` and ``selection_path``
    the tables the claims that need them train from; ``example``: which of the
    cell's selected examples a one-shot claim's run trains on (1 = the first)."""

    claim: str
    claim_settings: dict = field(default_factory=dict)
    wrong_labels_path: str | None = None
    selection_path: str | None = None
    example: int = 1


@dataclass(frozen=True, kw_only=True)
class ReferenceJob(GRPOJob):
    """One-Shot RLVR's reference run of a cell; ``one_shot``:
    ``rl.claim_settings.one_shot``."""

    one_shot: dict


@dataclass(frozen=True)
class Runtime:
    """How a job runs here, not what it computes: ``threads`` for torch;
    ``use_cpu`` (None: what the job was given, i.e. no visible GPU); its
    ``checkpoints`` folder (None: none kept) and the ``resume_key`` tying it to
    the job; more transformers ``TrainerCallback``s; ``time_limit``: checkpoints
    by the clock, and when to stop for the job's retry to resume
    (``mirage.core.checkpoints.TimeLimit``)."""

    threads: int = 1
    use_cpu: bool | None = None
    checkpoints: CheckpointDir | None = None
    resume_key: str = ""
    callbacks: tuple = ()
    time_limit: TimeLimit = TimeLimit()


@dataclass(frozen=True, kw_only=True)
class GRPORun:
    """One GRPO run of a job: the ``rows`` it trains on, the ``reward`` (a
    ``mirage.training.rewards`` name) with its settings, the ``grpo`` settings (the job's,
    or a variant of them), the advantages' ``polarity``, ``steps`` rollout
    batches (None: ``grpo.steps``) and ``summary``: more entries of ``run.json``."""

    job: GRPOJob
    rows: list[dict]
    reward: str
    reward_settings: dict
    grpo: GRPOSettings
    polarity: str = "both"
    steps: int | None = None
    summary: dict = field(default_factory=dict)

    @property
    def rollout_batches(self) -> int:
        return self.steps or self.grpo.steps


# -- the steps of a run -----------------------------------------------------------------------

@dataclass
class Trainer:
    """A built run: the trainer and what the run's end needs from the start."""

    trainer: object
    tokenizer: object
    recorder: RewardRecorder
    checkpoints: CheckpointDir
    resume_from: Path | None
    resumable: dict
    processes: int
    clock: object = None   # the time limit's callback (mirage.core.checkpoints.clock_callback), if any


def build_trainer(run: GRPORun, runtime: Runtime) -> Trainer:
    """Load the policy and tokenizer, build the reward and the trainer, and
    find the checkpoint a resumed run continues from."""
    import torch
    from datasets import Dataset
    from transformers import set_seed

    job, grpo = run.job, run.grpo
    torch.set_num_threads(runtime.threads)
    rank, processes = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    use_cpu = runtime.use_cpu
    if use_cpu is None:
        # what the job was given, not what the config asked for: a GPU granted by a
        # scheduler shows up here, a fake one (a test cluster's GRES) does not
        use_cpu = not torch.cuda.is_available()
    set_seed(job.seed)
    out = Path(job.outputs.model_dir)
    tokenizer = load_tokenizer(job.model_path, job.load)
    check_prompt_format(tokenizer, job.prompt_format, job.model_path)
    rows = [{**r, "prompt": training_prompt(r["prompt"], job.prompt_format)} for r in run.rows]
    checkpoints = runtime.checkpoints or CheckpointDir(out.with_name(f".{out.name}.checkpoints"), 0)
    # the trainer's arguments before the model: under DeepSpeed ZeRO-3 they make from_pretrained load
    # each process's shard only (zero3_init_flag), not the whole model in every process
    args = grpo_config(grpo, checkpoints, job.seed, use_cpu, run.steps, processes, job.tracking)
    if use_cpu and args.use_vllm:
        keep_vllm_cpu_weights()  # before TRL builds the colocated engine (mirage.training.cpu_engines)
    model = load_model(job.model_path, job.load, dtype=grpo.model_dtype)
    recorder = RewardRecorder()
    # each process draws its own stateful rewards (process 0 as a single process would)
    reward_seed = job.seed if rank == 0 else stable_seed(job.seed, "process", rank)
    reward = make_reward(run.reward, verifier=get_verifier(job.verifier, fallback=job.answer_fallback),
                         seed=reward_seed, recorder=recorder, num_generations=grpo.num_generations,
                         temperature=grpo.temperature, **run.reward_settings)
    # several processes: the launcher prepared the folder before starting them (mirage.training.launch)
    resume_from = checkpoints.prepare(runtime.resume_key) if processes == 1 else checkpoints.latest()
    resumable = {"reward": reward, "recorder": recorder}
    clock = clock_callback(runtime.time_limit, grpo.updates_per_rollout) if runtime.time_limit.active else None
    trainer = claim_trainer_class()(
        model=model, reward_funcs=[reward], args=args,
        train_dataset=Dataset.from_list(rows), processing_class=tokenizer, polarity=run.polarity,
        warmup_rollouts=grpo.warmup_steps, dynamic_sampling=grpo.dynamic_sampling.enabled,
        max_generation_batches=grpo.dynamic_sampling.max_generation_batches,
        callbacks=[resume_callback(resumable), *runtime.callbacks, *([clock] if clock else [])],
    )
    if job.tracking and job.tracking.get("logging_dir"):
        direct_tensorboard(trainer, job.tracking["logging_dir"])
    if isinstance(reward, EntropyMinReward):
        reward.bind(trainer.model, tokenizer, batch_size=trainer.args.per_device_train_batch_size,
                    autocast=trainer.accelerator.autocast)
    if isinstance(reward, MajorityVoteReward):
        reward.bind_vote_sampler(trainer.sample_votes)
    return Trainer(trainer, tokenizer, recorder, checkpoints, resume_from, resumable, processes, clock)


def train(built: Trainer) -> float:
    """Train (from the resumed checkpoint, if any); the seconds it took. Raises
    ``TimeLimitReached`` when the run stopped at its time limit after a checkpoint."""
    if built.resume_from is not None:
        load_extra_state(built.resume_from, built.resumable)
    start = time.perf_counter()
    built.trainer.train(resume_from_checkpoint=str(built.resume_from) if built.resume_from else None)
    if built.clock is not None and built.clock.stopped:
        state = built.trainer.state
        raise TimeLimitReached(
            f"stopped before the job's time limit (checkpoints.stop_before_limit) after checkpointing optimizer step "
            f"{state.global_step} of {state.max_steps} in {built.checkpoints.root}: run the job again (its retry, "
            "resources.train.retries) to resume from there")
    return time.perf_counter() - start


def write_run(run: GRPORun, built: Trainer, elapsed: float) -> None:
    """The curves and reward history (process 0), then the model folder with
    ``run.json``; the folder's rename is the last thing the job does."""
    rank = int(os.environ.get("RANK", "0"))
    trainer, steps = built.trainer, run.rollout_batches
    history = gathered_history(built.recorder.rows, built.processes)
    info = {**run.summary, "seed": run.job.seed, "trained": True, "train_seconds": round(elapsed, 1),
            "rollout_batches": steps, "optimizer_steps": trainer.state.global_step,
            "resumed_from_step": checkpoint_step(built.resume_from), "processes": built.processes,
            "distributed_type": str(trainer.accelerator.distributed_type.value),
            "parameter_share_held": held_parameter_share(trainer.model_wrapped),
            "training_problems": sorted({r["problem_id"] for r in run.rows})}
    if rank == 0:
        TRAINING_CURVES.write(training_curves(trainer.state.log_history, run.grpo.updates_per_rollout),
                              run.job.outputs.curves)
        REWARD_HISTORY.write(REWARD_HISTORY.frame(history), run.job.outputs.history)
    save_final_model(trainer, built.tokenizer, Path(run.job.outputs.model_dir), info)
    if rank == 0:
        built.checkpoints.finish()


def run_grpo(run: GRPORun, runtime: Runtime = Runtime()) -> None:
    """One GRPO run: build the trainer, train, write. With checkpoints, a run
    killed part-way and started again resumes from its last complete
    checkpoint and ends as an uninterrupted run would."""
    built = build_trainer(run, runtime)
    elapsed = train(built)
    log.info("%s: %d rollout batches (%d optimizer steps) in %.1f s", run.summary.get("claim", run.reward),
             run.rollout_batches, built.trainer.state.global_step, elapsed)
    write_run(run, built, elapsed)


def held_parameter_share(model) -> float:
    """The share of the model's parameters this process holds: 1 unsharded, about 1/N
    for N processes under ZeRO-3 (a partitioned parameter keeps its shard in ``ds_tensor``)
    or FSDP2 (a parameter is a DTensor whose local part is the shard)."""
    held = total = 0
    for param in model.parameters():
        total += getattr(param, "ds_numel", None) or param.numel()
        if hasattr(param, "ds_tensor"):
            held += param.ds_tensor.numel()
        elif hasattr(param, "to_local"):
            held += param.to_local().numel()
        else:
            held += param.numel()
    return round(held / total, 4) if total else 1.0


def gathered_history(rows: list[dict], processes: int) -> list[dict]:
    """The reward history of every process (each scored its share of each
    batch), in step order and, within a step, in the global batch's order."""
    if processes == 1:
        return rows
    from accelerate.utils import gather_object

    return sorted(gather_object(rows), key=lambda r: r["step"])


def save_final_model(trainer, tokenizer, out: Path, info: dict) -> None:
    """The trained model, its tokenizer and ``run.json``, as one folder renamed
    into place. Several processes or a sharding engine (ZeRO-3, FSDP2, even on
    one process): the engine gathers the weights on every process and process 0
    alone writes them."""
    rank, processes = process_rank()
    if processes == 1 and not (trainer.is_deepspeed_enabled or trainer.is_fsdp_enabled):
        with atomic_directory(out) as tmp:
            trainer.model.save_pretrained(str(tmp), safe_serialization=True)
            write_model_extras(tmp, tokenizer, info)
        return
    tmp = out.with_name(f".{out.name}.partial")
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    barrier()
    trainer.save_model(str(tmp))  # collective: every process takes part in gathering the weights
    barrier()
    if rank == 0:
        (tmp / "training_args.bin").unlink(missing_ok=True)  # the Trainer's pickle: not part of the model
        write_model_extras(tmp, tokenizer, info)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    barrier()


def write_model_extras(folder: Path, tokenizer, info: dict) -> None:
    tokenizer.save_pretrained(str(folder))
    (folder / "run.json").write_text(json.dumps(info, indent=1))


def prompt_limited(problems: pl.DataFrame, job: GRPOJob) -> tuple[pl.DataFrame, int]:
    """The training problems whose prompt fits ``rl.grpo.max_prompt_tokens`` as the
    job's model sees it, and how many did not (``mirage.generation.prompts.drop_long_rows``)."""
    if job.grpo.max_prompt_tokens is None:
        return problems, 0
    return drop_long_rows(problems, load_tokenizer(job.model_path, job.load), job.prompt_format,
                          job.grpo.max_prompt_tokens, model=job.model_path)


def claim_rows(job: ClaimJob, claim: Claim) -> tuple[list[dict], int]:
    """A claim job's training rows (``training_rows``) from the tables it reads, and
    how many training problems were left out for their prompt's length."""
    problems = PROBLEMS.read(job.problems_path).filter(pl.col("split") == "train")
    problems, dropped = prompt_limited(problems, job)
    labels = WRONG_LABELS.read(job.wrong_labels_path) if claim.needs_wrong_labels else None
    selection = CANDIDATE_RANKING.read(job.selection_path) if claim.needs_example_selection else None
    return training_rows(problems, claim, job.grpo.prompts_per_generation, labels, selection,
                         job.claim_settings.get("k"), job.example), dropped


def train_claim(job: ClaimJob, runtime: Runtime = Runtime()) -> None:
    """One claim's GRPO run on one (base model, task, seed): its training rows
    (see ``training_rows``), its reward, its polarity. A claim with no training
    row in this cell (``incorrect_label`` where the base model's majority answer
    is right on every problem) is not trained: the job writes the base model
    with ``"trained": false`` and the reason in ``run.json``, empty curves and
    history, and the claims table leaves the run out."""
    claim = get_claim(job.claim)
    rows, dropped = claim_rows(job, claim)
    if not rows:
        if claim.needs_wrong_labels:
            reason = ("the base model's majority answer is right on every training problem: no problem to train on"
                      + (f" ({dropped} more left out for their prompt's length)" if dropped else ""))
        else:
            reason = f"all {dropped} training prompts are longer than rl.grpo.max_prompt_tokens"
        log.warning("%s: not trained: %s", claim.name, reason)
        write_untrained_run(job, {"claim": claim.name, "seed": job.seed, "trained": False, "reason": reason,
                                  "prompts_over_limit": dropped})
        return
    # RLVR-Decomposed's advantages give all-wrong groups a gradient: filtering them out
    # (dynamic sampling) would remove exactly what this variant differs on
    grpo = job.grpo.without_dynamic_sampling() if claim.polarity.endswith("_raw") else job.grpo
    run_grpo(GRPORun(job=job, rows=rows, reward=claim.reward, reward_settings=job.claim_settings, grpo=grpo,
                     polarity=claim.polarity, summary={"claim": claim.name, "prompts_over_limit": dropped}), runtime)


def write_untrained_run(job: GRPOJob, summary: dict) -> None:
    """The outputs of a run that did not train: the base model as its final
    model, no curves, no reward history."""
    TRAINING_CURVES.write(TRAINING_CURVES.frame([]), job.outputs.curves)
    REWARD_HISTORY.write(REWARD_HISTORY.frame([]), job.outputs.history)
    with atomic_directory(Path(job.outputs.model_dir)) as tmp:
        # the base model as it is stored: in its own dtype
        load_model(job.model_path, job.load, dtype="auto").save_pretrained(str(tmp), safe_serialization=True)
        load_tokenizer(job.model_path, job.load, padding_side=None).save_pretrained(str(tmp))
        (tmp / "run.json").write_text(json.dumps({**summary, "training_problems": []}, indent=1))


def reference_run(job: ReferenceJob, runtime: Runtime = Runtime()) -> None:
    """One-Shot RLVR's reference run: ground-truth GRPO on a seeded pool of
    ``one_shot.candidates`` training problems, for enough rollout batches that
    every candidate is visited at least ``one_shot.min_visits`` times; its reward
    history ranks the candidates (``select_examples``). Dynamic sampling is off
    here: a refill would change how often each candidate is visited."""
    problems = PROBLEMS.read(job.problems_path).filter(pl.col("split") == "train")
    problems, dropped = prompt_limited(problems, job)
    pool = candidate_pool(problems["problem_id"].to_list(), job.one_shot["candidates"],
                          stable_seed(job.seed, "one-shot-pool"))
    rows = problems.filter(pl.col("problem_id").is_in(pool)).sort("problem_id").select("prompt", "answer", "problem_id")
    run_grpo(GRPORun(job=job, rows=rows.to_dicts(), reward="ground_truth", reward_settings={},
                     grpo=job.grpo.without_dynamic_sampling(), steps=reference_steps(job.grpo, job.one_shot),
                     summary={"claim": "one_shot_reference", "candidates": pool,
                              "prompts_over_limit": dropped}), runtime)


CURVE_METRICS = {
    "reward": "reward",
    "reward_std": "reward_std",
    "frac_reward_zero_std": "frac_reward_zero_std",
    "entropy": "entropy",
    "clip_ratio": "clip_ratio/region_mean",
    "clip_ratio_low": "clip_ratio/low_mean",
    "clip_ratio_high": "clip_ratio/high_mean",
    "completion_length": "completions/mean_length",
    "grad_norm": "grad_norm",
    "learning_rate": "learning_rate",
    "filtered_share": "dynamic_sampling/filtered_share",
    "generation_batches": "dynamic_sampling/generation_batches",
    "filled_share": "dynamic_sampling/filled_share",
}


def training_curves(log_history: list[dict], updates_per_rollout: int = 1) -> pl.DataFrame:
    """One row per optimizer step; ``rollout`` is its rollout batch (0-based)."""
    rows = []
    for entry in log_history:
        if "loss" not in entry:  # the end-of-training summary
            continue
        step = int(entry["step"])
        row = {"step": step, "rollout": (step - 1) // updates_per_rollout}
        for name, key in CURVE_METRICS.items():
            value = entry.get(key)
            row[name] = float(value) if value is not None else None
        rows.append(row)
    return TRAINING_CURVES.frame(rows)
