"""Per-claim verdicts: gain over the base model with a bootstrap confidence
interval over problems and seeds, the alignment regime of the cell, and a
verdict by the rule stated in the config (``analysis``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from mirage.claims import CLAIMS, NO_GAIN, WORKS
from mirage.schemas import CLAIMS_TABLE, PAPER_COMPARISON, PASSK, SAMPLES, THRESHOLDS
from mirage.seeding import stable_seed


def was_trained(model_dir: str) -> bool:
    """Whether a run's model folder comes from training: a claim with nothing to
    train on in a cell writes the base model with ``"trained": false`` in its
    ``run.json`` (``mirage.rl.write_untrained_run``) and gets no verdict."""
    return json.loads((Path(model_dir) / "run.json").read_text()).get("trained", True)


def per_problem_accuracy(samples: pl.DataFrame) -> pl.DataFrame:
    return samples.group_by("problem_id").agg(pl.col("correct").mean().alias("acc")).sort("problem_id")


def bootstrap_gain(base: np.ndarray, trained: np.ndarray, n_boot: int, level: float, seed: int) -> tuple[float, float]:
    """CI of mean(trained) - mean(base). ``base``: per-problem accuracy (P,);
    ``trained``: per-seed per-problem accuracy (S, P). Problems and seeds are
    resampled with replacement; base and trained stay paired by problem."""
    rng = np.random.default_rng(seed)
    n_seeds, n_problems = trained.shape
    problems = rng.integers(0, n_problems, size=(n_boot, n_problems))
    seeds = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    trained_means = trained[seeds[:, :, None], problems[:, None, :]].mean(axis=(1, 2))
    gains = trained_means - base[problems].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(gains, alpha)), float(np.quantile(gains, 1 - alpha))


def regime(passk: pl.DataFrame, model: str, task: str, benchmark: str, k: int, threshold: float) -> tuple[str, float]:
    row = passk.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("benchmark") == benchmark)
                       & (pl.col("k") == k))
    if row.is_empty():
        raise ValueError(f"no pass@{k} for {model}/{task}/{benchmark}: 'analysis.regime.k' must be one of the "
                         "pass@k table's k")
    value = float(row["pass_at_k"][0])
    return ("strong" if value >= threshold else "weak"), value


def verdict(ci_low: float, ci_high: float, min_gain: float) -> str:
    """works: the whole CI is above ``min_gain``; fails: the whole CI is below it;
    otherwise inconclusive."""
    if ci_low > min_gain:
        return "works"
    if ci_high < min_gain:
        return "fails"
    return "inconclusive"


def claims_table(base_files: list[str], runs: list[tuple[str, int, str]], passk_path: str, analysis: dict,
                 seed: int) -> pl.DataFrame:
    """``runs``: (claim, seed, samples file) of every RL run. One row per
    (model, task, benchmark, claim): a benchmark is a cell of its own."""
    passk = PASSK.read(passk_path)
    base = {}
    for f in base_files:
        for (model, task, benchmark), s in SAMPLES.read(f).group_by("model", "task", "benchmark"):
            base[(model, task, benchmark)] = per_problem_accuracy(s)
    trained: dict[tuple[str, str, str, str], list[pl.DataFrame]] = {}
    for claim, _, f in runs:
        for (model, task, benchmark), s in SAMPLES.read(f).group_by("model", "task", "benchmark"):
            trained.setdefault((model, task, benchmark, claim), []).append(per_problem_accuracy(s))
    boot, rule, reg = analysis["bootstrap"], analysis["verdict"], analysis["regime"]
    rows = []
    for (model, task, benchmark, claim), per_seed in sorted(trained.items()):
        b = base[(model, task, benchmark)]
        matrix = np.stack([p.join(b.select("problem_id"), on="problem_id", how="right")["acc"].to_numpy() for p in per_seed])
        b_acc = b["acc"].to_numpy()
        low, high = bootstrap_gain(b_acc, matrix, boot["resamples"], boot["level"],
                                   stable_seed(seed, "bootstrap", model, task, benchmark, claim))
        cell_regime, alignment = regime(passk, model, task, benchmark, reg["k"], reg["threshold"])
        rows.append({
            "model": model, "task": task, "benchmark": benchmark, "claim": claim, "num_seeds": len(per_seed),
            "base_score": float(b_acc.mean()), "trained_score": float(matrix.mean()),
            "gain": float(matrix.mean() - b_acc.mean()), "ci_low": low, "ci_high": high,
            "base_pass_at_k": alignment, "regime": cell_regime,
            "verdict": verdict(low, high, rule["min_gain"]),
        })
    table = CLAIMS_TABLE.frame(rows)
    gt = table.filter(pl.col("claim") == "ground_truth").select("model", "task", "benchmark",
                                                                 pl.col("gain").alias("gt_gain"))
    table = table.join(gt, on=["model", "task", "benchmark"], how="left").with_columns(
        (pl.col("gain") / pl.col("gt_gain")).alias("gain_vs_ground_truth")
    ).drop("gt_gain")
    return CLAIMS_TABLE.check(table).sort("model", "task", "benchmark", "claim")


# -- alignment as a continuous axis -----------------------------------------------------------

def fit_threshold(alignment: np.ndarray, gain: np.ndarray) -> tuple[float, float, float]:
    """Least-squares step function of gain against base pass@k: the threshold
    (midway between two adjacent alignments) and the mean gain on either side.
    With fewer than two distinct alignments there is no step: NaN threshold."""
    order = np.argsort(alignment, kind="stable")
    x, y = np.asarray(alignment, float)[order], np.asarray(gain, float)[order]
    best = (np.inf, np.nan, float(y.mean()) if len(y) else np.nan, np.nan)
    for i in range(1, len(x)):
        if x[i] == x[i - 1]:
            continue
        left, right = y[:i], y[i:]
        sse = ((left - left.mean()) ** 2).sum() + ((right - right.mean()) ** 2).sum()
        if sse < best[0]:
            best = (sse, float((x[i - 1] + x[i]) / 2), float(left.mean()), float(right.mean()))
    return best[1], best[2], best[3]


def step_shape(below: float, above: float, min_gain: float) -> str:
    """How the fitted step reads against the verdict rule's ``min_gain``."""
    if np.isnan(above):
        return "no step"
    if above > min_gain >= below:
        return "works above threshold"
    if below > min_gain >= above:
        return "works below threshold"
    return "works on both sides" if min(below, above) > min_gain else "no gain on either side"


