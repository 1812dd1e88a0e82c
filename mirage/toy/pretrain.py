"""Tiny causal LMs trained from scratch with TRL's SFTTrainer on a mixture of
toy task families, with the share of each solution style set per task."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from mirage.core.atomic import atomic_directory
from mirage.core.checkpoints import CheckpointDir, checkpoint_step, resume_callback
from mirage.core.registry import Registry
from mirage.core.seeding import stable_seed
from mirage.core.settings import SFTSettings
from mirage.generation.prompts import render_prompt
from mirage.toy.tasks import STYLE_MARKERS, THINK_OPEN, Problem, core_question, make_family
from mirage.toy.tokenizer import build_tokenizer

log = logging.getLogger(__name__)

ARCHITECTURES: Registry[str] = Registry("architecture type", {"llama": "LlamaConfig", "qwen2": "Qwen2Config"})


def build_model(arch: dict, tokenizer):
    """A randomly initialised model of the configured architecture."""
    import transformers

    params = dict(arch)
    kind = params.pop("type")
    config = getattr(transformers, ARCHITECTURES.lookup(kind))(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
        **params,
    )
    return transformers.AutoModelForCausalLM.from_config(config)


def sft_rows(
    mixture: dict[str, dict],
    task_families: dict[str, dict],
    excluded_questions: set[str],
    n_rows: int,
    prompt_template: str,
    seed: int,
) -> list[dict]:
    """Prompt/completion rows for SFT.

    Rows are drawn per task by ``weight``. A *natural* row shows the model choosing a style with the configured share
    for that task: this sets its prior. A *practice* row puts the procedure's
    opening marker into the prompt, so the model learns to execute the procedure
    without learning to choose it (how a weakly aligned model can still know a
    skill it rarely uses); ``practice`` is the share of a task's rows that are
    practice rows. ``format_slip`` is the share of natural rows whose answer
    lacks its tags, as base models often ignore the requested answer format.
    """
    rng = np.random.default_rng(stable_seed(seed, "sft-rows"))
    tasks = sorted(mixture)
    weights = np.array([mixture[t]["weight"] for t in tasks], dtype=float)
    families = {t: make_family(task_families[t]["family"], **task_families[t].get("params", {})) for t in tasks}
    rows = []
    while len(rows) < n_rows:
        task = tasks[rng.choice(len(tasks), p=weights / weights.sum())]
        fam = families[task]
        problem = fam.draw(rng)
        # redraw within the task (weights stay exact); compared without the context,
        # so an evaluation problem is not seen under another context either
        while core_question(problem.question) in excluded_questions:
            problem = fam.draw(rng)
        prompt = render_prompt(prompt_template, problem.question)
        if rng.random() < mixture[task].get("practice", 0.0):
            styles = mixture[task].get("practice_styles", ["procedure"])
            style = styles[rng.integers(len(styles))]
            full = fam.completion(problem, style)
            cut = len(THINK_OPEN) + len(STYLE_MARKERS[style])
            rows.append({"prompt": prompt + full[:cut], "completion": full[cut:], "task": task, "style": style, "practice": True})
        else:
            shares = mixture[task]["styles"]
            names = sorted(shares)
            p = np.array([shares[s] for s in names], dtype=float)
            style = names[rng.choice(len(names), p=p / p.sum())]
            slip = mixture[task].get("format_slip", 0.0)
            bare = bool(slip) and rng.random() < slip  # no draw when 0: streams of older configs unchanged
            rows.append({"prompt": prompt, "completion": fam.completion(problem, style, bare_answer=bare),
                         "task": task, "style": style, "practice": False})
    return rows


def save_random_model(out_dir: str | Path, arch: dict, seed: int = 0) -> str:
    """A randomly initialised toy model with the toy tokenizer, saved like a hub
    model (for sampler tests and throughput benchmarks: they need no training)."""
    import torch

    torch.manual_seed(seed)
    tokenizer = build_tokenizer()
    build_model(arch, tokenizer).save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return str(out_dir)


def contaminate(rows: list[dict], problem_files: list, task_families: dict[str, dict], share: float,
                prompt_template: str, seed: int) -> list[dict]:
    """Replace a ``share`` of the rows by the full text of evaluation problems
    (prompt and reference solution, all of it trained on), as a web crawl that
    swallowed a benchmark would: the model can then complete the test prompts."""
    rng = np.random.default_rng(stable_seed(seed, "contamination"))
    families = {t: make_family(cfg["family"], **cfg.get("params", {})) for t, cfg in task_families.items()}
    texts = []
    for f in problem_files:
        evals = pl.read_parquet(f).filter(pl.col("split") == "eval")
        for task, question in evals.select("task", "question").iter_rows():
            if task not in families:
                continue
            fam = families[task]
            problem = _problem_from_question(fam, question)
            texts.append((task, render_prompt(prompt_template, question) + fam.completion(problem, "procedure")))
    if not texts:
        raise ValueError("contamination: the model's tasks have no evaluation problems")
    n = int(round(share * len(rows)))
    picked = rng.choice(len(rows), size=n, replace=False)
    for i, j in zip(picked, rng.integers(0, len(texts), size=n)):
        task, text = texts[j]
        # an empty prompt: the loss covers the whole text, the question included
        rows[i] = {"prompt": "", "completion": text, "task": task, "style": "contaminated", "practice": False}
    return rows


def _problem_from_question(fam, question: str) -> Problem:
    """The problem behind a question text of ``fam``: every family's question
    is its operands around fixed words and signs."""
    numbers = tuple(int(x) for x in re.findall(r"[0-9]+", core_question(question)))
    return Problem(question, numbers, fam.solve(numbers))


@dataclass(frozen=True, kw_only=True)
class PretrainJob:
    """One toy model's pre-training: what it reads, what it writes, its settings."""

    tokenizer_dir: str | Path
    """The saved toy tokenizer (``save_pretrained`` folder)."""
    problem_files: Sequence[str | Path]
    """Problem tables of the model's tasks: their evaluation problems are kept out
    of the SFT rows (and are the contamination texts of a contaminated model)."""
    out_dir: str | Path
    """The model folder written (model, tokenizer and ``pretrain_summary.json``)."""
    model_cfg: dict
    """The model's config section (``models.<name>`` of a toy model) with its ``name``."""
    task_families: dict[str, dict]
    """The config sections of the model's tasks, by task name."""
    prompt_template: str
    """The study's prompt template (holds ``{question}``)."""
    seed: int
    """The study's seed (the model's own seed derives from it and its name)."""


