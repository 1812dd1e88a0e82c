"""Peak GPU memory per process of a study's GPU jobs, before anything is submitted.

Used by ``python -m mirage plan`` (a column per job) and by the config's validation
(``mirage.config``: a config whose training or sampling job cannot fit its GPU is refused
with one line naming the setting to change). Pure arithmetic on the config: a model's
``shape`` (planning only, from its config.json), ``rl.grpo``, ``rl.distributed``, the
job's GPU count and ``plan.gpu_memory_gib[plan.gpu]``.

A training process holds, at its peak (bytes; P parameters, N processes):

* **states**: weights, gradients and AdamW's two moments, 16 P / N under zero3 (bf16
  weights and gradients, float32 master weights and moments) and fsdp2 (float32), 16 P
  under ddp (every process holds all of them);
* **working copies**: zero3 gathers up to ``stage3_max_live_parameters`` (DeepSpeed's
  default 1e9) bf16 parameters at a time, 2 x min(P, 1e9); fsdp2 gathers a layer and
  prefetches the next, 2 x 4 x P / layers; ddp's bf16 autocast caches a bf16 copy of
  every float32 weight during the forward, 2 P;
* **activations** of one micro-batch of m sequences of T tokens (``micro_batch_size``;
  T the sequence width: vllm_max_model_length, else max_completion_length + 2,048
  prompt tokens, the released prompt budget), with
  gradient checkpointing, under TRL 1.16's fused LM head:
  ``HEAD + m x T x (L x a x h + 3 x (4 I + 8 h))``: the layer inputs kept for the
  backward (a = 2 bytes with bf16 weights, 4 with float32), one layer recomputed
  (its q/k/v/o and MLP tensors and their gradients, h hidden, I intermediate), and
  ``HEAD`` = 4 V h + 1 GiB for the LM head's float32 gradient and tiles (V
  vocabulary). This is an upper fit of peaks measured on an H200 with TRL's own
  forward (``benchmarks/gpu_memory.py``, ``benchmarks/results/gpu_memory.json``:
  Qwen2.5-7B and Llama-3.1-8B widths, 2, 4 and all layers, T up to 10,240; and
  ``benchmarks/gpu_check.py``'s Qwen2.5-7B at 1, 2 and 4 x 10,240 tokens): it is at
  or above every measured point (``tests/test_memory.py``). A first fit with
  2 x (4 I + 8 h) for the recomputed layer was below the 4-sequence point (18.7
  against 21.1 GiB): the cost per sequence grows past 2 sequences. Without gradient
  checkpointing every layer's tensors are kept: L x 3 x (4 I + 8 h) per token instead;
* **vLLM colocated** (``use_vllm``, colocate): with sleep mode its weights and KV cache
  are freed while the trainer updates (``VLLM_ASLEEP_GIB`` left); without it,
  ``vllm_gpu_memory_utilization`` of the GPU is held throughout;
* **CUDA context and allocator slack**: ``OVERHEAD_GIB``.

A colocated vLLM wakes while the trainer's states stay: states + working copies +
utilization x GPU + overhead must fit too (TRL empties the allocator's cache before
the wake-up). vLLM's KV cache is its share less its bf16 weights (2 P / TP) and
``VLLM_RESERVE_GIB`` for its own activations; the plan shows how many full-width
sequences it holds at once (a rank generates its share of each rollout batch in
waves of that many). A sampling job (vLLM alone, ``sampler.gpu_memory_utilization``)
is the same without the trainer.

The old-log-prob pass and the entropy reward run without gradients, on the same
micro-batch: below the training pass. What only a GPU can show and this does not:
fragmentation beyond the slack, DeepSpeed's and vLLM's own buffers beyond the stated
constants, NCCL's buffers.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 2 ** 30
OVERHEAD_GIB = 2.0          # CUDA context, cuBLAS workspaces, allocator slack (assumed)
VLLM_ASLEEP_GIB = 1.0       # what a sleeping vLLM (level 2) keeps (assumed)
VLLM_RESERVE_GIB = 2.0      # vLLM's activation peak and non-torch memory within its share (assumed)
ZERO3_LIVE_PARAMETERS = 1e9  # DeepSpeed's stage3_max_live_parameters default
HEAD_EXTRA_GIB = 1.0        # the LM head's tiles beyond its float32 gradient (fitted, benchmarks/gpu_memory.py)
SHAPE_KEYS = ("hidden_size", "num_hidden_layers", "intermediate_size", "vocab_size", "num_key_value_heads", "head_dim")


@dataclass(frozen=True)
class ModelShape:
    """A model's size and shape: ``params_b`` and ``models.<name>.shape`` (its config.json)."""

    params_b: float
    hidden_size: int
    num_hidden_layers: int
    intermediate_size: int
    vocab_size: int
    num_key_value_heads: int
    head_dim: int

    @classmethod
    def from_model(cls, model: dict) -> "ModelShape | None":
        """A model config's shape; None when it has no ``params_b`` or ``shape``."""
        if "params_b" not in model or "shape" not in model:
            return None
        return cls(params_b=model["params_b"], **{k: model["shape"][k] for k in SHAPE_KEYS})

    @property
    def params(self) -> float:
        return self.params_b * 1e9

    @property
    def kv_bytes_per_token(self) -> int:
        """bf16 keys and values of one token over all layers."""
        return 2 * self.num_hidden_layers * self.num_key_value_heads * self.head_dim * 2


