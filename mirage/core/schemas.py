"""Typed tables of the study: one schema per table, checked on every write."""

from __future__ import annotations

import os
from dataclasses import dataclass

import polars as pl

from mirage.core import provenance
from mirage.core.atomic import atomic_file


@dataclass(frozen=True)
class TableSchema:
    name: str
    columns: dict[str, pl.DataType]
    sort_by: tuple[str, ...] = ()

    def frame(self, rows: list[dict]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=self.columns, orient="row")

    def check(self, df: pl.DataFrame, source: str = "") -> pl.DataFrame:
        """Return ``df`` with exactly this schema's columns, in order, or raise
        naming the table, the file and the offending column."""
        where = f" in {source}" if source else ""
        for col, dtype in self.columns.items():
            if col not in df.columns:
                raise ValueError(f"table {self.name!r}{where}: missing column {col!r} (expected {dtype})")
            if df.schema[col] != dtype:
                raise ValueError(
                    f"table {self.name!r}{where}: column {col!r} has type {df.schema[col]}, expected {dtype}"
                )
        return df.select(list(self.columns))

    def write(self, df: pl.DataFrame, path: str | os.PathLike) -> None:
        df = self.check(df, str(path))
        if self.sort_by:
            df = df.sort(list(self.sort_by), maintain_order=True, nulls_last=True)
        write_parquet_atomic(df, path)

    def read(self, path: str | os.PathLike) -> pl.DataFrame:
        return self.check(pl.read_parquet(path), str(path))


def write_parquet_atomic(df: pl.DataFrame, path: str | os.PathLike) -> None:
    """Parquet with the job's provenance in its metadata, written atomically."""
    import json

    import pyarrow.parquet as pq

    table = df.to_arrow()
    meta = dict(table.schema.metadata or {})
    meta[provenance.KEY.encode()] = json.dumps(provenance.record(), sort_keys=True).encode()
    with atomic_file(path) as tmp:
        pq.write_table(table.replace_schema_metadata(meta), tmp, compression="zstd", write_statistics=False)


PROBLEMS = TableSchema(
    "problems",
    {
        "problem_id": pl.String,
        "task": pl.String,
        "split": pl.String,
        "prompt": pl.String,
        "answer": pl.String,
        "question": pl.String,
        "family": pl.String,
        # where an evaluation problem comes from (a toy task is its own benchmark)
        # and how it is graded: one task can be evaluated on several benchmarks
        "benchmark": pl.String,
        "verifier": pl.String,
    },
    sort_by=("split", "problem_id"),
)

SAMPLES = TableSchema(
    "samples",
    {
        "model": pl.String,
        "task": pl.String,
        "benchmark": pl.String,
        "problem_id": pl.String,
        "sample_idx": pl.Int32,
        "completion": pl.String,
        "extracted_answer": pl.String,
        "well_formed": pl.Boolean,
        "correct": pl.Boolean,
        "style": pl.String,
        "n_tokens": pl.Int32,
        "finish_reason": pl.String,
    },
    sort_by=("model", "task", "problem_id", "sample_idx"),
)

PASSK = TableSchema(
    "passk",
    {
        "model": pl.String,
        "task": pl.String,
        "benchmark": pl.String,
        "k": pl.Int32,
        "n": pl.Int32,
        "num_problems": pl.Int32,
        "pass_at_k": pl.Float64,
    },
    sort_by=("model", "task", "benchmark", "k"),
)

# Per (model, task) of the alignment stage, the samples' styles: only for the tasks whose
# family labels styles (mirage.config.style_family)
STYLE_SHARES = TableSchema(
    "style_shares",
    {
        "model": pl.String,
        "task": pl.String,
        "style": pl.String,
        "share": pl.Float64,
        "accuracy": pl.Float64,
        "num_samples": pl.Int32,
    },
    sort_by=("model", "task", "style"),
)

