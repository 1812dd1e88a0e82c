"""Loading a model and its tokenizer: one place for every job that does
(sampling with either backend, GRPO training, the contamination check, and the
entropy reward, which scores with the trainer's model and tokenizer).

A pretrained model's config (``models.<name>``) may set

``revision``
    the hub revision of its ``path`` (a commit, for reproducibility); ignored
    for a local directory and for an RL checkpoint (a local directory).
``dtype``
    the dtype its weights are loaded in for sampling and the contamination
    check: ``auto`` (the checkpoint's own; the vLLM CPU build: float32),
    ``float32``, ``bfloat16`` or ``float16``. The policy in GRPO training is
    held in ``rl.grpo.model_dtype`` instead (bfloat16 only under ZeRO-3, whose
    optimizer keeps float32 master weights).
``trust_remote_code``
    run the model's own code from the hub (off unless the config says so);
    passed to every ``from_pretrained`` of the model and its tokenizer, and to
    vLLM.

A tokenizer without a pad token gets its EOS as pad token, as TRL 1.16's
GRPOTrainer does to the tokenizer it is given (``grpo_trainer.py``:
``if self._tokenizer.pad_token is None: self._tokenizer.pad_token =
self._tokenizer.eos_token``), so sampling and the contamination check pad as
training does; one with neither is refused. Prompts are padded on the left.

Special tokens are the tokenizer's own, never switched off here: a prompt is
tokenized by ``mirage.generation.prompts`` as TRL tokenizes it (a plain text as
``tokenizer(text)``, with e.g. Llama's BOS; a conversation through the chat
template, which writes them).

A completion ends at any of ``stop_token_ids``: the tokenizer's EOS and every
``eos_token_id`` of the model's generation config, the stop set of TRL 1.16's
GRPOTrainer (``self.eos_token_ids``), of vLLM (``SamplingParams.
update_from_generation_config``) and of the released verl run (its rollouts stop
where vLLM stops; its response mask ends at the generation config's EOS). The
end-of-turn token of a chat template is in it where the model's files put it
there: Llama 3.1 Instruct's ``<|eot_id|>`` (its tokenizer's EOS and in its
generation config), Qwen2.5 Instruct's ``<|im_end|>``; not for a Qwen2.5 base
model, whose files name ``<|endoftext|>`` only, although its ChatML template
ends each turn with ``<|im_end|>``: as in the released run, its completions end
at ``<|endoftext|>`` or at the length limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class LoadSettings:
    revision: str | None = None
    dtype: str = "auto"
    trust_remote_code: bool = False

    def __post_init__(self):
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype {self.dtype!r}; known: {list(DTYPES)}")

    @classmethod
    def of(cls, settings: "LoadSettings | dict | None") -> "LoadSettings":
        if isinstance(settings, LoadSettings):
            return settings
        return cls(**(settings or {}))

    def as_dict(self) -> dict:
        return asdict(self)


def load_settings(model_cfg: dict, *, checkpoint: bool = False) -> dict:
    """The load settings of a configured model (``models.<name>``), as a plain
    dict (a job's argument). ``checkpoint``: for a trained checkpoint of the
    model (a local folder): no hub revision."""
    if model_cfg.get("source") != "pretrained":
        return LoadSettings().as_dict()
    return LoadSettings(revision=None if checkpoint else model_cfg.get("revision"),
                        dtype=model_cfg.get("dtype", "auto"),
                        trust_remote_code=bool(model_cfg.get("trust_remote_code", False))).as_dict()


def hub_kwargs(settings) -> dict:
    """The keyword arguments of every ``from_pretrained`` (model and tokenizer)."""
    s = LoadSettings.of(settings)
    kwargs = {"trust_remote_code": s.trust_remote_code}
    if s.revision:
        kwargs["revision"] = s.revision
    return kwargs


def torch_dtype(name: str):
    """``auto`` or a torch dtype, as ``from_pretrained(dtype=...)`` takes it."""
    import torch

    if name not in DTYPES:
        raise ValueError(f"unknown dtype {name!r}; known: {list(DTYPES)}")
    return name if name == "auto" else getattr(torch, name)


def vllm_dtype(settings, on_cpu: bool) -> str:
    """vLLM's ``dtype``: the model's; ``auto`` on the CPU build is float32
    (it computes in float32)."""
    dtype = LoadSettings.of(settings).dtype
    return "float32" if on_cpu and dtype == "auto" else dtype


def ensure_pad_token(tokenizer):
    """A tokenizer without a pad token gets its EOS as pad token."""
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            name = getattr(tokenizer, "name_or_path", "") or "?"
            raise ValueError(f"tokenizer {name!r} has neither a pad token nor an EOS token to pad with")
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def stop_token_ids(tokenizer, generation_config=None) -> list[int]:
    """The token ids a completion ends at, as TRL 1.16's GRPOTrainer lists them:
    the ``eos_token_id`` of ``generation_config`` (a model's generation config; an
    id or a list), with the tokenizer's EOS put first where it is not among them."""
    extra = getattr(generation_config, "eos_token_id", None)
    ids: list[int] = []
    for i in [extra] if isinstance(extra, int) else list(extra or []):
        if i not in ids:
            ids.append(i)
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.insert(0, tokenizer.eos_token_id)
    return ids


def load_tokenizer(path: str, settings=None, *, padding_side: str | None = "left"):
    """The tokenizer of ``path`` with the model's settings, padding on
    ``padding_side`` (left: prompts are left-padded for generation, as TRL
    pads them), with a pad token."""
    from transformers import AutoTokenizer

    kwargs = hub_kwargs(settings)
    if padding_side:
        kwargs["padding_side"] = padding_side
    return ensure_pad_token(AutoTokenizer.from_pretrained(path, **kwargs))


def load_model(path: str, settings=None, *, dtype: str | None = None):
    """The causal LM of ``path`` with the model's settings; ``dtype``
    overrides the settings' (training: ``rl.grpo.model_dtype``)."""
    from transformers import AutoModelForCausalLM

    s = LoadSettings.of(settings)
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(dtype or s.dtype), **hub_kwargs(s))
