"""Sampling completions from a model, behind one interface so that the
backend (Hugging Face ``generate`` here, vLLM at paper scale) is a config choice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import polars as pl

from mirage.schemas import SAMPLES
from mirage.toy.tasks import classify_style
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
    def generate(self, prompts: list[str], params: SamplingParams) -> list[Completion]: ...


class HFSampler:
    """Batched ``model.generate`` with left padding, on the CPU or a GPU."""

    def __init__(self, model_path: str, threads: int = 1, device: str = "cpu"):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.torch = torch
        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, padding_side="left")
        self.model = AutoModelForCausalLM.from_pretrained(model_path).to(device).eval()

    def generate(self, prompts: list[str], params: SamplingParams) -> list[Completion]:
        from tqdm.auto import tqdm

        torch = self.torch
        per_call = max(1, params.batch_size // params.n)
        out: list[Completion] = []
        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id
        for start in tqdm(range(0, len(prompts), per_call), desc="sampling", unit="batch", mininterval=5):
            chunk = prompts[start:start + per_call]
            # A seed per chunk: the samples of a prompt do not depend on batch timing.
            torch.manual_seed(params.seed + start)
            enc = self.tokenizer(chunk, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
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


def make_sampler(backend: str, model_path: str, threads: int = 1) -> Sampler:
    if backend == "hf":
        import torch

        return HFSampler(model_path, threads=threads, device="cuda" if torch.cuda.is_available() else "cpu")
    raise ValueError(f"unknown sampler backend {backend!r}; known: ['hf']")


def sample_and_grade(
    sampler: Sampler,
    problems: pl.DataFrame,
    params: SamplingParams,
    model_name: str,
    verifier_name: str,
) -> pl.DataFrame:
    """n completions per problem, each graded and tagged with the style it used."""
    verifier = get_verifier(verifier_name)
    prompts = problems["prompt"].to_list()
    answers = problems["answer"].to_list()
    ids = problems["problem_id"].to_list()
    tasks = problems["task"].to_list()
    rows = []
    for comp in sampler.generate(prompts, params):
        grade = verifier.grade(comp.text, answers[comp.prompt_index])
        rows.append(
            {
                "model": model_name,
                "task": tasks[comp.prompt_index],
                "problem_id": ids[comp.prompt_index],
                "sample_idx": comp.sample_idx,
                "completion": comp.text,
                "extracted_answer": grade.extracted_answer,
                "well_formed": grade.well_formed,
                "correct": grade.correct,
                "style": classify_style(comp.text),
                "n_tokens": comp.n_tokens,
                "finish_reason": comp.finish_reason,
            }
        )
    return SAMPLES.frame(rows)
