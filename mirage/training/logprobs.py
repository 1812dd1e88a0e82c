"""Completion log-probabilities under the policy, computed the way TRL 1.16's
GRPOTrainer computes its per-token log-probabilities, in bounded memory.

The entropy-minimisation reward (claim ``entropy_min``) is the mean token
log-probability of a completion under the policy that sampled it. TRL 1.16
scores completions as follows (``GRPOTrainer._generate_and_score_completions``
and ``_get_per_token_logps_and_entropies``, ``trl.trainer.utils.add_fused_lm_head``):

* the prompt token ids are the ones TRL generated from (``_tokenize_prompts``:
  the tokenizer's special tokens, e.g. a BOS, or the chat template of a
  conversational prompt), left-padded with the pad id to the longest prompt of
  the generation batch; the completions are right-padded to the longest
  completion; the attention mask is 1 on the real tokens only;
* the batch goes through the model ``per_device_train_batch_size`` rows at a
  time, with ``input_ids`` and ``attention_mask`` only (no ``position_ids``:
  the model numbers the positions 0..width-1, left padding included), under
  the accelerator's autocast;
* the backbone's last hidden state at position ``j`` scores token ``j + 1``,
  only for the last ``logits_to_keep`` = completion-width positions; the LM
  head's logits are taken to float32, multiplied by the model's logit scale,
  soft-capped where the model soft-caps, and multiplied by 1 / temperature;
  log p = logit(token) - logsumexp(logits).

:func:`completion_token_logprobs` does the same, in micro-batches of sequences
and, within one, on chunks of at most ``chunk_size`` completion positions
(both set by a :class:`ScoringLayout`): no (batch, sequence, vocabulary)
logits tensor exists, only (chunk_size, vocabulary) ones.
:func:`completion_mean_logprobs` averages over each completion's tokens.

TRL hands a reward function the prompts as text, not as token ids;
:class:`PromptIdsMixin` (a GRPOTrainer mixin) passes the ids TRL used to every
reward function as the keyword argument ``prompt_ids``.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, ContextManager, Sequence

import torch

PROMPT_IDS_KEY = "prompt_ids"

# an empty completion has no token to average over: its mean log-probability is
# undefined. NaN is what TRL reads as "no reward" (a completion every reward
# function scores NaN/None gets advantage 0 and stays out of its group's
# baseline), where 0.0 would give it the best score any completion can get.
EMPTY_COMPLETION = float("nan")


@dataclass(frozen=True)
class ScoringLayout:
    """How :func:`completion_token_logprobs` batches, pads and runs the forward
    pass over a batch of prompts and completions.

    Parameters:
        batch_size (`int`, defaults to `4`):
            Sequences that go through the model at a time (TRL's
            ``per_device_train_batch_size``). The padded layout is the whole
            batch's, as in TRL, so the result does not depend on it. Must be
            positive.
        chunk_size (`int`, defaults to `512`):
            Completion positions the LM head projects at a time, within one
            micro-batch: the largest vocabulary-wide tensor is (chunk_size,
            vocab). The result does not depend on it. Must be positive.
        pad_to_multiple_of (`int` or `None`, defaults to `None`):
            If set, the prompt width and the completion width of the padded batch
            are each rounded up to a multiple of this value (TRL's
            ``GRPOConfig.pad_to_multiple_of``; the left padding, like TRL's, takes
            position numbers). `None` (or 0) pads to the longest prompt and the
            longest completion.
        autocast (`Callable[[], ContextManager]` or `None`, defaults to `None`):
            A context-manager factory the forward runs under (TRL:
            ``trainer.accelerator.autocast``). `None` runs it as it is.
    """

    batch_size: int = 4
    chunk_size: int = 512
    pad_to_multiple_of: int | None = None
    autocast: Callable[[], ContextManager] | None = None

    def __post_init__(self):
        if self.batch_size < 1 or self.chunk_size < 1:
            raise ValueError("batch_size and chunk_size must be positive")


def logit_transform(model) -> tuple[float, float | None]:
    """(logit scale, final soft-cap) of a causal LM's output logits, read from
    its config as TRL's ``add_fused_lm_head`` reads them."""
    config = model.config.get_text_config()
    softcap = getattr(config, "final_logit_softcapping", None)
    scale = getattr(config, "logit_scale", None)
    if scale is None:
        scale = getattr(config, "output_multiplier", None)
    if scale is None:
        scale = getattr(config, "lm_head_multiplier", None)
    if scale is None and getattr(config, "logits_scaling", None) is not None:
        scale = config.logits_scaling if config.model_type == "hyperclovax" else 1 / config.logits_scaling
    return (1.0 if scale is None else scale), softcap


