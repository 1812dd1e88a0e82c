"""The tables made from graded samples, with no model in sight (they run in the
light analysis environment): the evaluation of base models and RL checkpoints (one
row per model, task, claim, seed and benchmark with avg@n and pass@n, and the share
of each solution style where the task's family labels styles), the alignment stage's
pass@k and style tables, and the contamination check's summary."""

from __future__ import annotations

import logging

import polars as pl

from mirage.analysis.passk import pass_at_k, passk_table
from mirage.core.schemas import (
    CONTAMINATION_SUMMARY,
    EVAL,
    EVAL_STYLES,
    PASSK,
    RUN_CURVES,
    SAMPLES,
    STYLE_SHARES,
    TRAINING_CURVES,
)
from mirage.training.claims import parse_run

log = logging.getLogger(__name__)

BASE_CLAIM = "base"


def summarise_samples(samples: pl.DataFrame, claim: str, seed: int, example: int | None = None) -> list[dict]:
    """One row per benchmark of one model's samples (after one claim and seed,
    and for a one-shot claim its example)."""
    rows = []
    for (benchmark,), bench in samples.sort("benchmark").group_by("benchmark", maintain_order=True):
        per_problem = bench.group_by("problem_id").agg(pl.len().alias("n"), pl.col("correct").sum().alias("c"))
        n = int(per_problem["n"].min())
        rows.append({
            "model": bench["model"][0],
            "task": bench["task"][0],
            "claim": claim,
            "seed": seed,
            "example": example,
            "benchmark": benchmark,
            "n": n,
            "num_problems": per_problem.height,
            "avg_at_n": float(bench["correct"].mean()),
            "pass_at_k": float(pass_at_k(per_problem["n"].to_numpy(), per_problem["c"].to_numpy(), n).mean()),
            "k": n,
            "well_formed_share": float(bench["well_formed"].mean()),
        })
    return rows


def sample_styles(samples: pl.DataFrame, claim: str, seed: int, example: int | None = None) -> pl.DataFrame:
    """The share of each style per benchmark of one model's samples (EVAL_STYLES
    rows); no rows where the samples carry no style."""
    styled = samples.filter(pl.col("style").is_not_null())
    shares = styled.group_by("model", "task", "benchmark", "style").len().with_columns(
        share=pl.col("len") / pl.col("len").sum().over("model", "task", "benchmark"),
        claim=pl.lit(claim), seed=pl.lit(seed, dtype=pl.Int64), example=pl.lit(example, dtype=pl.Int64),
    )
    return EVAL_STYLES.check(shares)


def eval_tables(base_files, rl_runs, curve_files, eval_path, curves_path, styles_path) -> None:
    """``rl_runs``: (claim, run, samples file) per RL run, in the order of
    ``curve_files`` (run: its name, ``mirage.training.claims.run_names``)."""
    runs = ([(BASE_CLAIM, (0, None), f) for f in base_files]
            + [(claim, parse_run(claim, run), f) for claim, run, f in rl_runs])
    rows, styles = [], []
    for claim, (seed, example), f in runs:
        samples = SAMPLES.read(f)
        rows.append(summarise_samples(samples, claim, seed, example))
        styles.append(sample_styles(samples, claim, seed, example))
    EVAL.write(EVAL.frame([row for run_rows in rows for row in run_rows]), eval_path)
    EVAL_STYLES.write(pl.concat(styles), styles_path)
    per_run = rows[len(base_files):]
    curves = [
        TRAINING_CURVES.read(curve_file).with_columns(
            model=pl.lit(run_rows[0]["model"]), task=pl.lit(run_rows[0]["task"]),
            claim=pl.lit(run_rows[0]["claim"]), seed=pl.lit(run_rows[0]["seed"], dtype=pl.Int64),
            example=pl.lit(run_rows[0]["example"], dtype=pl.Int64),
        )
        for run_rows, curve_file in zip(per_run, curve_files)
    ]
    RUN_CURVES.write(pl.concat(curves) if curves else RUN_CURVES.frame([]), curves_path)


def style_shares(samples: pl.DataFrame) -> pl.DataFrame:
    """Share of samples per style and the accuracy of each style, per (model, task):
    no rows for the samples that carry no style."""
    samples = samples.filter(pl.col("style").is_not_null())
    totals = samples.group_by("model", "task").agg(pl.len().alias("total"))
    df = (
        samples.group_by("model", "task", "style")
        .agg(pl.len().cast(pl.Int32).alias("num_samples"), pl.col("correct").mean().alias("accuracy"))
        .join(totals, on=["model", "task"])
        .with_columns((pl.col("num_samples") / pl.col("total")).alias("share"))
    )
    return STYLE_SHARES.check(df).sort("model", "task", "style")


def alignment_tables(sample_files: list[str], ks: list[int], passk_path: str, styles_path: str) -> None:
    samples = pl.concat([SAMPLES.read(f) for f in sample_files])
    passk = passk_table(samples, ks or None)
    PASSK.write(passk, passk_path)
    STYLE_SHARES.write(style_shares(samples), styles_path)
    with pl.Config(tbl_rows=200):
        log.info("pass@k:\n%s", passk)


def contamination_summary(checks: list[pl.DataFrame], flag_exact_match: float) -> pl.DataFrame:
    """Per model x benchmark: exact-match rate and mean ROUGE-L; flagged when the
    exact-match rate reaches ``flag_exact_match``."""
    df = pl.concat(checks)
    summary = df.group_by("model", "task", "benchmark").agg(
        pl.len().cast(pl.Int32).alias("num_problems"),
        pl.col("exact_match").mean().alias("exact_match_rate"),
        pl.col("rouge_l").mean().alias("mean_rouge_l"),
    ).with_columns((pl.col("exact_match_rate") >= flag_exact_match).alias("flagged"))
    return CONTAMINATION_SUMMARY.check(summary)