# Spurious Rewards' incorrect labels: the base model's majority answer over its first
# `votes` samples of each training problem (null: no answer won), and whether it is wrong
WRONG_LABELS = TableSchema(
    "wrong_labels",
    {"problem_id": pl.String, "wrong_label": pl.String, "votes": pl.Int64, "majority_count": pl.Int64,
     "majority_wrong": pl.Boolean},
    sort_by=("problem_id",),
)

# One-Shot RLVR's ranking of one cell's candidates by the reference run: visits (generation
# batches that sampled it), mean and population std of its per-visit training accuracy, rank by
# that std among candidates visited >= min_visits times (null otherwise), whether that rank was a
# tie broken by problem id (another ranked candidate has the same std), and the pool's seeded
# random order (random_rank: one_shot_random trains on its first examples)
CANDIDATE_RANKING = TableSchema(
    "candidate_ranking",
    {"problem_id": pl.String, "visits": pl.Int64, "mean_accuracy": pl.Float64, "accuracy_std": pl.Float64,
     "rank": pl.Int64, "rank_tied": pl.Boolean, "random_rank": pl.Int64},
    sort_by=("rank", "problem_id"),
)

# Every cell's ranking, with the claims each candidate is chosen for (comma-joined: one_shot,
# few_shot, one_shot_random; null if none)
EXAMPLE_SELECTION = TableSchema(
    "example_selection",
    {"model": pl.String, "task": pl.String, **CANDIDATE_RANKING.columns, "chosen": pl.String},
    sort_by=("model", "task", "rank", "problem_id"),
)

REWARD_HISTORY = TableSchema(
    "reward_history",
    {"step": pl.Int64, "problem_id": pl.String, "reward": pl.Float64},
)

TRAINING_CURVES = TableSchema(
    "training_curves",
    {
        "step": pl.Int64,  # optimizer step
        "rollout": pl.Int64,  # rollout batch (0-based), as verl counts training steps
        "reward": pl.Float64,
        "reward_std": pl.Float64,
        "frac_reward_zero_std": pl.Float64,
        "entropy": pl.Float64,
        "clip_ratio": pl.Float64,
        "clip_ratio_low": pl.Float64,
        "clip_ratio_high": pl.Float64,
        "completion_length": pl.Float64,
        "grad_norm": pl.Float64,
        "learning_rate": pl.Float64,
        # dynamic sampling (null when off): share of generated groups dropped for agreeing
        # rewards, generation batches used to fill the rollout batch, and share of the batch's
        # groups that repeat a kept group (or are unfiltered) because the budget ran out
        "filtered_share": pl.Float64,
        "generation_batches": pl.Float64,
        "filled_share": pl.Float64,
    },
    sort_by=("step",),
)

EVAL = TableSchema(
    "eval",
    {
        "model": pl.String,
        "task": pl.String,
        "claim": pl.String,
        "seed": pl.Int64,
        "example": pl.Int64,  # the one-shot claims' selected example (1 = the first); null for the rest
        "benchmark": pl.String,
        "n": pl.Int32,
        "num_problems": pl.Int32,
        "avg_at_n": pl.Float64,
        "pass_at_k": pl.Float64,
        "k": pl.Int32,
        "well_formed_share": pl.Float64,
    },
    sort_by=("model", "task", "claim", "seed", "example", "benchmark"),
)

# The share of each solution style in the samples of one EVAL row, a long table: only for the
# tasks whose family labels styles (mirage.config.style_family), empty for the others
EVAL_STYLES = TableSchema(
    "eval_styles",
    {
        "model": pl.String,
        "task": pl.String,
        "claim": pl.String,
        "seed": pl.Int64,
        "example": pl.Int64,
        "benchmark": pl.String,
        "style": pl.String,
        "share": pl.Float64,
    },
    sort_by=("model", "task", "claim", "seed", "example", "benchmark", "style"),
)

RUN_CURVES = TableSchema(
    "training_curves_all",
    {"model": pl.String, "task": pl.String, "claim": pl.String, "seed": pl.Int64, "example": pl.Int64,
     **TRAINING_CURVES.columns},
    sort_by=("model", "task", "claim", "seed", "example", "step"),
)