def _padded_rows(prompts, completions, prompt_width, completion_width, pad_id):
    """TRL's layout of some rows: prompts left-padded to ``prompt_width``,
    completions right-padded to ``completion_width``."""
    n = len(prompts)
    ids = torch.full((n, prompt_width + completion_width), pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, (p, c) in enumerate(zip(prompts, completions)):
        if len(p):
            ids[i, prompt_width - len(p):prompt_width] = torch.as_tensor(p, dtype=torch.long)
            mask[i, prompt_width - len(p):prompt_width] = 1
        if len(c):
            ids[i, prompt_width:prompt_width + len(c)] = torch.as_tensor(c, dtype=torch.long)
            mask[i, prompt_width:prompt_width + len(c)] = 1
    return ids, mask


def _round_up(n: int, multiple: int | None) -> int:
    return n if not multiple else -(-n // multiple) * multiple


def chunked_token_logprobs(hidden: torch.Tensor, targets: torch.Tensor, lm_head, temperature: float,
                           chunk_size: int, logit_scale: float = 1.0, softcap: float | None = None,
                           calls: int = 0) -> torch.Tensor:
    """log p(target) of each row of ``hidden`` (N, H) through ``lm_head``, at most
    ``chunk_size`` rows of vocabulary-wide logits at a time; float32 (N,). ``calls``:
    call ``lm_head`` at least this often (on one dummy row after the real chunks), so
    that processes of a sharded engine make the same parameter gathers."""
    out = torch.empty(hidden.shape[0], dtype=torch.float32, device=hidden.device)
    inv_t = 1.0 / temperature
    for _ in range(calls - _chunks(hidden.shape[0], chunk_size)):
        lm_head(hidden.new_zeros(1, hidden.shape[-1]))
    for start in range(0, hidden.shape[0], chunk_size):
        end = min(start + chunk_size, hidden.shape[0])
        z = lm_head(hidden[start:end]).float()
        if logit_scale != 1.0:
            z = z * logit_scale
        if softcap is not None:
            z = softcap * torch.tanh(z / softcap)
        z = z * inv_t
        target = z.gather(-1, targets[start:end].unsqueeze(-1)).squeeze(-1)
        out[start:end] = target - torch.logsumexp(z, dim=-1)
        del z
    return out


def _chunks(rows: int, chunk_size: int) -> int:
    return -(-rows // chunk_size)


def collective_call_counts(batches: list[int], device) -> list[int]:
    """The LM-head calls of each micro-batch (``batches``: this process's), made equal
    over the processes of a job: the elementwise maximum, over as many micro-batches as
    the process with the most has. Under ZeRO-3 or FSDP2 every forward of a module
    gathers its parameters collectively; processes that call the backbone or the LM
    head a different number of times wait on each other until the job's timeout. One
    process (or none initialised): ``batches`` as they are."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return batches
    count = torch.tensor([len(batches)], dtype=torch.long, device=device)
    dist.all_reduce(count, op=dist.ReduceOp.MAX)
    calls = torch.zeros(int(count.item()), dtype=torch.long, device=device)
    calls[:len(batches)] = torch.as_tensor(batches, dtype=torch.long)
    dist.all_reduce(calls, op=dist.ReduceOp.MAX)
    return [int(c) for c in calls.tolist()]


def completion_token_logprobs(
    model,
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    *,
    temperature: float = 1.0,
    pad_id: int | None = 0,
    layout: ScoringLayout = ScoringLayout(),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log p(completion token | prompt, earlier completion tokens) with
    logits / ``temperature``, as TRL 1.16's GRPOTrainer computes them for the
    same (unpadded) ``prompt_ids`` and ``completion_ids``, padded with ``pad_id``
    (None: 0).

    Returns ``(logps, mask)``, both (len(completion_ids), longest completion,
    rounded up to ``layout.pad_to_multiple_of``): float32 log-probabilities (0 on
    padding) and the completion mask.

    ``layout`` (:class:`ScoringLayout`): the micro-batch size, the LM head's
    chunk size, the padding multiple and the autocast of the forward. No
    gradient; the model runs in eval mode and gets its previous mode back.
    """
    if len(prompt_ids) != len(completion_ids):
        raise ValueError(f"{len(prompt_ids)} prompts for {len(completion_ids)} completions")
    if temperature <= 0:
        raise ValueError("temperature must be positive")
    batch_size, chunk_size = layout.batch_size, layout.chunk_size
    pad_to_multiple_of, autocast = layout.pad_to_multiple_of, layout.autocast
    if any(len(p) == 0 for p in prompt_ids):
        raise ValueError("an empty prompt leaves the first completion token without a prefix to score it from")
    n = len(completion_ids)
    completion_width = _round_up(max((len(c) for c in completion_ids), default=0), pad_to_multiple_of)
    prompt_width = _round_up(max((len(p) for p in prompt_ids), default=0), pad_to_multiple_of)
    lm_head = model.get_output_embeddings()
    device = lm_head.weight.device
    logps = torch.zeros(n, completion_width, dtype=torch.float32)
    mask = torch.zeros(n, completion_width, dtype=torch.long)
    for i, c in enumerate(completion_ids):
        mask[i, :len(c)] = 1
    logit_scale, softcap = logit_transform(model)
    autocast = autocast or nullcontext
    pad_id = 0 if pad_id is None else pad_id
    starts = list(range(0, n, batch_size)) if completion_width else []
    # the same backbone and LM-head calls, in the same order, on every process (collective_call_counts)
    calls = collective_call_counts(
        [_chunks(sum(len(c) for c in completion_ids[start:start + batch_size]), chunk_size) for start in starts], device)
    if not calls:
        return logps, mask
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for index, lm_calls in enumerate(calls):
                if index >= len(starts):  # a micro-batch other processes have and this one has not
                    with autocast():
                        hidden = model.base_model(input_ids=torch.full((1, 1), pad_id, device=device),
                                                  attention_mask=torch.ones(1, 1, dtype=torch.long, device=device),
                                                  use_cache=False).last_hidden_state
                        chunked_token_logprobs(hidden[0, :0], torch.zeros(0, dtype=torch.long, device=device), lm_head,
                                               temperature, chunk_size, logit_scale, softcap, calls=lm_calls)
                    continue
                start = starts[index]
                end = min(start + batch_size, n)
                ids, attn = _padded_rows(prompt_ids[start:end], completion_ids[start:end], prompt_width,
                                         completion_width, pad_id)
                ids, attn = ids.to(device), attn.to(device)
                with autocast():
                    hidden = model.base_model(input_ids=ids, attention_mask=attn, use_cache=False).last_hidden_state
                    # position j scores token j + 1: the completion's tokens are scored from
                    # positions prompt_width - 1 .. prompt_width + completion_width - 2
                    hidden = hidden[:, prompt_width - 1:prompt_width + completion_width - 1].to(device)
                    valid = attn[:, prompt_width:].bool()
                    rows = chunked_token_logprobs(hidden[valid], ids[:, prompt_width:][valid], lm_head,
                                                  temperature, chunk_size, logit_scale, softcap, calls=lm_calls)
                del hidden
                block = torch.zeros(end - start, completion_width, dtype=torch.float32, device=device)
                block[valid] = rows
                logps[start:end] = block.cpu()
    finally:
        model.train(was_training)
    return logps, mask


def completion_mean_logprobs(
    model,
    prompt_ids: Sequence[Sequence[int]],
    completion_ids: Sequence[Sequence[int]],
    temperature: float = 1.0,
    pad_id: int | None = 0,
    *,
    layout: ScoringLayout = ScoringLayout(),
    empty: float = EMPTY_COMPLETION,
) -> list[float]:
    """Mean over each completion's tokens of log p(token | prefix), logits /
    ``temperature``: the entropy-minimisation reward. An empty completion gets
    ``empty`` (default NaN: undefined, which TRL treats as unscorable). See
    :func:`completion_token_logprobs` for the other arguments."""
    logps, mask = completion_token_logprobs(
        model, prompt_ids, completion_ids, temperature=temperature, pad_id=pad_id, layout=layout)
    counts = mask.sum(dim=1)
    sums = (logps.double() * mask).sum(dim=1)
    return [float(s / c) if c > 0 else empty for s, c in zip(sums.tolist(), counts.tolist())]


class PromptIdsMixin:
    """GRPOTrainer mixin: every reward function receives, as the keyword argument
    ``prompt_ids``, the prompt token ids TRL generated each completion from and
    trains on (special tokens such as a BOS, or the chat template, included;
    unpadded, one list per completion, in the order of ``completions``).

    TRL 1.16 tokenizes the prompts in ``_generate`` (``_tokenize_prompts``, or a
    ``rollout_func``) and pads exactly those ids into the batch it trains on; it
    passes reward functions the prompt texts only. ``_generate`` returns the ids
    first; they are kept as ``last_prompt_ids`` and added to each example's
    columns (copies: the dataset rows are not touched) when the rewards are
    computed. Put it before GRPOTrainer in the bases:
    ``class Trainer(PromptIdsMixin, GRPOTrainer)``.
    """

    last_prompt_ids: list[list[int]] | None = None

    def _generate(self, prompts):
        output = super()._generate(prompts)
        self.last_prompt_ids = [[int(t) for t in ids] for ids in output[0]]
        return output

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        ids = self.last_prompt_ids
        if ids is None or len(ids) != len(inputs):
            raise RuntimeError("PromptIdsMixin: no prompt ids from _generate for this batch")
        if inputs and PROMPT_IDS_KEY in inputs[0]:
            raise ValueError(f"the dataset has a column {PROMPT_IDS_KEY!r}, the name PromptIdsMixin passes ids under")
        inputs = [{**example, PROMPT_IDS_KEY: p} for example, p in zip(inputs, ids)]
        return super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
