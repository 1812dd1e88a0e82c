"""RL training of one claim on one (base model, task, seed) with TRL's GRPOTrainer.

Every claim runs through the same trainer; a claim only chooses the reward, the
training problems and the polarity of the advantages (see ``mirage.claims``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from mirage.atomic import atomic_directory
from mirage.checkpoints import (CheckpointDir, TimeLimit, TimeLimitReached, barrier, checkpoint_step, clock_callback,
                                load_extra_state, process_rank, resume_callback)
from mirage.claims import Claim, get_claim
from mirage.cpu_engines import enable_fsdp_on_cpu, keep_vllm_cpu_weights
from mirage.dynamic_sampling import DynamicSamplingMixin
from mirage.logprobs import PromptIdsMixin
from mirage.models import load_model, load_tokenizer
from mirage.prompts import check_prompt_format, drop_long_rows, training_prompt
from mirage.rewards import EntropyMinReward, MajorityVoteReward, RewardRecorder, make_reward
from mirage.schemas import CANDIDATE_RANKING, PROBLEMS, REWARD_HISTORY, TRAINING_CURVES, WRONG_LABELS
from mirage.seeding import stable_seed
from mirage.selection import candidate_pool, chosen_examples, reference_steps
from mirage.settings import GRPOSettings
from mirage.verify import get_verifier

log = logging.getLogger(__name__)


# -- polarity (RQ3) ---------------------------------------------------------------------------

def select_by_polarity(advantages, rewards, polarity: str):
    """NSR keeps the group-normalised advantage only where reward < 1, PSR only
    where reward > 0; the other samples get advantage 0 (no gradient). The
    ``_raw`` polarities are RLVR-Decomposed's: the advantage is r - 1 (negative)
    or r (positive) on the kept samples, without group normalisation."""
    if polarity == "both":
        return advantages
    if polarity in ("negative", "negative_raw"):
        keep = rewards < 1
    elif polarity in ("positive", "positive_raw"):
        keep = rewards > 0
    else:
        raise ValueError(f"unknown polarity {polarity!r}")
    if polarity == "negative_raw":
        advantages = rewards - 1
    elif polarity == "positive_raw":
        advantages = rewards.clone()
    return advantages * keep.to(advantages.dtype)


def epoch_replaying_sampler_class():
    """TRL's RepeatSampler draws each epoch's order from one generator that a
    resumed run starts afresh: resumed in epoch e it would replay epoch 0's
    order. This one, told its epoch, replays the draws of epochs 0..e-1 first,
    so every epoch gets the order an uninterrupted run gives it."""
    import torch
    from trl.trainer.utils import RepeatSampler

    class EpochReplayingSampler(RepeatSampler):
        def set_epoch(self, epoch: int) -> None:
            if not self.shuffle or self.seed is None:
                return
            self.generator.manual_seed(self.seed)
            for _ in range(epoch):
                torch.randperm(self.num_samples, generator=self.generator)

    return EpochReplayingSampler


def claim_trainer_class():
    """GRPOTrainer with one hook, ``select_advantages``, applied to every
    generation batch after TRL computed its group-normalised advantages, and a
    training sampler that keeps a resumed run's data order."""
    from trl import GRPOTrainer

    class ClaimGRPOTrainer(PromptIdsMixin, DynamicSamplingMixin, GRPOTrainer):
        def __init__(self, *args, polarity: str = "both", warmup_rollouts: int = 0, **kwargs):
            self.warmup_rollouts = warmup_rollouts
            super().__init__(*args, **kwargs)
            if self.use_vllm and self.args.vllm_mode == "colocate":
                # TRL seeds each process (seed + process index), then builds the colocated engine, whose
                # worker re-seeds Python's, NumPy's and torch's global generators with the process index
                # alone (vllm.LLM(seed=process_index)): every run seed would sample from the same stream.
                # TRL's own seeding, again:
                from accelerate.utils import set_seed

                set_seed(self.args.seed, device_specific=True)
            self.polarity = polarity
            self._batch_rewards = None

        @property
        def updates_per_rollout(self) -> int:
            """Optimizer steps per rollout (generation) batch: TRL's
            steps_per_generation counts forward/backward passes (micro-batches),
            gradient_accumulation_steps of which make one optimizer step."""
            return self.args.steps_per_generation * self.args.num_iterations // self.args.gradient_accumulation_steps

        def create_accelerator_and_postprocess(self):
            super().create_accelerator_and_postprocess()
            if self.args.use_cpu:
                enable_fsdp_on_cpu(self)  # accelerate ignores FSDP on the CPU (mirage.cpu_engines)

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            """verl steps its scheduler once per rollout batch: the learning rate
            is constant within a batch, and the warm-up counts rollout batches
            (transformers' constant-with-warm-up formula, on the batch index)."""
            if self.lr_scheduler is None:
                self.lr_scheduler = rollout_lr_scheduler(optimizer or self.optimizer, self.warmup_rollouts,
                                                         self.updates_per_rollout)
                self._created_lr_scheduler = True
            return self.lr_scheduler

        def sample_votes(self, prompts: list, n: int) -> list[str]:
            """``n`` more completions per prompt (adjacent), sampled by the
            trainer's own generation path (vLLM or transformers) with the
            current weights: the extra votes of the majority-vote reward."""
            repeated = [p for p in prompts for _ in range(n)]
            prompt_ids, images, fields = self._tokenize_prompts(repeated)
            completion_ids, _ = self._generate_single_turn(prompt_ids, images, fields, n)
            return self.processing_class.batch_decode(completion_ids, skip_special_tokens=True)

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._batch_rewards = rewards_per_func.nansum(dim=1)
            return rewards_per_func

        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            n = len(output["advantages"])
            start = self.accelerator.process_index * n
            rewards = self._batch_rewards[start:start + n].to(output["advantages"].device)
            output["advantages"] = self.select_advantages(output["advantages"], rewards)
            return output

        def select_advantages(self, advantages, rewards):
            return select_by_polarity(advantages, rewards, self.polarity)

        def _compute_loss(self, model, inputs):
            """The loss of one micro-batch, on its own completion width: TRL pads a
            process's whole generation batch to its longest completion; the trailing
            columns every row of this micro-batch has masked are cut first (causal
            attention: they change nothing before them)."""
            return super()._compute_loss(model, trim_completion_padding(inputs))

        def _get_train_sampler(self, dataset=None):
            sampler = super()._get_train_sampler(dataset)
            return epoch_replaying_sampler_class()(
                data_source=sampler.data_source, mini_repeat_count=sampler.mini_repeat_count,
                batch_size=sampler.batch_size, repeat_count=sampler.repeat_count, shuffle=sampler.shuffle,
                seed=sampler.seed)

    return ClaimGRPOTrainer


