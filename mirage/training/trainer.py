"""TRL's GRPOTrainer as every claim uses it: the trainer subclass (advantage polarity,
dynamic sampling, prompt ids), its GRPOConfig built from the config's settings, a claim's
training rows and the run's tracking. Every claim runs through the same trainer; a claim only
chooses the reward, the training problems and the polarity of the advantages
(see ``mirage.training.claims``); a run's steps are mirage.training.runs."""

from __future__ import annotations

import logging

import polars as pl

from mirage.core.checkpoints import CheckpointDir
from mirage.core.settings import GRPOSettings
from mirage.training.claims import Claim
from mirage.training.cpu_engines import enable_fsdp_on_cpu
from mirage.training.dynamic_sampling import DynamicSamplingMixin
from mirage.training.logprobs import PromptIdsMixin
from mirage.training.selection import chosen_examples

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
                enable_fsdp_on_cpu(self)  # accelerate ignores FSDP on the CPU (mirage.training.cpu_engines)

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
        # on the CPU only where vLLM's CPU build is installed (the GPU path's rehearsal, mirage.training.cpu_engines)
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
