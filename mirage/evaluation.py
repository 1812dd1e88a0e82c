"""Evaluation of base models and RL checkpoints: one row per (model, task,
claim, seed, benchmark) with avg@n, pass@n and the share of each style."""

from __future__ import annotations

import polars as pl

from mirage.passk import pass_at_k
from mirage.schemas import EVAL, RUN_CURVES, SAMPLES, TRAINING_CURVES

BASE_CLAIM = "base"


def summarise_samples(samples: pl.DataFrame, claim: str, seed: int) -> list[dict]:
    """One row per benchmark of one model's samples (after one claim and seed)."""
    rows = []
    for (benchmark,), bench in samples.sort("benchmark").group_by("benchmark", maintain_order=True):
        per_problem = bench.group_by("problem_id").agg(pl.len().alias("n"), pl.col("correct").sum().alias("c"))
        n = int(per_problem["n"].min())
        styles = bench["style"].value_counts(normalize=True)
        share = dict(zip(styles["style"], styles["proportion"]))
        rows.append({
            "model": bench["model"][0],
            "task": bench["task"][0],
            "claim": claim,
            "seed": seed,
            "benchmark": benchmark,
            "n": n,
            "num_problems": per_problem.height,
            "avg_at_n": float(bench["correct"].mean()),
            "pass_at_k": float(pass_at_k(per_problem["n"].to_numpy(), per_problem["c"].to_numpy(), n).mean()),
            "k": n,
            **{f"{s}_share": float(share.get(s, 0.0)) for s in ("procedure", "flawed", "direct", "other")},
            "well_formed_share": float(bench["well_formed"].mean()),
        })
    return rows


def eval_tables(base_files, rl_runs, curve_files, eval_path, curves_path) -> None:
    """``rl_runs``: (claim, seed, samples file) per RL run, in the order of ``curve_files``."""
    base_rows = [row for f in base_files for row in summarise_samples(SAMPLES.read(f), BASE_CLAIM, 0)]
    per_run = [summarise_samples(SAMPLES.read(f), claim, int(seed)) for claim, seed, f in rl_runs]
    EVAL.write(EVAL.frame(base_rows + [row for rows in per_run for row in rows]), eval_path)
    curves = [
        TRAINING_CURVES.read(curve_file).with_columns(
            model=pl.lit(rows[0]["model"]), task=pl.lit(rows[0]["task"]), claim=pl.lit(rows[0]["claim"]),
            seed=pl.lit(rows[0]["seed"], dtype=pl.Int64),
        )
        for rows, curve_file in zip(per_run, curve_files)
    ]
    RUN_CURVES.write(pl.concat(curves) if curves else RUN_CURVES.frame([]), curves_path)
