"""Per-claim verdicts: the gain over the base model with a two-level
bootstrap CI (seeds, then problems, paired with the base model) and a one-sided p-value,
Holm-adjusted over the claims table; the alignment regime of the cell (the
pass@k rule's, and the paper's own label where the config gives it); a verdict
by the rule stated in the config (``analysis``); and the study's verdict per
claim x regime against the paper's, counting the cells of one RL run (its
benchmarks) once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from mirage.core.atomic import write_text_atomic
from mirage.core.schemas import CLAIMS_TABLE, PAPER_COMPARISON, PASSK, SAMPLES, THRESHOLDS, TRAINING_CURVES
from mirage.core.seeding import stable_seed
from mirage.training.claims import CLAIMS, NO_GAIN, WORKS, parse_run

INCONCLUSIVE = "inconclusive"
# a cell none of whose runs ever had a non-zero advantage: every group's rewards agreed at every
# step, the gradient was zero, nothing was learned; its gain says nothing about the claim
NO_SIGNAL = "no_signal"
BOOTSTRAP_SCHEMES = ("crossed", "nested")
BOOTSTRAP_CHUNK = 256  # replicates drawn at once


def was_trained(model_dir: str) -> bool:
    """Whether a run's model folder comes from training: a claim with nothing to
    train on in a cell writes the base model with ``"trained": false`` in its
    ``run.json`` (``mirage.training.runs.write_untrained_run``) and gets no verdict."""
    return json.loads((Path(model_dir) / "run.json").read_text()).get("trained", True)


def had_signal(curves_path: str) -> bool:
    """Whether a run ever had a learning signal: a step where some group's
    rewards differed (``frac_reward_zero_std`` below 1), so that some advantage,
    and the gradient, was not zero."""
    zero_std = TRAINING_CURVES.read(curves_path)["frac_reward_zero_std"].drop_nulls()
    return bool((zero_std < 1).any())


def per_problem_accuracy(samples: pl.DataFrame) -> pl.DataFrame:
    return samples.group_by("problem_id").agg(pl.col("correct").mean().alias("acc")).sort("problem_id")


def bootstrap_gains(base: np.ndarray, trained: np.ndarray, n_boot: int, seed: int,
                    scheme: str = "crossed", examples: np.ndarray | None = None) -> np.ndarray:
    """``n_boot`` bootstrap replicates of mean(trained) - mean(base). ``base``:
    the base model's per-problem accuracy (P,); ``trained``: per-run per-problem
    accuracy (R, P), problems in the same order.

    ``crossed`` (the default): each replicate resamples the runs (seeds) with
    replacement, then the P problems with replacement, one problem draw shared
    by all resampled runs (every run is evaluated on the same problems), each
    drawn problem paired with the base model's accuracy on it. The spread holds
    the seed-to-seed variation of the RL runs and the problem sampling, including
    per-problem gains that all seeds share. With one seed it is the paired
    problem bootstrap.

    ``examples`` (R,): for a one-shot claim trained on several selected examples,
    the example of each run; the runs are then resampled in two levels, the E
    examples with replacement and, within each drawn example, its S seeds (every
    example has the same seeds), so that the CI covers the choice of example as
    well as the seeds. With one example it is the bootstrap above.

    ``nested``: the problems are drawn again for each resampled run. It treats a
    run's problems as its own draw, so a per-problem gain shared by the seeds
    counts only 1/S of its variance: with 3 seeds and such gains its 95% CIs
    covered the true gain far less often than the crossed ones
    (``tests/test_verdicts.py``); it is kept for designs where each seed is
    evaluated on problems of its own."""
    if scheme not in BOOTSTRAP_SCHEMES:
        raise ValueError(f"bootstrap scheme {scheme!r} is not one of {', '.join(BOOTSTRAP_SCHEMES)}")
    rng = np.random.default_rng(seed)
    n_runs, n_problems = trained.shape
    levels = example_levels(examples, n_runs)
    gains = np.empty(n_boot)
    for start in range(0, n_boot, BOOTSTRAP_CHUNK):  # bounded memory: chunks of replicates
        b = min(BOOTSTRAP_CHUNK, n_boot - start)
        if levels is None:
            runs = rng.integers(0, n_runs, size=(b, n_runs))
        else:  # examples, then seeds within each drawn example: rows of `levels` (E, S)
            n_examples, n_seeds = levels.shape
            drawn = rng.integers(0, n_examples, size=(b, n_examples))
            runs = levels[drawn[:, :, None], rng.integers(0, n_seeds, size=(b, n_examples, n_seeds))].reshape(b, -1)
        if scheme == "nested":
            problems = rng.integers(0, n_problems, size=(b, runs.shape[1], n_problems))
            gains[start:start + b] = (trained[runs[:, :, None], problems] - base[problems]).mean(axis=(1, 2))
        else:
            problems = rng.integers(0, n_problems, size=(b, n_problems))
            gains[start:start + b] = (trained[runs[:, :, None], problems[:, None, :]].mean(axis=(1, 2))
                                      - base[problems].mean(axis=1))
    return gains


def example_levels(examples: np.ndarray | None, n_runs: int) -> np.ndarray | None:
    """The run indices (E, S) of each example's seeds, for two-level resampling;
    None where there is one example (or none given)."""
    if examples is None:
        return None
    examples = np.asarray(examples)
    if len(examples) != n_runs:
        raise ValueError(f"{len(examples)} example labels for {n_runs} runs")
    values = np.unique(examples)
    if len(values) < 2:
        return None
    per_example = [np.flatnonzero(examples == v) for v in values]
    if len({len(r) for r in per_example}) != 1:
        counts = ", ".join(f"example {v}: {len(r)}" for v, r in zip(values, per_example))
        raise ValueError(f"every example needs the same number of runs (seeds) to be resampled as a level ({counts})")
    return np.stack(per_example)


def percentile_ci(gains: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    return float(np.quantile(gains, alpha)), float(np.quantile(gains, 1 - alpha))


def bootstrap_gain(base: np.ndarray, trained: np.ndarray, n_boot: int, level: float, seed: int,
                   scheme: str = "crossed") -> tuple[float, float]:
    """Percentile CI at ``level`` of the gain, from :func:`bootstrap_gains`."""
    return percentile_ci(bootstrap_gains(base, trained, n_boot, seed, scheme), level)


def bootstrap_p_value(gains: np.ndarray, min_gain: float) -> float:
    """One-sided bootstrap p-value of "gain <= min_gain": the share of bootstrap
    gains at or below ``min_gain``, with the +1 correction (never 0)."""
    return float((1 + np.count_nonzero(gains <= min_gain)) / (len(gains) + 1))


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: the family-wise error of rejecting every
    hypothesis whose adjusted p-value is below alpha is at most alpha."""
    p = np.asarray(p_values, float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def one_sided_alpha(level: float) -> float:
    """The one-sided level of a two-sided CI at ``level``: a cell works by the CI
    rule about when its p-value is below it."""
    return (1 - level) / 2


def regime(passk: pl.DataFrame, model: str, task: str, benchmark: str, k: int, threshold: float) -> tuple[str, float]:
    """The pass@k rule's regime of a cell, and its base pass@k."""
    row = passk.filter((pl.col("model") == model) & (pl.col("task") == task) & (pl.col("benchmark") == benchmark)
                       & (pl.col("k") == k))
    if row.is_empty():
        raise ValueError(f"no pass@{k} for {model}/{task}/{benchmark}: 'analysis.regime.k' must be one of the "
                         "pass@k table's k")
    value = float(row["pass_at_k"][0])
    return ("strong" if value >= threshold else "weak"), value


def paper_regime(paper_regimes: dict[str, str], model: str, task: str, benchmark: str) -> str | None:
    """The paper's own label of a cell (``analysis.paper_regimes``): a
    ``model/task/benchmark`` key over a ``model/task`` one; None if neither."""
    return paper_regimes.get(f"{model}/{task}/{benchmark}", paper_regimes.get(f"{model}/{task}"))


def run_group(model: str, task: str, claim: str) -> str:
    """Cells that share one set of RL runs (the benchmarks of one training task)."""
    return f"{model}/{task}/{claim}"


def verdict(ci_low: float, ci_high: float, min_gain: float) -> str:
    """works: the whole CI is above ``min_gain``; fails: the whole CI is below it;
    otherwise inconclusive."""
    if ci_low > min_gain:
        return "works"
    if ci_high < min_gain:
        return "fails"
    return INCONCLUSIVE


def claims_table(base_files: list[str], runs: list[tuple[str, int, str]], passk_path: str, analysis: dict,
                 seed: int, silent_runs: set[tuple[str, str]] = frozenset()) -> pl.DataFrame:
    """``runs``: (claim, run, samples file) of every RL run (run: its name,
    ``mirage.training.claims.run_names``; a one-shot claim's runs on several examples are
    resampled examples first, see ``bootstrap_gains``). One row per
    (model, task, benchmark, claim): a benchmark is a cell of its own; the
    benchmarks of one training task share their runs (``run_group``). Each cell
    gets a CI and a one-sided p-value of "gain <= min_gain" from the same
    bootstrap replicates; ``p_holm`` adjusts the p-values over every cell of the
    table (Holm), and ``works_holm`` says whether it lies below the CI's
    one-sided level. ``silent_runs``: (claim, run) of the runs that never had a
    learning signal (``had_signal``); a cell all of whose runs are silent gets the
    verdict ``no_signal`` whatever its CI."""
    passk = PASSK.read(passk_path)
    base = {}
    for f in base_files:
        for (model, task, benchmark), s in SAMPLES.read(f).group_by("model", "task", "benchmark"):
            base[(model, task, benchmark)] = per_problem_accuracy(s)
    trained: dict[tuple[str, str, str, str], list[pl.DataFrame]] = {}
    run_keys: dict[tuple[str, str, str, str], list[tuple[int, int | None]]] = {}
    silent: dict[tuple[str, str, str, str], list[bool]] = {}
    silent_names = {(c, str(r)) for c, r in silent_runs}
    for claim, run, f in runs:
        key = parse_run(claim, run)
        quiet = (claim, str(run)) in silent_names
        for (model, task, benchmark), s in SAMPLES.read(f).group_by("model", "task", "benchmark"):
            trained.setdefault((model, task, benchmark, claim), []).append(per_problem_accuracy(s))
            run_keys.setdefault((model, task, benchmark, claim), []).append(key)
            silent.setdefault((model, task, benchmark, claim), []).append(quiet)
    boot, rule, reg = analysis["bootstrap"], analysis["verdict"], analysis["regime"]
    paper_regimes = analysis.get("paper_regimes") or {}
    rows = []
    for (model, task, benchmark, claim), per_seed in sorted(trained.items()):
        b = base[(model, task, benchmark)]
        matrix = np.stack([p.join(b.select("problem_id"), on="problem_id", how="right")["acc"].to_numpy() for p in per_seed])
        b_acc = b["acc"].to_numpy()
        keys = run_keys[(model, task, benchmark, claim)]
        examples = [example for _, example in keys]
        num_examples = len(set(examples))
        gains = bootstrap_gains(b_acc, matrix, boot["resamples"],
                                stable_seed(seed, "bootstrap", model, task, benchmark, claim),
                                boot.get("scheme", "crossed"), np.array(examples) if num_examples > 1 else None)
        low, high = percentile_ci(gains, boot["level"])
        per_seed_verdicts = seed_verdicts(b_acc, matrix, keys, boot, rule["min_gain"],
                                          stable_seed(seed, "bootstrap-per-seed", model, task, benchmark, claim))
        cell_regime, alignment = regime(passk, model, task, benchmark, reg["k"], reg["threshold"])
        rows.append({
            "model": model, "task": task, "benchmark": benchmark, "claim": claim,
            "run_group": run_group(model, task, claim), "num_seeds": len(per_seed) // num_examples,
            "num_examples": num_examples,
            "base_score": float(b_acc.mean()), "trained_score": float(matrix.mean()),
            "gain": float(matrix.mean() - b_acc.mean()), "ci_low": low, "ci_high": high,
            "p_value": bootstrap_p_value(gains, rule["min_gain"]),
            "base_pass_at_k": alignment, "regime_rule": cell_regime,
            "regime_paper": paper_regime(paper_regimes, model, task, benchmark),
            "verdict": NO_SIGNAL if all(silent[(model, task, benchmark, claim)]) else verdict(low, high, rule["min_gain"]),
            "seed_verdicts": ",".join(per_seed_verdicts) if len(per_seed_verdicts) > 1 else None,
        })
    table = pl.DataFrame(rows, schema={c: t for c, t in CLAIMS_TABLE.columns.items()
                                       if c not in ("gain_vs_ground_truth", "p_holm", "works_holm", "verdict_stable")},
                         orient="row")
    adjusted = holm(table["p_value"].to_numpy()) if table.height else np.empty(0)
    table = table.with_columns(pl.Series("p_holm", adjusted, pl.Float64)).with_columns(
        (pl.col("p_holm") < one_sided_alpha(boot["level"])).alias("works_holm"))
    gt = table.filter(pl.col("claim") == "ground_truth").select("model", "task", "benchmark",
                                                                 pl.col("gain").alias("gt_gain"))
    table = table.join(gt, on=["model", "task", "benchmark"], how="left").with_columns(
        (pl.col("gain") / pl.col("gt_gain")).alias("gain_vs_ground_truth")
    ).drop("gt_gain")
    # stable: every seed's own verdict is the cell's (null with one seed: nothing to compare)
    stable = pl.when(pl.col("seed_verdicts").is_null() | (pl.col("verdict") == NO_SIGNAL)).then(None).otherwise(
        pl.col("seed_verdicts").str.split(",").list.eval(pl.element() == pl.element().first()).list.all()
        & (pl.col("seed_verdicts").str.split(",").list.first() == pl.col("verdict")))
    table = table.with_columns(stable.alias("verdict_stable"))
    return CLAIMS_TABLE.check(table).sort("model", "task", "benchmark", "claim")


def seed_verdicts(base: np.ndarray, trained: np.ndarray, keys: list[tuple[int, int | None]], boot: dict,
                  min_gain: float, seed: int) -> list[str]:
    """Each seed's own verdict in seed order, by the same rule, from that seed's
    runs alone (its examples resampled as a level where it has several):
    whether a cell's verdict holds seed by seed, or rests on one lucky run."""
    out = []
    for index, run_seed in enumerate(sorted({s for s, _ in keys})):
        rows = [i for i, (s, _) in enumerate(keys) if s == run_seed]
        examples = [keys[i][1] for i in rows]
        gains = bootstrap_gains(base, trained[rows], boot["resamples"], seed + index, boot.get("scheme", "crossed"),
                                np.array(examples) if len(set(examples)) > 1 else None)
        out.append(verdict(*percentile_ci(gains, boot["level"]), min_gain))
    return out


def upgrade_legacy_claims(table: pl.DataFrame) -> pl.DataFrame:
    """A claims table written before issue 14 (the recorded
    ``benchmarks/results/*/claims.parquet``) in today's columns: its ``regime``
    is the pass@k rule's (``regime_rule``); it has no paper regime, no p-values
    (null) and its run groups follow from model/task/claim. Its CIs came from
    the crossed bootstrap, today's default. A table from before one-shot claims
    could train on several examples per cell trained on one (``num_examples``
    1). A table in today's columns is returned as it is."""
    if "num_examples" not in table.columns and "num_seeds" in table.columns:
        table = table.with_columns(pl.lit(1, pl.Int32).alias("num_examples"))
    if "verdict_stable" not in table.columns:  # from before the per-seed verdicts: not known
        table = table.with_columns(pl.lit(None, pl.String).alias("seed_verdicts"),
                                   pl.lit(None, pl.Boolean).alias("verdict_stable"))
    if "regime_rule" in table.columns or "regime" not in table.columns:
        return table
    return table.rename({"regime": "regime_rule"}).with_columns(
        pl.concat_str(["model", "task", "claim"], separator="/").alias("run_group"),
        pl.lit(None, pl.String).alias("regime_paper"),
        pl.lit(None, pl.Float64).alias("p_value"),
        pl.lit(None, pl.Float64).alias("p_holm"),
        pl.lit(None, pl.Boolean).alias("works_holm"),
    )


def read_claims(path: str | Path) -> pl.DataFrame:
    """A claims table from disk, a pre-issue-14 one upgraded by
    :func:`upgrade_legacy_claims`; any other mismatch fails as
    ``CLAIMS_TABLE.read`` does."""
    return CLAIMS_TABLE.check(upgrade_legacy_claims(pl.read_parquet(path)), str(path))


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


def run_group_points(claims: pl.DataFrame) -> pl.DataFrame:
    """One row per run group of a claim: its cells' mean base pass@k and mean
    gain (the benchmarks of one training task are not independent points)."""
    return (claims.group_by("claim", "run_group")
            .agg(pl.col("base_pass_at_k").mean(), pl.col("gain").mean(), pl.len().alias("num_cells"))
            .sort("claim", "run_group"))


def thresholds_table(claims: pl.DataFrame, min_gain: float) -> pl.DataFrame:
    """Per claim, the fitted alignment threshold where it starts to work, fitted
    on one point per run group (:func:`run_group_points`)."""
    points = run_group_points(claims)
    rows = []
    for (claim,), grp in points.group_by("claim", maintain_order=True):
        t, below, above = fit_threshold(grp["base_pass_at_k"].to_numpy(), grp["gain"].to_numpy())
        rows.append({"claim": claim, "num_cells": int(grp["num_cells"].sum()), "num_run_groups": grp.height,
                     "threshold": t, "mean_gain_below": below, "mean_gain_above": above,
                     "shape": step_shape(below, above, min_gain)})
    return THRESHOLDS.frame(rows)


# -- the scientific check: the toy study against the paper -------------------------------------

def regime_verdict(verdicts: list[str]) -> str:
    """All or nothing, for a run group from its cells' verdicts and for a regime
    from its run groups': works where every one works, no gain where every one
    fails (its whole CI below ``min_gain``; a run group: no gain), inconclusive
    otherwise (some work and some do not, or one is inconclusive); no_signal
    where every one had no learning signal."""
    if verdicts and all(v == NO_SIGNAL for v in verdicts):
        return NO_SIGNAL
    if verdicts and all(v == WORKS for v in verdicts):
        return WORKS
    if verdicts and all(v in ("fails", NO_GAIN) for v in verdicts):
        return NO_GAIN
    return INCONCLUSIVE


REGIME_SOURCES = {"rule": "regime_rule", "paper": "regime_paper"}


def paper_comparison(claims: pl.DataFrame) -> pl.DataFrame:
    """Per claim x regime: the study's verdict beside the paper's, under the
    pass@k rule's regimes (``regime_from`` "rule": the project's own prediction,
    ``regime_rule``) and, where cells carry the paper's own labels
    (``regime_paper``, the paper config), under those too ("paper": what the
    paper's verdicts refer to; cells without a label are left out there). The
    units of a regime are its run groups: a run group's verdict combines its
    benchmarks' by :func:`regime_verdict`, and the regime's combines its run
    groups' by the same rule; an inconclusive regime disagrees with the paper
    whatever the paper says. ``headline`` marks the claims the paper finds
    regime-dependent; ``num_comparisons`` is the number of cells (tests) of the
    whole claims table, the family of ``p_holm``. Where the study learned
    nothing (``learned_nothing``) or a regime had no learning signal, ``agrees``
    is null: there is nothing to compare with the paper."""
    silent_study = learned_nothing(claims) is not None
    rows = []
    for source, column in REGIME_SOURCES.items():
        labelled = claims.filter(pl.col(column).is_not_null())
        for (claim, reg), grp in labelled.sort("claim", column, "run_group").group_by(
                "claim", column, maintain_order=True):
            entry = CLAIMS.get(claim)
            paper = dict(entry.paper).get(reg) if entry else None
            if paper is None:
                continue
            groups: dict[str, list[dict]] = {}
            for cell in grp.iter_rows(named=True):
                groups.setdefault(cell["run_group"], []).append(cell)
            group_verdicts = [regime_verdict([c["verdict"] for c in cells]) for cells in groups.values()]
            group_gains = [float(np.mean([c["gain"] for c in cells])) for cells in groups.values()]
            holm_known = grp["works_holm"].null_count() == 0
            toy = regime_verdict(group_verdicts)
            rows.append({"claim": claim, "regime_from": source, "regime": reg, "num_cells": grp.height,
                         "num_run_groups": len(groups), "cells_working": int((grp["verdict"] == WORKS).sum()),
                         "run_groups_working": sum(v == WORKS for v in group_verdicts),
                         "cells_working_holm": int(grp["works_holm"].sum()) if holm_known else None,
                         "mean_gain": float(np.mean(group_gains)), "toy": toy, "paper": paper,
                         "agrees": None if silent_study or toy == NO_SIGNAL else toy == paper,
                         "headline": entry.paper_regime_dependent, "num_comparisons": claims.height})
    return PAPER_COMPARISON.frame(rows)


def learned_nothing(claims: pl.DataFrame) -> str | None:
    """Why a study's verdicts say nothing about the paper's, or None: ground
    truth, the baseline every claim is read against, works in none of its run
    groups, or no run had a learning signal at all."""
    if claims.height and (claims["verdict"] == NO_SIGNAL).all():
        return "no training run had a learning signal (every group's rewards agreed at every step: zero gradients)"
    gt = claims.filter(pl.col("claim") == "ground_truth")
    if gt.height:
        groups = [regime_verdict(g["verdict"].to_list()) for _, g in gt.group_by("run_group", maintain_order=True)]
        if WORKS not in groups:
            return (f"ground-truth RL works in none of its {len(groups)} run groups: the claims are read against a "
                    "baseline that learned nothing")
    return None


def _agreement(rows: pl.DataFrame) -> str:
    head = rows.filter(pl.col("headline") & pl.col("agrees").is_not_null())
    return f"**{int(head['agrees'].sum())} of {head.height}**"


AGREE = {True: "yes", False: "no", None: "-"}


def comparison_markdown(comparison: pl.DataFrame, claims: pl.DataFrame, source: str,
                        generator: str = "`python -m mirage readme-table`") -> str:
    """The README's verdict table (and a study's ``paper_comparison.md``),
    rendered from the comparison table and the claims table it came from (for
    the count of comparisons); ``generator``: what wrote it."""
    claim_order = [c for c in CLAIMS if c in set(comparison["claim"])]
    rule = comparison.filter(pl.col("regime_from") == "rule")
    labelled = comparison.filter(pl.col("regime_from") == "paper")
    both = labelled.height > 0  # the paper's labels: both views, the paper's first
    lines = [
        f"Generated by {generator} from `{source}`; do not edit by hand.",
        "",
        "| claim | " + ("regimes by | " if both else "") + "regime | run groups working | mean gain | this study | paper | agree |",
        "|---|---|---|---|---|---|---|" + ("---|" if both else ""),
    ]
    for claim in claim_order:
        for source in ("paper", "rule") if both else ("rule",):
            part = comparison.filter((pl.col("claim") == claim) & (pl.col("regime_from") == source)).sort("regime")
            for row in part.iter_rows(named=True):
                lines.append(f"| {claim} | " + (f"{source} | " if both else "") +
                             f"{row['regime']} | {row['run_groups_working']}/{row['num_run_groups']} | "
                             f"{row['mean_gain']:+.3f} | {row['toy']} | {row['paper']} | {AGREE[row['agrees']]} |")
    gt = rule.filter(pl.col("claim") == "ground_truth")
    groups = claims.select("run_group").n_unique()
    silent = learned_nothing(claims)
    if silent:
        headline = (f"**No learning signal: {silent}.** The study's verdicts say nothing about the paper's, and no "
                    "agreement is counted")
    elif both:
        headline = (f"Agreement on the paper's regime-dependent claims, under the paper's own regime labels: "
                    f"{_agreement(labelled)} claim x regime cells; under the pass@k rule's regimes (this project's "
                    f"prediction): {_agreement(rule)} (an inconclusive regime counts as a disagreement)")
    else:
        headline = (f"Agreement on the paper's regime-dependent claims: {_agreement(rule)} claim x regime cells "
                    f"(an inconclusive regime counts as a disagreement)")
    lines += ["", f"{headline}; ground-truth RL works in "
              f"{int(gt['run_groups_working'].sum())} of {int(gt['num_run_groups'].sum())} run groups."]
    if claims["works_holm"].null_count() == 0:
        holm_line = (f"Holm-adjusted over all {claims.height}, {int(claims['works_holm'].sum())} cells work at the "
                     f"family-wise level (`p_holm` below the CIs' one-sided level).")
    else:
        holm_line = "This claims table predates the p-values: no Holm-adjusted count."
    lines += ["", f"Comparisons: {claims.height} cells ({groups} run groups) in the claims table, each a one-sided "
              f"bootstrap test of gain <= min_gain. {holm_line}"]
    known = claims.filter(pl.col("verdict_stable").is_not_null())
    if known.height:
        lines += ["", f"Seed by seed: {int(known['verdict_stable'].sum())} of {known.height} cells with several seeds "
                  "have the same verdict on every seed as on all together (`verdict_stable`); a verdict that holds "
                  "on some seeds only is not a result."]
    return "\n".join(lines) + "\n"


def status_line(comparison: pl.DataFrame, claims: pl.DataFrame, study: str) -> str:
    """The README's one-line status of a study against the paper: its agreement on the
    paper's regime-dependent claim x regime cells (under the paper's own labels where
    the cells carry them, else the pass@k rule's), from the same tables as its verdict table."""
    silent = learned_nothing(claims)
    if silent:
        return f"**Status:** {study} says nothing about the paper's claims: {silent}."
    labelled = comparison.filter(pl.col("regime_from") == "paper")
    rows = labelled if labelled.height else comparison.filter(pl.col("regime_from") == "rule")
    return (f"**Status:** {study} agrees with the paper on {_agreement(rows)} of the claim x regime cells "
            "where the paper finds a claim regime-dependent (table below; an inconclusive regime counts as a "
            "disagreement).")


def claims_block(claims_path: str | Path, study: str | None = None, source: str | None = None) -> str:
    """A generated verdict block of the docs (``python -m mirage readme-table`` and
    ``docs``): the comparison table of a claims table, with ``study``'s status line
    after its first line where ``study`` is given; ``source``: the path it names
    (default: ``claims_path``)."""
    claims = read_claims(claims_path)
    comparison = paper_comparison(claims)
    markdown = comparison_markdown(comparison, claims, source or str(claims_path))
    if study is None:
        return markdown
    first, rest = markdown.split("\n\n", 1)
    return f"{first}\n\n{status_line(comparison, claims, study)}\n\n{rest}"


def write_verdict_tables(claims: pl.DataFrame, min_gain: float, thresholds_path: str | Path,
                         comparison_path: str | Path, markdown_path: str | Path, source: str,
                         generator: str = "rule `verdict_tables`") -> None:
    """The thresholds and paper-comparison tables and the comparison's markdown
    of one claims table (rule ``verdict_tables``; ``python -m mirage
    verdict-tables`` for a recorded study)."""
    comparison = paper_comparison(claims)
    THRESHOLDS.write(thresholds_table(claims, min_gain), thresholds_path)
    PAPER_COMPARISON.write(comparison, comparison_path)
    write_text_atomic(markdown_path, comparison_markdown(comparison, claims, source, generator))
