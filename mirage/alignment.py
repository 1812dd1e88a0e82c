"""Sampling a model on a task's split and grading every completion: the base models
(alignment stage, incorrect-label votes) and RL checkpoints alike. The tables made
from the samples are ``mirage.evaluation``'s."""

from __future__ import annotations

import logging
import time

import numpy as np
import polars as pl

from mirage.passk import passk_table
from mirage.sampling import SamplingParams, engine_settings, make_sampler, sample_and_grade
from mirage.schemas import PROBLEMS, SAMPLES
from mirage.seeding import stable_seed
from mirage.sources import prepare_problems, style_classifier

log = logging.getLogger(__name__)


def problem_subset(problems: pl.DataFrame, size: int | None, seed: int) -> pl.DataFrame:
    """At most ``size`` of the problems, drawn without replacement under
    ``seed`` and kept in the table's order; all of them when ``size`` is None
    or not smaller than the table."""
    if size is None or size >= problems.height:
        return problems
    ids = sorted(problems["problem_id"].to_list())
    chosen = np.random.default_rng(seed).choice(ids, size=size, replace=False).tolist()
    return problems.filter(pl.col("problem_id").is_in(chosen))


def sample_problems(
    model_name: str,
    model_path: str,
    problems_path: str,
    split: str,
    sampler_cfg: dict,
    seed: int,
    out_path: str,
    threads: int = 1,
    prompt_format: str = "plain",
    answer_fallback: bool = False,
    num_problems: int | None = None,
    load: dict | None = None,
    style_family: str | None = None,
) -> pl.DataFrame:
    """``prompt_format``: the model's (``models.<model>.prompt_format``);
    ``answer_fallback``: the task's (``tasks.<task>.answer_fallback``);
    ``num_problems``: sample at most this many problems of the split, a subset
    drawn under the study's seed and the task (the same for every model);
    ``load``: the model's load settings (``mirage.models.load_settings``);
    ``style_family``: the task family whose styles label the samples
    (``mirage.sources.style_family``), None for none."""
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == split)
    if problems.is_empty():
        raise ValueError(f"{problems_path}: no problems in split {split!r}")
    task = problems["task"][0]
    total = problems.height
    problems = problem_subset(problems, num_problems, stable_seed(seed, "problem-subset", task, split))
    if problems.height < total:
        log.info("%s/%s: a seeded subset of %d of the %d problems", task, split, problems.height, total)
    params = SamplingParams.from_config(sampler_cfg, stable_seed(seed, "sample", model_name, task, split))
    sampler = make_sampler(sampler_cfg["backend"], model_path, threads=threads, load=load,
                           **engine_settings(sampler_cfg))
    start = time.perf_counter()
    samples = sample_and_grade(sampler, problems, params, model_name, prompt_format, answer_fallback,
                               style_classifier(style_family))
    elapsed = time.perf_counter() - start
    tokens = int(samples["n_tokens"].sum())
    log.info(
        "%s on %s/%s: %d completions, %d tokens in %.1f s (%.0f tokens/s); accuracy %.3f",
        model_name, task, split, samples.height, tokens, elapsed, tokens / max(elapsed, 1e-9),
        samples["correct"].mean(),
    )
    SAMPLES.write(samples, out_path)
    return samples


def task_problems(config: dict, task: str) -> pl.DataFrame:
    """The problems table of a configured task, as its data job builds it
    (a hub task reads the local cache, or the hub where it is not offline)."""
    return prepare_problems(task, config["tasks"][task], config["prompt_template"], config["seed"])


def quick_passk(config: dict, model: str, task: str, *, n: int | None = None, ks: list[int] | None = None,
                max_problems: int | None = None, prompt_format: str | None = None, load: dict | None = None,
                threads: int = 1) -> pl.DataFrame:
    """pass@k of ``model`` (a configured model's name, a local folder or a hub
    id) on the eval split of the configured ``task``, sampled by the config's
    alignment sampler (``n``: its n instead), without the workflow: nothing is
    written. ``max_problems``: a seeded subset of the split, as
    ``num_problems`` draws it. A configured model brings its path, prompt
    format and load settings; ``prompt_format`` / ``load`` override them."""
    from mirage.models import load_settings

    if task not in config["tasks"]:
        raise ValueError(f"unknown task {task!r}; configured: {', '.join(config['tasks'])}")
    cfg = config["models"].get(model)
    if cfg is not None and cfg["source"] == "toy":
        raise ValueError(f"model {model!r} is a toy model of the config: pass the folder the workflow built "
                         f"(results/models/{model}/base)")
    path = cfg["path"] if cfg else model
    settings = {**load_settings(cfg or {}), **{k: v for k, v in (load or {}).items() if v is not None}}
    fmt = prompt_format or (cfg or {}).get("prompt_format", "plain")
    sampler_cfg = {**config["sampler"], **({"n": n} if n else {})}
    problems = task_problems(config, task).filter(pl.col("split") == "eval")
    problems = problem_subset(problems, max_problems, stable_seed(config["seed"], "problem-subset", task, "eval"))
    params = SamplingParams.from_config(sampler_cfg, stable_seed(config["seed"], "sample", model, task, "eval"))
    if ks and max(ks) > params.n:
        raise ValueError(f"k={max(ks)} is larger than n={params.n}")
    sampler = make_sampler(sampler_cfg["backend"], path, threads=threads, load=settings,
                           **engine_settings(sampler_cfg))
    samples = sample_and_grade(sampler, problems, params, model, fmt,
                               config["tasks"][task].get("answer_fallback", False))
    return passk_table(samples, ks or None)
