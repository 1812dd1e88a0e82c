"""Per-claim verdicts: gain over the base model with a bootstrap confidence
interval over problems and seeds, the alignment regime of the cell, and a
verdict by the rule stated in the config (``analysis``)."""

from __future__ import annotations

import numpy as np
import polars as pl

from mirage.schemas import CLAIMS_TABLE, PASSK, SAMPLES
from mirage.seeding import stable_seed


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


def regime(passk: pl.DataFrame, model: str, task: str, k: int, threshold: float) -> tuple[str, float]:
    row = passk.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("k") == k))
    if row.is_empty():
        raise ValueError(f"no pass@{k} for {model}/{task}: 'analysis.regime.k' must be one of the pass@k table's k")
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
    """``runs``: (claim, seed, samples file) of every RL run."""
    passk = PASSK.read(passk_path)
    base = {}
    for f in base_files:
        s = SAMPLES.read(f)
        base[(s["model"][0], s["task"][0])] = per_problem_accuracy(s)
    trained: dict[tuple[str, str, str], list[pl.DataFrame]] = {}
    for claim, _, f in runs:
        s = SAMPLES.read(f)
        trained.setdefault((s["model"][0], s["task"][0], claim), []).append(per_problem_accuracy(s))
    boot, rule, reg = analysis["bootstrap"], analysis["verdict"], analysis["regime"]
    rows = []
    for (model, task, claim), per_seed in sorted(trained.items()):
        b = base[(model, task)]
        matrix = np.stack([p.join(b.select("problem_id"), on="problem_id", how="right")["acc"].to_numpy() for p in per_seed])
        b_acc = b["acc"].to_numpy()
        low, high = bootstrap_gain(b_acc, matrix, boot["resamples"], boot["level"],
                                   stable_seed(seed, "bootstrap", model, task, claim))
        cell_regime, alignment = regime(passk, model, task, reg["k"], reg["threshold"])
        rows.append({
            "model": model, "task": task, "claim": claim, "num_seeds": len(per_seed),
            "base_score": float(b_acc.mean()), "trained_score": float(matrix.mean()),
            "gain": float(matrix.mean() - b_acc.mean()), "ci_low": low, "ci_high": high,
            "base_pass_at_k": alignment, "regime": cell_regime,
            "verdict": verdict(low, high, rule["min_gain"]),
        })
    table = CLAIMS_TABLE.frame(rows)
    gt = table.filter(pl.col("claim") == "ground_truth").select("model", "task", pl.col("gain").alias("gt_gain"))
    table = table.join(gt, on=["model", "task"], how="left").with_columns(
        (pl.col("gain") / pl.col("gt_gain")).alias("gain_vs_ground_truth")
    ).drop("gt_gain")
    return CLAIMS_TABLE.check(table).sort("model", "task", "claim")