PROMPT_TOKENS = 2048        # the released run's prompt budget (max_prompt_length), when vLLM's length is not set


def sequence_width(grpo) -> int:
    """Tokens of the longest training sequence: vllm_max_model_length (prompt + completion),
    else max_completion_length + the released prompt budget."""
    return grpo.vllm_max_model_length or grpo.max_completion_length + PROMPT_TOKENS


def activation_bytes(shape: ModelShape, micro_batch: int, width: int, weight_bytes: int, checkpointing: bool) -> float:
    """Peak activation memory of one training micro-batch (see the module's docstring)."""
    h, inter = shape.hidden_size, shape.intermediate_size
    layer = 3 * (4 * inter + 8 * h)
    per_token = (shape.num_hidden_layers * weight_bytes * h + layer if checkpointing
                 else shape.num_hidden_layers * (weight_bytes * h + layer))
    head = 4 * shape.vocab_size * h + HEAD_EXTRA_GIB * GIB
    return head + micro_batch * width * per_token


@dataclass(frozen=True)
class TrainingMemory:
    """GiB per process of a training job, by component; ``generation``: the peak while a
    colocated vLLM is awake (None without one); ``kv_sequences``: full-width sequences
    its KV cache holds at once."""

    states: float
    working: float
    activations: float
    vllm: float
    overhead: float
    gpu: float
    generation: float | None = None
    kv_sequences: float | None = None

    @property
    def training(self) -> float:
        return self.states + self.working + self.activations + self.vllm + self.overhead

    @property
    def peak(self) -> float:
        return max(self.training, self.generation or 0.0)

    @property
    def fits(self) -> bool:
        return self.peak <= self.gpu and (self.kv_sequences is None or self.kv_sequences >= 1)


def vllm_kv_sequences(shape: ModelShape, share_gib: float, tensor_parallel: int, width: int) -> float:
    """Full-width sequences the KV cache of a vLLM engine holds with ``share_gib`` of a GPU."""
    kv = share_gib - shape.params * 2 / tensor_parallel / GIB - VLLM_RESERVE_GIB
    return max(kv, 0.0) * GIB / (shape.kv_bytes_per_token / tensor_parallel * width)


def training_memory(shape: ModelShape, grpo, engine: str, processes: int, gpu_gib: float,
                    micro_batch: int | None = None) -> TrainingMemory:
    """Peak GiB per process of a GRPO job (``grpo``: GRPOSettings) with ``processes``
    processes under ``engine`` (rl.distributed) on a GPU of ``gpu_gib``; ``micro_batch``
    overrides the settings' (as ``GRPOSettings.batch_split`` derives it)."""
    p = shape.params
    micro = micro_batch or grpo.batch_split(processes)[0]
    sharded = engine in ("zero3", "fsdp2")
    states = 16 * p / (processes if sharded else 1)
    if engine == "zero3":
        working = 2 * min(p, ZERO3_LIVE_PARAMETERS)
    elif engine == "fsdp2":
        working = 2 * 4 * p / shape.num_hidden_layers
    else:
        working = 2 * p if grpo.model_dtype == "float32" else 0.0
    weight_bytes = 2 if grpo.model_dtype == "bfloat16" else 4
    width = sequence_width(grpo)
    acts = activation_bytes(shape, micro, width, weight_bytes, grpo.gradient_checkpointing)
    colocated = grpo.use_vllm and grpo.vllm_mode == "colocate"
    share = grpo.vllm_gpu_memory_utilization * gpu_gib
    vllm = (VLLM_ASLEEP_GIB if grpo.vllm_enable_sleep_mode else share) if colocated else 0.0
    generation = kv = None
    if colocated:
        generation = (states + working) / GIB + share + OVERHEAD_GIB
        kv = vllm_kv_sequences(shape, share, grpo.vllm_tensor_parallel_size, width)
    return TrainingMemory(states=states / GIB, working=working / GIB, activations=acts / GIB, vllm=vllm,
                          overhead=OVERHEAD_GIB, gpu=gpu_gib, generation=generation, kv_sequences=kv)