def trim_completion_padding(inputs: dict) -> dict:
    """A micro-batch of TRL's (prompt ids left-padded, completion ids right-padded)
    without the completion columns that are padding in every row: each per-token
    field (a tensor whose first two dimensions are the completion mask's) is cut to
    the micro-batch's longest completion. Nothing to cut: ``inputs`` as they are."""
    mask = inputs["completion_mask"]
    if "tool_mask" in inputs:
        mask = mask * inputs["tool_mask"]
    used = mask.any(dim=0).nonzero()
    width = int(used.max()) + 1 if used.numel() else 1
    if width >= mask.size(1):
        return inputs
    shape = tuple(mask.shape)
    return {key: value[:, :width] if hasattr(value, "dim") and value.dim() >= 2 and tuple(value.shape[:2]) == shape
            else value for key, value in inputs.items()}


def rollout_lr_scheduler(optimizer, warmup_rollouts: int, updates_per_rollout: int):
    """Learning-rate factor of optimizer step s: rollout batch b = s // updates
    warms up as b / warmup (0 in the first batch, as transformers and verl do)
    and is 1 from batch ``warmup_rollouts`` on."""
    from torch.optim.lr_scheduler import LambdaLR

    def factor(step: int) -> float:
        batch = step // updates_per_rollout
        return 1.0 if batch >= warmup_rollouts else batch / warmup_rollouts

    return LambdaLR(optimizer, factor)


# -- training data (RQ2) --------------------------------------------------------------------------

