"""Train / eval splits of the toy task families, written in the study's common
problem schema (the same columns the paper-scale loaders produce)."""

from __future__ import annotations

import numpy as np
import polars as pl

from mirage.core.schemas import PROBLEMS
from mirage.core.seeding import stable_seed
from mirage.generation.prompts import render_prompt
from mirage.toy.tasks import make_family


def generate_task_splits(
    task: str,
    family: str,
    family_params: dict,
    n_train: int,
    n_eval: int,
    seed: int,
    prompt_template: str,
    verifier: str = "integer",
) -> pl.DataFrame:
    """Distinct problems of one task, ``n_train`` for training and ``n_eval`` for
    evaluation, drawn deterministically from ``seed`` and the task's name."""
    fam = make_family(family, **family_params)
    rng = np.random.default_rng(stable_seed(seed, "task", task))
    seen: set[str] = set()
    rows = []
    attempts = 0
    while len(rows) < n_train + n_eval:
        attempts += 1
        if attempts > 50 * (n_train + n_eval) + 1000:
            raise ValueError(
                f"task {task!r}: could not draw {n_train + n_eval} distinct problems "
                f"(only {len(rows)} exist with {family_params}); lower n_train/n_eval or raise digits"
            )
        problem = fam.draw(rng)
        if problem.question in seen:
            continue
        seen.add(problem.question)
        split = "eval" if len(rows) < n_eval else "train"
        index = len(rows) if split == "eval" else len(rows) - n_eval
        rows.append(
            {
                "problem_id": f"{task}-{split}-{index:05d}",
                "task": task,
                "split": split,
                "prompt": render_prompt(prompt_template, problem.question),
                "answer": str(problem.answer),
                "question": problem.question,
                "family": family,
                "benchmark": task,
                "verifier": verifier,
            }
        )
    return PROBLEMS.frame(rows).sort("split", "problem_id")
