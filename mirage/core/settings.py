"""Typed, frozen settings, built once from a validated config section.

``config/schema.yaml`` is the one place a default is written: every field here
takes its default from the schema (a required key has none; an optional key
the schema gives no default is None, "absent"). A settings object is built with
``from_dict`` from the section as the validated config holds it (or as a job's
params carry it); an unknown key or a missing required key is a ``ValueError``
naming the section and the key (the values' types are the schema's to check,
in ``mirage.config``). Cross-field
rules a library function also depends on are methods here, written once and
called by the config's validation (``mirage.config``) and the library alike.

Light on purpose: the Snakefile imports it (through ``mirage.config``) on every
parse, so it imports nothing heavier than ``yaml``."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


@functools.lru_cache(maxsize=1)
def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def _resolved(node: dict) -> dict:
    """A schema node with its ``$ref`` followed; the node's own keys (and
    properties) override the referenced definition's, as the schema means them."""
    if "$ref" not in node:
        return node
    target = _schema()
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    target = _resolved(target)
    merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    if "properties" in node and "properties" in target:
        merged["properties"] = {k: {**target["properties"].get(k, {}), **v} if isinstance(v, dict) else v
                                for k, v in {**target["properties"], **node["properties"]}.items()}
    if "required" in target or "required" in node:
        merged["required"] = sorted(set(target.get("required", [])) | set(node.get("required", [])))
    return merged


def schema_section(path: str) -> dict:
    """The resolved schema node of a dotted config path (``rl.grpo``; a
    ``$defs`` entry as ``$defs.toy_model.sft``)."""
    parts = path.split(".")
    if parts[0] == "$defs":
        node, parts = _schema()["$defs"][parts[1]], parts[2:]
    else:
        node = _schema()
    for part in parts:
        node = _resolved(node)["properties"][part]
    return _resolved(node)


def _frozen(value):
    """A scalar default as it is; a settings field with a dict or list default
    would not survive the JSON round trip of a run specification."""
    if isinstance(value, (dict, list)):
        raise TypeError(f"a settings field needs a scalar default, not {value!r} (use a nested Settings class)")
    return value


def setting(section: str, key: str):
    """A dataclass field for ``section.key``: its default and help are the
    schema's; a required key has no default; an optional one without a schema
    default is None."""
    node = schema_section(section)
    prop = _resolved(node["properties"][key])
    metadata = {"help": prop.get("description", ""), "section": section}
    if "default" in prop:
        return field(default=_frozen(prop["default"]), metadata=metadata)
    if key in node.get("required", []):
        return field(metadata=metadata)
    return field(default=None, metadata=metadata)


class Settings:
    """Base of the settings classes: ``SECTION`` is the schema path they mirror."""

    SECTION: str = ""

    @classmethod
    def from_dict(cls, values: dict | "Settings" | None):
        if isinstance(values, cls):
            return values
        values = dict(values or {})
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"'{cls.SECTION}.{unknown[0]}': unknown setting; known: {', '.join(sorted(names))}")
        kwargs = {}
        for name, value in values.items():
            nested = cls.NESTED.get(name)
            kwargs[name] = nested.from_dict(value) if nested else value
        missing = [n for n, f in names.items() if n not in kwargs and f.default is dataclasses.MISSING
                   and f.default_factory is dataclasses.MISSING]
        if missing:
            raise ValueError(f"'{cls.SECTION}.{missing[0]}' is required")
        return cls(**kwargs)

    NESTED: dict = {}

    def as_dict(self) -> dict[str, Any]:
        """The section as the config writes it (nested settings as dicts)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class DynamicSampling(Settings):
    """DAPO's filter groups (``rl.grpo.dynamic_sampling``)."""

    SECTION = "rl.grpo.dynamic_sampling"
    enabled: bool = setting(SECTION, "enabled")
    max_generation_batches: int = setting(SECTION, "max_generation_batches")