# One row per cell (model x task x benchmark x claim). run_group: "model/task/claim", the cells
# that share one set of RL runs (the benchmarks of one training task); p_value: one-sided
# bootstrap p-value of "gain <= min_gain"; p_holm: Holm-adjusted over every cell of the table;
# works_holm: p_holm below the CI's one-sided level (1 - level) / 2; regime_rule: the pass@k
# rule's regime (analysis.regime); regime_paper: the paper's own label (analysis.paper_regimes,
# null where the config gives none); verdict: from the CI (analysis.verdict)
CLAIMS_TABLE = TableSchema(
    "claims",
    {
        "model": pl.String,
        "task": pl.String,
        "benchmark": pl.String,
        "claim": pl.String,
        "run_group": pl.String,
        "num_seeds": pl.Int32,
        "num_examples": pl.Int32,  # selected examples the runs trained on (one-shot claims; 1 for the rest)
        "base_score": pl.Float64,
        "trained_score": pl.Float64,
        "gain": pl.Float64,
        "gain_vs_ground_truth": pl.Float64,
        "ci_low": pl.Float64,
        "ci_high": pl.Float64,
        "p_value": pl.Float64,
        "p_holm": pl.Float64,
        "works_holm": pl.Boolean,
        "base_pass_at_k": pl.Float64,
        "regime_rule": pl.String,
        "regime_paper": pl.String,
        "verdict": pl.String,
        "seed_verdicts": pl.String,  # each seed's own verdict, in seed order (null with one seed)
        "verdict_stable": pl.Boolean,  # every seed's verdict is the cell's (null with one seed)
    },
    sort_by=("model", "task", "benchmark", "claim"),
)

# Per claim: the step of gain against base pass@k, fitted on one point per run group
THRESHOLDS = TableSchema(
    "thresholds",
    {
        "claim": pl.String,
        "num_cells": pl.Int32,
        "num_run_groups": pl.Int32,
        "threshold": pl.Float64,
        "mean_gain_below": pl.Float64,
        "mean_gain_above": pl.Float64,
        "shape": pl.String,
    },
    sort_by=("claim",),
)

# Per claim x regime (the pass@k rule's): the study's verdict over its run groups beside the
# paper's; cells_working_holm: null where the claims table has no p-values; num_comparisons: the
# cells of the whole claims table (the family of p_holm)
PAPER_COMPARISON = TableSchema(
    "paper_comparison",
    {
        "claim": pl.String,
        "regime_from": pl.String,
        "regime": pl.String,
        "num_cells": pl.Int32,
        "num_run_groups": pl.Int32,
        "cells_working": pl.Int32,
        "run_groups_working": pl.Int32,
        "cells_working_holm": pl.Int32,
        "mean_gain": pl.Float64,
        "toy": pl.String,
        "paper": pl.String,
        "agrees": pl.Boolean,
        "headline": pl.Boolean,
        "num_comparisons": pl.Int32,
    },
    sort_by=("claim", "regime_from", "regime"),
)

CONTAMINATION = TableSchema(
    "contamination",
    {
        "model": pl.String,
        "task": pl.String,
        "benchmark": pl.String,
        "problem_id": pl.String,
        "fraction": pl.Float64,
        "continuation": pl.String,
        "true_continuation": pl.String,
        "exact_match": pl.Boolean,
        "rouge_l": pl.Float64,
    },
    sort_by=("model", "task", "benchmark", "problem_id"),
)

CONTAMINATION_SUMMARY = TableSchema(
    "contamination_summary",
    {
        "model": pl.String,
        "task": pl.String,
        "benchmark": pl.String,
        "num_problems": pl.Int32,
        "exact_match_rate": pl.Float64,
        "mean_rouge_l": pl.Float64,
        "flagged": pl.Boolean,
    },
    sort_by=("model", "task", "benchmark"),
)