def thresholds_table(claims: pl.DataFrame, min_gain: float) -> pl.DataFrame:
    """Per claim, the fitted alignment threshold where it starts to work."""
    rows = []
    for (claim,), grp in claims.sort("claim").group_by("claim", maintain_order=True):
        t, below, above = fit_threshold(grp["base_pass_at_k"].to_numpy(), grp["gain"].to_numpy())
        rows.append({"claim": claim, "num_cells": grp.height, "threshold": t, "mean_gain_below": below,
                     "mean_gain_above": above, "shape": step_shape(below, above, min_gain)})
    return THRESHOLDS.frame(rows)


# -- the scientific check: the toy study against the paper -------------------------------------

def regime_verdict(verdicts: list[str]) -> str:
    """A regime's verdict from its cells': works where every cell works, no gain
    where none does, mixed otherwise."""
    working = sum(v == "works" for v in verdicts)
    return WORKS if working == len(verdicts) else NO_GAIN if working == 0 else "mixed"


def paper_comparison(claims: pl.DataFrame) -> pl.DataFrame:
    """Per claim x regime of the study: the toy's verdict beside the paper's.
    ``headline`` marks the cells of the claims the paper finds regime-dependent."""
    rows = []
    for (claim, reg), grp in claims.sort("claim", "regime").group_by("claim", "regime", maintain_order=True):
        entry = CLAIMS.get(claim)
        paper = dict(entry.paper).get(reg) if entry else None
        if paper is None:
            continue
        toy = regime_verdict(grp["verdict"].to_list())
        rows.append({"claim": claim, "regime": reg, "num_cells": grp.height,
                     "cells_working": int((grp["verdict"] == "works").sum()), "mean_gain": float(grp["gain"].mean()),
                     "toy": toy, "paper": paper, "agrees": toy == paper, "headline": entry.paper_regime_dependent})
    return PAPER_COMPARISON.frame(rows)


def comparison_markdown(comparison: pl.DataFrame, source: str) -> str:
    """The README's verdict table, rendered from the comparison table."""
    claim_order = [c for c in CLAIMS if c in set(comparison["claim"])]
    lines = [
        f"Generated by `python -m mirage readme-table` from `{source}`; do not edit by hand.",
        "",
        "| claim | regime | cells working | mean gain | toy study | paper | agree |",
        "|---|---|---|---|---|---|---|",
    ]
    for claim in claim_order:
        for row in comparison.filter(pl.col("claim") == claim).sort("regime").iter_rows(named=True):
            lines.append(f"| {claim} | {row['regime']} | {row['cells_working']}/{row['num_cells']} | "
                         f"{row['mean_gain']:+.3f} | {row['toy']} | {row['paper']} | {'yes' if row['agrees'] else 'no'} |")
    head = comparison.filter(pl.col("headline"))
    gt = comparison.filter(pl.col("claim") == "ground_truth")
    lines += ["", f"Agreement on the paper's regime-dependent claims: **{int(head['agrees'].sum())} of {head.height}** "
              f"claim x regime cells; ground-truth RL works in {int(gt['cells_working'].sum())} of "
              f"{int(gt['num_cells'].sum())} cells."]
    return "\n".join(lines) + "\n"