def training_rows(problems: pl.DataFrame, claim: Claim, min_rows: int, labels: pl.DataFrame | None = None,
                  selection: pl.DataFrame | None = None, few_shot_k: int | None = None,
                  example: int = 1) -> list[dict]:
    """The rows a claim trains on: every training problem; for
    ``incorrect_label`` only those whose base-model majority answer is wrong
    (labelled with it); for one/few-shot claims the chosen examples, repeated to
    fill at least ``min_rows`` rows (one generation batch), as in One-Shot RLVR
    (``example``: which of the cell's selected one-shot examples)."""
    df = problems
    if labels is not None:
        # none at all where the base model's majority answer is right on every problem
        wrong = labels.filter(pl.col("majority_wrong"))
        df = df.join(wrong.select("problem_id", "wrong_label"), on="problem_id", how="inner")
    if claim.needs_example_selection:
        chosen = chosen_examples(selection, claim.name, few_shot_k, example)
        log.info("%s: training on %s", claim.name, chosen)
        df = df.filter(pl.col("problem_id").is_in(chosen)).sort("problem_id")
        df = pl.concat([df] * max(1, -(-min_rows // df.height)))
    cols = ["prompt", "answer", "problem_id"] + (["wrong_label"] if labels is not None else [])
    return df.select(cols).to_dicts()


# -- the run ----------------------------------------------------------------------------------

TRACKING_ROOT = "results/tracking"


def direct_tensorboard(trainer, logging_dir: str) -> None:
    """Point the trainer's TensorBoard callback at ``logging_dir`` (transformers 5
    has no ``logging_dir`` argument; its callback opens its writer at the start of
    training, in the folder its ``logging_dir`` names)."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = logging_dir


def tracking_settings(report_to: str, model: str, task: str, claim: str, seed: int | str) -> dict | None:
    """The GRPOConfig arguments of a run's experiment tracking (``rl.report_to``):
    None for ``none``; else the run is named ``{model}-{task}-{claim}-seed{seed}``
    and a tensorboard run writes its event files to
    ``results/tracking/{model}/{task}/{claim}/seed{seed}`` (beside the study's
    results, not inside a model folder: event files carry wall-clock times)."""
    if report_to == "none":
        return None
    return {"report_to": report_to, "run_name": f"{model}-{task}-{claim}-seed{seed}",
            "logging_dir": f"{TRACKING_ROOT}/{model}/{task}/{claim}/seed{seed}"}


def vllm_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def grpo_config(grpo: GRPOSettings, checkpoints: CheckpointDir, seed: int, use_cpu: bool, steps: int | None = None,
                processes: int = 1, tracking: dict | None = None):
    """GRPOConfig from the config's ``rl.grpo`` section. ``rl.grpo.steps``,
    ``warmup_steps`` and ``checkpoints.rl_every`` count rollout batches, as the
    released verl run counts them; TRL counts optimizer steps, so each is
    multiplied by the optimizer steps per rollout batch (the warm-up itself is
    applied per rollout batch by ``rollout_lr_scheduler``). ``rl.grpo.steps_per_generation``
    optimizer steps per generation batch: the updates after the first are
    off-policy, which is what makes clipping act. Each optimizer step accumulates
    its mini-batch over gradient_accumulation_steps micro-batches of
    ``rl.grpo.micro_batch_size`` sequences per process (``GRPOSettings.batch_split``);
    TRL's own ``steps_per_generation`` counts those micro-batches, so it is
    ``rl.grpo.steps_per_generation`` x the accumulation steps. TRL's ``dapo``,
    ``grpo`` and ``dr_grpo`` losses are normalised per mini-batch, so the
    gradient of a step does not depend on the micro-batch (up to float
    reduction order); ``bnpo`` averages per micro-batch.
    ``steps``: rollout batches, overriding ``rl.grpo.steps`` (the reference run).
    ``processes``: the job's training processes; each holds 1/processes of every
    mini-batch, so the global batch is the configured one whatever their number.
    ``tracking``: where the run reports (``tracking_settings``); none by default."""
    from trl import GRPOConfig

    micro_batch, accumulation = grpo.batch_split(processes)
    per_rollout = grpo.updates_per_rollout
    saving = checkpoints.trainer_args()
    if "save_steps" in saving:
        saving["save_steps"] *= per_rollout  # checkpoints fall between rollout batches
    return GRPOConfig(
        **saving,
        max_steps=(steps or grpo.steps) * per_rollout,
        per_device_train_batch_size=micro_batch,
        steps_per_generation=grpo.steps_per_generation * accumulation,
        gradient_accumulation_steps=accumulation,
        num_generations=grpo.num_generations,
        num_iterations=grpo.num_iterations,
        learning_rate=grpo.learning_rate,
        lr_scheduler_type="constant_with_warmup",  # replaced by rollout_lr_scheduler (same shape, per rollout batch)
        warmup_steps=grpo.warmup_steps * per_rollout,
        weight_decay=grpo.weight_decay,
        max_grad_norm=grpo.max_grad_norm,
        adam_epsilon=grpo.adam_epsilon,
        epsilon=grpo.epsilon,
        epsilon_high=grpo.epsilon_high,
        beta=grpo.beta,
        loss_type=grpo.loss_type,
        scale_rewards=grpo.scale_rewards,
        temperature=grpo.temperature,
        top_p=grpo.top_p,
        max_completion_length=grpo.max_completion_length,
        delta=grpo.delta,
        mask_truncated_completions=grpo.mask_truncated_completions,
        # on the CPU only where vLLM's CPU build is installed (the GPU path's rehearsal, mirage.cpu_engines)
        use_vllm=grpo.use_vllm and (not use_cpu or vllm_installed()),
        vllm_mode=grpo.vllm_mode,
        vllm_gpu_memory_utilization=grpo.vllm_gpu_memory_utilization,
        # verl as released has no correction between the rollout engine's and the trainer's log-probs
        vllm_importance_sampling_correction=grpo.vllm_importance_sampling_correction,
        vllm_max_model_length=grpo.vllm_max_model_length,
        vllm_tensor_parallel_size=grpo.vllm_tensor_parallel_size,
        vllm_enable_sleep_mode=grpo.vllm_enable_sleep_mode,
        gradient_checkpointing=grpo.gradient_checkpointing,
        ddp_backend="gloo" if use_cpu and processes > 1 else None,
        # TRL 1.16 defaults that equal the released run's settings, stated so that a TRL upgrade
        # cannot change them silently: plain temperature / top-p sampling, token-level ratios,
        # every token in the loss, no entropy term, a shuffled data order
        top_k=0,
        min_p=None,
        repetition_penalty=1.0,
        importance_sampling_level="token",
        top_entropy_quantile=1.0,
        entropy_coef=0.0,
        off_policy_mask_threshold=None,
        cast_lm_head_to_fp32=False,
        shuffle_dataset=True,
        use_cpu=use_cpu,
        bf16=not use_cpu,  # bf16 autocast on the CPU is slower than float32
        report_to=(tracking or {}).get("report_to", "none"),
        run_name=(tracking or {}).get("run_name"),
        logging_steps=1,
        seed=seed,
        data_seed=seed,
        disable_dropout=True,
    )


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
    the rule's input, params and output, and JSON-able (``mirage.launch`` hands
    it to each training process).

    ``model_path``: the base model's folder or hub id; ``problems_path``: the
    task's problems table (its train split is trained on); ``outputs``: what the
    job writes; ``grpo``: ``rl.grpo``; ``verifier``: the task's verifier name;
    ``seed``: the run's seed; ``prompt_format``: the model's (``chat``: TRL
    renders each prompt as a user message with the tokenizer's chat template,
    exactly as ``mirage.prompts`` renders it for sampling); ``answer_fallback``:
    the task's grading fallback (``mirage.verify``); ``load``: the model's load
    settings (``mirage.models``; the policy's dtype is ``rl.grpo.model_dtype``);
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
    registry entry (``mirage.claims``), ``claim_settings`` its
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
    (``mirage.checkpoints.TimeLimit``)."""

    threads: int = 1
    use_cpu: bool | None = None
    checkpoints: CheckpointDir | None = None
    resume_key: str = ""
    callbacks: tuple = ()
    time_limit: TimeLimit = TimeLimit()


@dataclass(frozen=True, kw_only=True)
class GRPORun:
    """One GRPO run of a job: the ``rows`` it trains on, the ``reward`` (a
    ``mirage.rewards`` name) with its settings, the ``grpo`` settings (the job's,
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
    clock: object = None   # the time limit's callback (mirage.checkpoints.clock_callback), if any


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
        keep_vllm_cpu_weights()  # before TRL builds the colocated engine (mirage.cpu_engines)
    model = load_model(job.model_path, job.load, dtype=grpo.model_dtype)
    recorder = RewardRecorder()
    # each process draws its own stateful rewards (process 0 as a single process would)
    reward_seed = job.seed if rank == 0 else stable_seed(job.seed, "process", rank)
    reward = make_reward(run.reward, verifier=get_verifier(job.verifier, fallback=job.answer_fallback),
                         seed=reward_seed, recorder=recorder, num_generations=grpo.num_generations,
                         temperature=grpo.temperature, **run.reward_settings)
    # several processes: the launcher prepared the folder before starting them (mirage.launch)
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
    job's model sees it, and how many did not (``mirage.prompts.drop_long_rows``)."""
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