@dataclass(frozen=True, kw_only=True)
class GRPOSettings(Settings):
    """``rl.grpo``: the GRPO run of every claim (see the schema for each key's meaning)."""

    SECTION = "rl.grpo"
    NESTED = {"dynamic_sampling": DynamicSampling}
    steps: int = setting(SECTION, "steps")
    prompts_per_generation: int = setting(SECTION, "prompts_per_generation")
    num_generations: int = setting(SECTION, "num_generations")
    steps_per_generation: int = setting(SECTION, "steps_per_generation")
    micro_batch_size: int | None = setting(SECTION, "micro_batch_size")
    num_iterations: int = setting(SECTION, "num_iterations")
    learning_rate: float = setting(SECTION, "learning_rate")
    warmup_steps: int = setting(SECTION, "warmup_steps")
    weight_decay: float = setting(SECTION, "weight_decay")
    max_grad_norm: float = setting(SECTION, "max_grad_norm")
    adam_epsilon: float = setting(SECTION, "adam_epsilon")
    epsilon: float = setting(SECTION, "epsilon")
    epsilon_high: float = setting(SECTION, "epsilon_high")
    beta: float = setting(SECTION, "beta")
    loss_type: str = setting(SECTION, "loss_type")
    scale_rewards: str = setting(SECTION, "scale_rewards")
    temperature: float = setting(SECTION, "temperature")
    top_p: float = setting(SECTION, "top_p")
    max_completion_length: int = setting(SECTION, "max_completion_length")
    max_prompt_tokens: int | None = setting(SECTION, "max_prompt_tokens")
    delta: float | None = setting(SECTION, "delta")
    mask_truncated_completions: bool = setting(SECTION, "mask_truncated_completions")
    use_vllm: bool = setting(SECTION, "use_vllm")
    vllm_mode: str = setting(SECTION, "vllm_mode")
    vllm_gpu_memory_utilization: float = setting(SECTION, "vllm_gpu_memory_utilization")
    vllm_max_model_length: int | None = setting(SECTION, "vllm_max_model_length")
    vllm_tensor_parallel_size: int = setting(SECTION, "vllm_tensor_parallel_size")
    vllm_enable_sleep_mode: bool = setting(SECTION, "vllm_enable_sleep_mode")
    gradient_checkpointing: bool = setting(SECTION, "gradient_checkpointing")
    model_dtype: str = setting(SECTION, "model_dtype")
    vllm_importance_sampling_correction: bool = setting(SECTION, "vllm_importance_sampling_correction")
    dynamic_sampling: DynamicSampling = field(default_factory=DynamicSampling)

    @property
    def generation_batch(self) -> int:
        """Completions per rollout batch: prompts_per_generation x num_generations."""
        return self.prompts_per_generation * self.num_generations

    @property
    def updates_per_rollout(self) -> int:
        """Optimizer steps per rollout batch: verl splits each batch into
        steps_per_generation mini-batches, num_iterations times."""
        return self.steps_per_generation * self.num_iterations

    def check_batch_split(self, processes: int) -> None:
        """The generation batch splits evenly over the optimizer steps of a rollout
        batch and the training processes, so that the global batch is the configured
        one whatever the process count; each process's share of a mini-batch splits
        evenly into micro-batches."""
        self.batch_split(processes)

    def batch_split(self, processes: int) -> tuple[int, int]:
        """(micro-batch, gradient accumulation steps) of each optimizer step on
        ``processes`` processes: a mini-batch (generation_batch / steps_per_generation
        sequences) is micro-batch x accumulation steps x processes sequences."""
        if self.generation_batch % (self.steps_per_generation * processes):
            raise ValueError(f"'rl.grpo' prompts_per_generation x num_generations ({self.generation_batch}) must be "
                             f"divisible by steps_per_generation ({self.steps_per_generation}) x the training "
                             f"processes ({processes}: resources.train.gpu, or resources.train.processes on the CPU)")
        share = self.generation_batch // (self.steps_per_generation * processes)
        micro = self.micro_batch_size or share
        if share % micro:
            raise ValueError(f"'rl.grpo.micro_batch_size' ({micro}) must divide each process's share of a mini-batch: "
                             f"prompts_per_generation x num_generations ({self.generation_batch}) / steps_per_generation "
                             f"({self.steps_per_generation}) / the training processes ({processes}) = {share}")
        return micro, share // micro

    def without_dynamic_sampling(self) -> "GRPOSettings":
        """These settings with dynamic sampling off (the One-Shot reference run,
        the RLVR-Decomposed claims)."""
        return self.replace(dynamic_sampling=self.dynamic_sampling.replace(enabled=False))


@dataclass(frozen=True, kw_only=True)
class SamplerSettings(Settings):
    """A sampler (``sampler``, ``evaluation.sampler``): what the samples are drawn
    from and how fast. A sampling job's params leave out the vLLM engine's keys
    on the hf backend (``mirage.config.job_sampler``): they take the schema's
    defaults here then, which the hf backend ignores."""

    SECTION = "sampler"
    backend: str = setting(SECTION, "backend")
    n: int = setting(SECTION, "n")
    temperature: float = setting(SECTION, "temperature")
    top_p: float = setting(SECTION, "top_p")
    max_new_tokens: int = setting(SECTION, "max_new_tokens")
    batch_size: int = setting(SECTION, "batch_size")
    tensor_parallel_size: int | None = setting(SECTION, "tensor_parallel_size")
    max_model_len: int | None = setting(SECTION, "max_model_len")
    gpu_memory_utilization: float | None = setting(SECTION, "gpu_memory_utilization")
    enable_prefix_caching: bool | None = setting(SECTION, "enable_prefix_caching")

    # Settings of the vLLM engine (passed to vllm.LLM); the hf backend ignores them.
    ENGINE_KEYS = ("tensor_parallel_size", "max_model_len", "gpu_memory_utilization", "enable_prefix_caching")

    def engine(self) -> dict:
        """The vLLM engine's keyword arguments that are set."""
        return {k: getattr(self, k) for k in self.ENGINE_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True, kw_only=True)
class SFTSettings(Settings):
    """``models.<toy model>.sft``: the toy model's supervised pre-training."""

    SECTION = "$defs.toy_model.sft"
    steps: int = setting(SECTION, "steps")
    batch_size: int = setting(SECTION, "batch_size")
    learning_rate: float = setting(SECTION, "learning_rate")
    warmup_steps: int = setting(SECTION, "warmup_steps")
    weight_decay: float = setting(SECTION, "weight_decay")
    max_length: int = setting(SECTION, "max_length")
    logging_steps: int = setting(SECTION, "logging_steps")


@dataclass(frozen=True, kw_only=True)
class CheckpointSettings(Settings):
    """``checkpoints``: where training jobs keep their checkpoints, and how often."""

    SECTION = "checkpoints"
    dir: str = setting(SECTION, "dir")
    sft_every: int = setting(SECTION, "sft_every")
    rl_every: int = setting(SECTION, "rl_every")
    keep: int = setting(SECTION, "keep")
    rl_minutes: float = setting(SECTION, "rl_minutes")
    stop_before_limit: float = setting(SECTION, "stop_before_limit")


ALL = (DynamicSampling, GRPOSettings, SamplerSettings, SFTSettings, CheckpointSettings)