def pretrain_toy_model(
    job: PretrainJob,
    *,
    threads: int = 1,
    checkpoints: CheckpointDir | None = None,
    resume_key: str = "",
    callbacks: tuple = (),
) -> dict:
    """SFT a tiny model from scratch and save it like a hub model (``save_pretrained``).

    ``threads``: torch's CPU threads. With ``checkpoints`` (default: none kept), a run
    killed part-way and started again with the same ``resume_key`` resumes from its
    last complete checkpoint and ends with the same weights as an uninterrupted run.
    ``callbacks``: more transformers ``TrainerCallback``s."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    torch.set_num_threads(threads)
    model_cfg = job.model_cfg
    sft = SFTSettings.from_dict(model_cfg["sft"])
    model_seed = stable_seed(job.seed, "model", model_cfg["name"])
    set_seed(model_seed)
    tokenizer = AutoTokenizer.from_pretrained(str(job.tokenizer_dir))
    model = build_model(model_cfg["architecture"], tokenizer)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model %s: %.2fM parameters", model_cfg["name"], n_params / 1e6)

    # Evaluation problems never enter the SFT data (a contaminated model is a
    # deliberate, separate configuration).
    excluded = set()
    for f in job.problem_files:
        df = pl.read_parquet(f)
        excluded |= {core_question(q) for q in df.filter(pl.col("split") == "eval")["question"].to_list()}
    n_rows = sft.steps * sft.batch_size
    rows = sft_rows(model_cfg["mixture"], job.task_families, excluded, n_rows, job.prompt_template, model_seed)
    share = model_cfg.get("contamination")  # the schema has no default: absent is none
    if share:
        rows = contaminate(rows, job.problem_files, job.task_families, share, job.prompt_template, model_seed)
    composition = pl.DataFrame(rows).group_by("task", "practice", "style").len().sort("task", "practice", "style")
    log.info("SFT rows by task, practice and style:\n%s", composition)
    dataset = Dataset.from_list([{"prompt": r["prompt"], "completion": r["completion"]} for r in rows])

    out_dir = Path(job.out_dir)
    checkpoints = checkpoints or CheckpointDir(out_dir.with_name(f".{out_dir.name}.checkpoints"), 0)
    resume_from = checkpoints.prepare(resume_key)
    args = SFTConfig(
        **checkpoints.trainer_args(),
        max_steps=sft.steps,
        per_device_train_batch_size=sft.batch_size,
        learning_rate=sft.learning_rate,
        lr_scheduler_type="cosine",  # the toy SFT's schedule (not a setting of the config)
        warmup_steps=sft.warmup_steps,
        weight_decay=sft.weight_decay,
        max_length=sft.max_length,
        completion_only_loss=True,
        use_cpu=True,
        bf16=False,
        report_to="none",
        logging_steps=sft.logging_steps,
        seed=model_seed,
        data_seed=model_seed,
        dataloader_num_workers=0,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                         callbacks=[resume_callback(), *callbacks])
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    elapsed = time.perf_counter() - start
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    summary = {
        "model": model_cfg["name"],
        "parameters": n_params,
        "sft_rows": n_rows,
        "train_seconds": round(elapsed, 1),
        "resumed_from_step": checkpoint_step(resume_from),
        "final_loss": losses[-1] if losses else None,  # the last logged loss: the same whether resumed or not
        "log_history": trainer.state.log_history,
    }
    with atomic_directory(out_dir) as tmp:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        (tmp / "pretrain_summary.json").write_text(json.dumps(summary, indent=1))
    checkpoints.finish()
    return summary