def largest_micro_batch(shape: ModelShape, grpo, engine: str, processes: int, gpu_gib: float) -> int | None:
    """The largest micro-batch dividing the process's mini-batch share that fits; None if none does."""
    share = grpo.replace(micro_batch_size=None).batch_split(processes)[0]
    for micro in sorted((d for d in range(1, share + 1) if share % d == 0), reverse=True):
        if training_memory(shape, grpo, engine, processes, gpu_gib, micro).fits:
            return micro
    return None


@dataclass(frozen=True)
class SamplingMemory:
    """GiB per GPU of a vLLM sampling job: its share of the GPU, its weights, and the
    full-width sequences its KV cache holds at once."""

    share: float
    weights: float
    kv_sequences: float
    gpu: float

    @property
    def fits(self) -> bool:
        return self.share <= self.gpu and self.kv_sequences >= 1


def sampling_memory(shape: ModelShape, sampler: dict, gpu_gib: float) -> SamplingMemory:
    """A vLLM sampling job (``sampler``: the job's sampler settings as a dict)."""
    tp = sampler.get("tensor_parallel_size") or 1
    share = (sampler.get("gpu_memory_utilization") or 0.9) * gpu_gib  # vLLM's default 0.9
    width = sampler.get("max_model_len") or sampler["max_new_tokens"]
    return SamplingMemory(share=share, weights=shape.params * 2 / tp / GIB,
                          kv_sequences=vllm_kv_sequences(shape, share, tp, width), gpu=gpu_gib)


def training_refusal(name: str, shape: ModelShape, grpo, engine: str, processes: int, gpu: str,
                     gpu_gib: float) -> str | None:
    """One line saying why a training job of model ``name`` cannot fit, and which setting
    to change; None when it fits."""
    memory = training_memory(shape, grpo, engine, processes, gpu_gib)
    if memory.fits:
        return None
    micro = grpo.batch_split(processes)[0]
    where = f"models.{name} on {gpu} ({gpu_gib:.1f} GiB)"
    if memory.kv_sequences is not None and memory.kv_sequences < 1:
        return (f"'rl.grpo.vllm_gpu_memory_utilization' ({grpo.vllm_gpu_memory_utilization}): the colocated vLLM's "
                f"share cannot hold {name}'s bf16 weights and one {sequence_width(grpo):,}-token sequence on {gpu}: "
                "raise it (with vllm_enable_sleep_mode) or vllm_tensor_parallel_size")
    if memory.generation is not None and memory.generation > gpu_gib:
        return (f"'rl.grpo.vllm_gpu_memory_utilization' ({grpo.vllm_gpu_memory_utilization}): while vLLM generates, "
                f"{where} needs {memory.generation:.1f} GiB per GPU (trainer states {memory.states + memory.working:.1f}"
                f" + vLLM {grpo.vllm_gpu_memory_utilization * gpu_gib:.1f} + overhead {memory.overhead:.1f}): lower it")
    best = largest_micro_batch(shape, grpo, engine, processes, gpu_gib)
    fix = (f"the largest that fits is {best}" if best else
           "none fits: shard the model (rl.distributed), use more GPUs or turn on vllm_enable_sleep_mode")
    return (f"'rl.grpo.micro_batch_size' ({micro} sequences per process): a training step of {where} needs "
            f"{memory.peak:.1f} GiB per GPU (states {memory.states:.1f}, working copies {memory.working:.1f}, "
            f"activations {memory.activations:.1f}, vLLM {memory.vllm:.1f}, overhead {memory.overhead:.1f}); {fix}")


def sampling_refusal(name: str, shape: ModelShape, sampler: dict, gpu: str, gpu_gib: float,
                     key: str = "sampler") -> str | None:
    memory = sampling_memory(shape, sampler, gpu_gib)
    if memory.fits:
        return None
    return (f"'{key}.gpu_memory_utilization' ({sampler.get('gpu_memory_utilization')}): vLLM's {memory.share:.1f} GiB "
            f"on {gpu} cannot hold models.{name}'s {memory.weights:.1f} GiB of bf16 weights and one "
            f"{sampler.get('max_model_len') or sampler['max_new_tokens']:,}-token sequence: raise it or "
            "tensor_parallel_size")
