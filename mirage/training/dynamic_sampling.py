"""Dynamic sampling (DAPO's "filter groups") for TRL's GRPOTrainer, as the
released code of the study runs it (verl's DAPO trainer with
``algorithm.filter_groups.enable=True, max_num_gen_batches=2``).

Each rollout batch needs ``prompts_per_generation`` groups (a prompt with its
``num_generations`` completions). After a generation batch is scored, the groups
whose rewards all agree (zero spread: no GRPO signal) are dropped, and the next
generation batch of the training data is generated and scored, until the kept
(informative) groups fill the batch or ``max_generation_batches`` generation
batches (the first one included) were used. Then:

* enough informative groups: the first ``prompts_per_generation`` of them, in
  the order generated, are the batch (verl: ``batch[:traj_bsz]``; surplus groups
  of the last generation batch are discarded);
* budget spent, some informative groups: they are repeated in turn (k1, k2, ...,
  km, k1, k2, ...) up to the batch size. This is what the *released* trainer
  does (``src/dapo_ray_trainer.py``: "Repeating existing data to fill batch
  size"); upstream verl raises an error instead;
* budget spent, no informative group at all: the last generation batch is used
  unfiltered (released code, same place). All its advantages are zero.

The batch keeps its size, so TRL's buffering (one generation batch split into
``steps_per_generation`` optimizer steps) is unchanged. Each kept group keeps the
group-normalised advantages TRL computed for it within its own generation batch
(``scale_rewards`` "group" or "none" depend on the group only; verl recomputes
them on the assembled batch, where a repeated group is one group of 2n samples
with the same mean and a slightly different unbiased std). Advantage hooks of a
host class (mirage's polarity) see the assembled batch and its rewards.

Data order: the trainer's dataloader still runs (it counts epochs), but the
prompts generated come from the mixin's own walk through the trainer's sampler
(``_get_train_sampler``: same class, same seed, same epochs), one generation
batch after another, as verl's loop consumes its dataloader. Without any
dropped group this is exactly the trainer's own data order (a run where every
group is informative equals a run without dynamic sampling, bit for bit); a
refill takes the next generation batch of that order, so later rollout batches
start where the refill stopped. How many generation batches were drawn is kept
in ``trainer.state`` (saved in every checkpoint), so a resumed run draws what
the uninterrupted one would.

Every generated completion is scored exactly once, by the same reward call as
without dynamic sampling (one call per generation batch). TRL's own metrics
(``reward``, ``frac_reward_zero_std``, completions/...) describe all generated
completions of a rollout batch (averaged over its generation batches).

Logged per optimizer step (the rollout batch the step trains on), into TRL's
metrics and so into ``trainer.state.log_history``:

* ``dynamic_sampling/filtered_share``: share of the generated groups whose
  rewards all agreed (dropped);
* ``dynamic_sampling/generation_batches``: generation batches used;
* ``dynamic_sampling/filled_share``: share of the batch's groups that are not
  distinct informative groups (repeats, or the unfiltered fallback): 0 when the
  budget sufficed.

Several processes: the decision is global (rewards are gathered by TRL; every
process draws the same global generation batches and takes its slice, as
accelerate shards the trainer's dataloader), and the assembled batch is
gathered, padded and re-sliced across processes. Not supported (an error at
construction or at the first merge): multimodal inputs, iterable datasets,
``scale_rewards="batch"`` and ``multi_objective_aggregation="normalize_then_sum"``
(their advantages depend on the whole generation batch).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

STATE_KEY = "DynamicSampling"  # the entry in trainer.state.stateful_callbacks
METRIC_PREFIX = "dynamic_sampling/"
FILTERED_SHARE = METRIC_PREFIX + "filtered_share"
GENERATION_BATCHES = METRIC_PREFIX + "generation_batches"
FILLED_SHARE = METRIC_PREFIX + "filled_share"

# how each field of TRL's batch is padded along its second dimension when
# groups of different generation batches (or processes) are put together
_PADDING = {
    "prompt_ids": ("left", "pad"),
    "prompt_mask": ("left", 0),
    "completion_ids": ("right", "pad"),
    "completion_mask": ("right", 0),
    "tool_mask": ("right", 1),
    "old_per_token_logps": ("right", 0.0),
    "ref_per_token_logps": ("right", 0.0),
    "sampling_per_token_logps": ("right", 0.0),
    "importance_sampling_ratio": ("right", 1.0),
    "advantages": ("right", 0.0),
}


def informative_groups(rewards, group_size: int) -> list[bool]:
    """Per group of ``group_size`` adjacent rewards: whether they disagree
    (at least two scored rewards, not all equal). NaN marks an unscorable
    completion and is ignored."""
    import torch

    out = []
    for group in rewards.view(-1, group_size):
        scored = group[~torch.isnan(group)]
        out.append(bool(scored.numel() >= 2 and scored.max() > scored.min()))
    return out


def assemble_groups(kept: list, target: int, last_batch: list) -> tuple[list, int]:
    """The groups of one rollout batch, from the informative groups ``kept`` (in
    the order generated) and the groups of the last generation batch; returns
    (groups, how many of them are not distinct informative groups)."""
    if len(kept) >= target:
        return kept[:target], 0
    if kept:
        return [kept[i % len(kept)] for i in range(target)], target - len(kept)
    return list(last_batch), target


def _pad(tensor, width: int, side: str, value):
    import torch.nn.functional as F

    missing = width - tensor.size(1)
    if missing <= 0:
        return tensor
    return F.pad(tensor, (missing, 0) if side == "left" else (0, missing), value=value)


class _GenerationBatchStream:
    """The global generation batches of the trainer's data order: dataset
    indices, each prompt's index ``num_generations`` times in a row. The
    trainer's dataloader reads ``repeat_count`` (steps_per_generation x
    num_iterations) identical batches per generation batch; this reads one."""

    def __init__(self, sampler, batch_size: int, repeat_count: int):
        self.sampler = sampler
        self.batch_size = batch_size
        self.stride = batch_size * repeat_count
        self.drawn = 0
        self._batches = self._walk()

    def _walk(self):
        epoch = 0
        while True:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            indices = list(self.sampler)
            epoch += 1
            if len(indices) < self.stride:
                raise ValueError("dynamic sampling: the training set holds less than one generation batch")
            for start in range(0, len(indices) - self.stride + 1, self.stride):
                yield indices[start:start + self.batch_size]

    def next(self) -> list[int]:
        self.drawn += 1
        return next(self._batches)

    def skip(self, n: int) -> None:
        for _ in range(n):
            self.next()


class DynamicSamplingMixin:
    """Put before ``GRPOTrainer`` in a trainer's bases. Constructor keywords:
    ``dynamic_sampling`` (off by default: then the trainer is GRPOTrainer,
    unchanged) and ``max_generation_batches`` (>= 1; verl's
    ``max_num_gen_batches``, counting the first generation batch)."""

    def __init__(self, *args, dynamic_sampling: bool = False, max_generation_batches: int = 2, **kwargs):
        self.dynamic_sampling = bool(dynamic_sampling)
        self.max_generation_batches = int(max_generation_batches)
        self._ds_stream = None
        self._ds_rewards_per_func = None
        self._ds_round = None
        super().__init__(*args, **kwargs)
        if self.dynamic_sampling:
            self._check_dynamic_sampling()

    def _check_dynamic_sampling(self) -> None:
        from torch.utils.data import IterableDataset

        if self.max_generation_batches < 1:
            raise ValueError(f"dynamic sampling: max_generation_batches must be >= 1, "
                             f"got {self.max_generation_batches}")
        if self.multi_objective_aggregation != "sum_then_normalize" or self.scale_rewards not in ("group", "none"):
            raise ValueError("dynamic sampling needs group-wise advantages: scale_rewards 'group' or 'none' and "
                             "multi_objective_aggregation 'sum_then_normalize'")
        if isinstance(self.train_dataset, IterableDataset):
            raise ValueError("dynamic sampling draws prompts by index: an iterable training dataset is not supported")

    # -- the data stream ------------------------------------------------------------------------

    def train(self, *args, **kwargs):
        self._ds_stream = None  # rebuilt at the first generation, from the (possibly resumed) state
        return super().train(*args, **kwargs)

    def _ds_dataset(self):
        dataset = self.train_dataset
        try:
            import datasets

            if isinstance(dataset, datasets.Dataset):
                dataset = self._remove_unused_columns(dataset, description="training")
        except ImportError:  # pragma: no cover
            pass
        return dataset

    def _ds_draw(self) -> list[dict]:
        """This process's rows of the next global generation batch."""
        if self._ds_stream is None:
            dataset = self._ds_dataset()
            self._ds_data = dataset
            self._ds_stream = _GenerationBatchStream(
                self._get_train_sampler(dataset), self.args.generation_batch_size,
                self.args.steps_per_generation * self.num_iterations)
            saved = (self.state.stateful_callbacks or {}).get(STATE_KEY)
            if saved:
                self._ds_stream.skip(int(saved["attributes"]["generation_batches_drawn"]))
        indices = self._ds_stream.next()
        self.state.stateful_callbacks[STATE_KEY] = {
            "args": {}, "attributes": {"generation_batches_drawn": self._ds_stream.drawn}}
        local = len(indices) // self.accelerator.num_processes
        start = self.accelerator.process_index * local
        indices = [int(i) for i in indices[start:start + local]]
        if hasattr(self._ds_data, "__getitems__"):
            return list(self._ds_data.__getitems__(indices))
        return [self._ds_data[i] for i in indices]

    # -- generation, filtering and assembly ------------------------------------------------------

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        if self.dynamic_sampling:
            self._ds_rewards_per_func = rewards_per_func  # all processes' rows (TRL gathers them)
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        if not self.dynamic_sampling or not self.model.training:
            return super()._generate_and_score_completions(inputs)
        # The trainer's batch ``inputs`` is not used: the stream holds the same data
        # order, and keeps it after refills have consumed more of it.
        n = self.num_generations
        target = self.args.generation_batch_size // n
        batches, rewards, kept = [], [], []
        while True:
            output = super()._generate_and_score_completions(self._ds_draw())
            k = len(batches)
            batches.append(self._ds_gather(output))
            rewards.append(self._ds_rewards_per_func)
            flags = informative_groups(self._ds_summed_rewards(self._ds_rewards_per_func), n)
            kept += [(k, g) for g, keep in enumerate(flags) if keep]
            if len(kept) >= target or len(batches) >= self.max_generation_batches:
                break
        informative = len(kept)
        groups, filled = assemble_groups(kept, target, [(len(batches) - 1, g) for g in range(target)])
        generated = target * len(batches)
        self._ds_round = {
            FILTERED_SHARE: (generated - informative) / generated,
            GENERATION_BATCHES: float(len(batches)),
            FILLED_SHARE: filled / target,
        }
        log.debug("dynamic sampling at step %d: %d of %d generated groups informative, %d generation batches",
                  self.state.global_step, informative, generated, len(batches))
        return self._ds_assemble(batches, rewards, groups, n)

    def _ds_summed_rewards(self, rewards_per_func):
        """The reward TRL normalises (weighted sum over the reward functions; NaN
        where every function returned None)."""
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        summed = (rewards_per_func * weights).nansum(dim=1)
        summed[rewards_per_func.isnan().all(dim=1)] = float("nan")
        return summed

    def _ds_gather(self, output: dict) -> dict:
        """All processes' rows of one generation batch (padded to one width)."""
        acc = self.accelerator
        pad_id = self._ds_pad_id()
        out = {}
        for key, value in output.items():
            if key == "num_items_in_batch":
                continue
            if key not in _PADDING or value is None or not hasattr(value, "dim"):
                if value is None:
                    continue
                raise NotImplementedError(f"dynamic sampling cannot assemble the batch field {key!r} "
                                          "(multimodal and tool fields are not supported)")
            side, fill = _PADDING[key]
            fill = pad_id if fill == "pad" else fill
            if value.dim() > 1 and acc.num_processes > 1:
                value = acc.pad_across_processes(value, dim=1, pad_index=fill, pad_first=side == "left")
            out[key] = acc.gather(value) if acc.num_processes > 1 else value
        return out

    def _ds_pad_id(self) -> int:
        tokenizer = getattr(self, "_tokenizer", None) or self.processing_class
        tokenizer = getattr(tokenizer, "tokenizer", tokenizer)
        return tokenizer.pad_token_id

    def _ds_assemble(self, batches: list[dict], rewards: list, groups: list, n: int) -> dict:
        import torch

        acc = self.accelerator
        used = sorted({k for k, _ in groups})
        pad_id = self._ds_pad_id()
        merged = {}
        for key in batches[used[0]]:
            side, fill = _PADDING[key]
            fill = pad_id if fill == "pad" else fill
            parts = [batches[k][key] for k in used]
            width = max(p.size(1) for p in parts) if parts[0].dim() > 1 else None
            padded = {k: (_pad(batches[k][key], width, side, fill) if width is not None else batches[k][key])
                      for k in used}
            merged[key] = torch.cat([padded[k][g * n:(g + 1) * n] for k, g in groups])
        merged_rewards = torch.cat([rewards[k][g * n:(g + 1) * n] for k, g in groups])
        # the assembled batch's rewards, in the layout of TRL's gathered rewards, for
        # hooks of the host class that read them after this method (mirage's polarity)
        self._ds_batch_rewards_per_func = merged_rewards
        if hasattr(self, "_batch_rewards"):
            self._batch_rewards = merged_rewards.nansum(dim=1)
        local = merged["advantages"].size(0) // acc.num_processes
        start = acc.process_index * local
        output = {key: value[start:start + local] for key, value in merged.items()}
        mask = output["completion_mask"]
        if "tool_mask" in output:
            mask = mask * output["tool_mask"]
        output["num_items_in_batch"] = acc.gather(mask.sum()).sum()
        return output

    # -- logging ---------------------------------------------------------------------------------

    def _prepare_inputs(self, generation_batch):
        inputs = super()._prepare_inputs(generation_batch)
        if (self.dynamic_sampling and self.model.training and self._ds_round is not None
                and self._step % self.args.gradient_accumulation_steps == 0):
            # once per optimizer step: the rollout batch this step trains on
            for key, value in self._ds_round.items():
                self._metrics["train"][key].append(value)
        return inputs

