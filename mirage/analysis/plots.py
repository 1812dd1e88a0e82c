"""Figures of the study (matplotlib, written as PNG and SVG)."""

from __future__ import annotations

import polars as pl

from mirage.core import provenance
from mirage.core.atomic import atomic_file
from mirage.core.schemas import CLAIMS_TABLE, CONTAMINATION_SUMMARY, EVAL_STYLES, PASSK, RUN_CURVES, THRESHOLDS


def _figure_module():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Fixed metadata so that a rebuilt figure is byte-identical.
    plt.rcParams["svg.hashsalt"] = "mirage"
    return plt


def save_figure(fig, out_paths: list[str], dpi: int = 120) -> None:
    import json

    stamp = json.dumps(provenance.record(), sort_keys=True)
    for path in out_paths:
        with atomic_file(path) as tmp:
            if tmp.suffix == ".png":
                fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={"Software": None, provenance.KEY: stamp})
            else:
                fig.savefig(tmp, dpi=dpi, bbox_inches="tight", metadata={"Date": None})
                text = tmp.read_text()
                # after the XML declaration: an SVG comment any reader skips
                head, _, rest = text.partition("\n")
                tmp.write_text(f"{head}\n<!-- {provenance.KEY} {stamp} -->\n{rest}")


def plot_passk_curves(passk_path: str, model: str, out_paths: list[str], dpi: int = 120) -> None:
    """pass@k against k (log scale) for every benchmark the model was sampled on."""
    plt = _figure_module()
    df = PASSK.read(passk_path).filter(pl.col("model") == model)
    if df.is_empty():
        raise ValueError(f"{passk_path}: no pass@k rows for model {model!r}")
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for (benchmark,), grp in df.sort("benchmark", "k").group_by("benchmark", maintain_order=True):
        ax.plot(grp["k"], grp["pass_at_k"], marker="o", label=benchmark)
    ax.set_xscale("log", base=2)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k")
    ax.set_title(f"{model}: alignment by pass@k ({df['num_problems'][0]} problems, n={df['n'][0]})")
    ax.grid(alpha=0.3)
    ax.legend(title="benchmark", loc="center left", bbox_to_anchor=(1.02, 0.5))
    save_figure(fig, out_paths, dpi)
    plt.close(fig)


def _cells(df: pl.DataFrame) -> list[tuple[str, str, str]]:
    """(model, benchmark, regime) cells, strong first (a toy task is its own benchmark);
    the regime is the pass@k rule's (``regime_rule``)."""
    cells = df.select("model", "benchmark", "regime_rule").unique()
    return sorted(cells.rows(), key=lambda r: (r[2] != "strong", r[0], r[1]))


def plot_claim_gains(claims_path: str, out_paths: list[str], dpi: int = 120) -> None:
    """Gain over the base model per claim, one bar per model x benchmark, grouped by
    regime, with the bootstrap CI: the paper's main comparison."""
    plt = _figure_module()
    df = CLAIMS_TABLE.read(claims_path)
    claims = sorted(df["claim"].unique().to_list(), key=lambda c: (c != "ground_truth", c))
    cells = _cells(df)
    width = 0.8 / max(len(cells), 1)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(claims) + 2), 3.8))
    for i, (model, benchmark, regime) in enumerate(cells):
        sub = {r["claim"]: r for r in df.filter((pl.col("model") == model) & (pl.col("benchmark") == benchmark)).to_dicts()}
        xs = [j + (i - (len(cells) - 1) / 2) * width for j in range(len(claims))]
        gains = [sub[c]["gain"] if c in sub else float("nan") for c in claims]
        err = [[sub[c]["gain"] - sub[c]["ci_low"] if c in sub else 0 for c in claims],
               [sub[c]["ci_high"] - sub[c]["gain"] if c in sub else 0 for c in claims]]
        ax.bar(xs, gains, width, yerr=err, capsize=2, label=f"{model} × {benchmark} ({regime})",
               hatch=None if regime == "strong" else "//", alpha=0.9)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(range(len(claims)))
    ax.set_xticklabels(claims, rotation=30, ha="right")
    ax.set_ylabel("gain in avg@n over the base model")
    ax.set_title("Gain per claim by alignment regime (bars: bootstrap CI)")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    ax.grid(axis="y", alpha=0.3)
    save_figure(fig, out_paths, dpi)
    plt.close(fig)


def plot_style_shift(styles_path: str, claims_path: str, out_paths: list[str], dpi: int = 120) -> None:
    """Share of each solution style before (base) and after each claim, mean over
    seeds, per model x benchmark, from the long EVAL_STYLES table (the styles are
    the task family's: only tasks whose family labels styles have rows): does RL
    amplify the behaviour the model already had?"""
    plt = _figure_module()
    ev = EVAL_STYLES.read(styles_path)
    if ev.is_empty():
        raise ValueError(f"{styles_path}: no sample carries a style (no task's family labels styles)")
    regimes = CLAIMS_TABLE.read(claims_path).select("model", "task", "benchmark", "regime_rule").unique()
    ev = ev.join(regimes, on=["model", "task", "benchmark"])
    cells = _cells(ev)
    styles = sorted(ev["style"].unique().to_list())
    colors = dict(zip(styles, plt.get_cmap("tab10").colors))
    fig, axes = plt.subplots(1, len(cells), figsize=(3.2 * len(cells), 3.6), sharey=True, squeeze=False)
    for ax, (model, benchmark, regime) in zip(axes[0], cells):
        sub = ev.filter((pl.col("model") == model) & (pl.col("benchmark") == benchmark))
        # mean share over seeds; a style a run never used counts as 0 in that run
        runs = sub.select("claim", "seed", "example").unique().group_by("claim").len(name="runs")
        per_claim = (sub.group_by("claim", "style").agg(pl.col("share").sum()).join(runs, on="claim")
                     .with_columns(pl.col("share") / pl.col("runs")))
        claims = sorted(per_claim["claim"].unique().to_list(), key=lambda c: (c != "base", c))
        left = [0.0] * len(claims)
        for style in styles:
            share = dict(per_claim.filter(pl.col("style") == style).select("claim", "share").iter_rows())
            widths = [share.get(c, 0.0) for c in claims]
            ax.barh(claims, widths, left=left, label=style, color=colors[style])
            left = [a + b for a, b in zip(left, widths)]
        ax.set_title(f"{model} × {benchmark} ({regime})", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of samples")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(styles), fontsize=8, bbox_to_anchor=(0.5, -0.06))
    fig.suptitle("Solution style before (base) and after RL")
    save_figure(fig, out_paths, dpi)
    plt.close(fig)


def plot_training_curves(curves_path: str, claims: list[str], out_paths: list[str], dpi: int = 120) -> None:
    """Reward and entropy per step for the given claims (e.g. NSR vs PSR vs
    ground truth), one column per model x task."""
    plt = _figure_module()
    fig = training_curves_figure(RUN_CURVES.read(curves_path), claims)
    save_figure(fig, out_paths, dpi)
    plt.close(fig)


def training_curves_figure(df: pl.DataFrame, claims: list[str]):
    """The figure of ``plot_training_curves``: each panel with its own y axis
    and plain tick labels (no offset text over the title), laid out so that no
    panel's labels run into the next one."""
    plt = _figure_module()
    df = df.filter(pl.col("claim").is_in(claims))
    cells = df.select("model", "task").unique().sort("model", "task").rows()
    fig, axes = plt.subplots(2, len(cells), figsize=(3.4 * len(cells), 5.2), sharex=True, squeeze=False,
                             layout="constrained")
    for col, (model, task) in enumerate(cells):
        sub = df.filter((pl.col("model") == model) & (pl.col("task") == task))
        for claim in claims:
            c = sub.filter(pl.col("claim") == claim).group_by("step").agg(pl.col("reward").mean(), pl.col("entropy").mean()).sort("step")
            rewarded = c.filter(pl.col("reward").is_not_null())
            axes[0][col].plot(rewarded["step"], rewarded["reward"], label=claim)
            axes[1][col].plot(c["step"], c["entropy"], label=claim)
        axes[0][col].set_title(f"{model} × {task}", fontsize=9)
        axes[1][col].set_xlabel("optimizer step")
        for ax in (axes[0][col], axes[1][col]):
            ax.ticklabel_format(axis="y", style="plain", useOffset=False)
            ax.tick_params(labelsize=7)
            ax.yaxis.set_major_locator(plt.MaxNLocator(5))
    axes[0][0].set_ylabel("mean reward")
    axes[1][0].set_ylabel("policy entropy")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(claims), fontsize=8)
    return fig


def plot_gain_vs_alignment(claims_path: str, thresholds_path: str, regime: dict, min_gain: float,
                           out_paths: list[str], dpi: int = 120) -> None:
    """Each claim's gain (with its CI) against the base model's pass@k, one panel
    per claim, with the fitted step threshold (fitted on one point per run group):
    alignment as a continuous axis. Points are coloured by the pass@k rule's
    regime; a cell the paper labels otherwise (``regime_paper``) is drawn hollow."""
    plt = _figure_module()
    df = CLAIMS_TABLE.read(claims_path)
    fits = {r["claim"]: r for r in THRESHOLDS.read(thresholds_path).to_dicts()}
    claims = sorted(df["claim"].unique().to_list(), key=lambda c: (c != "ground_truth", c))
    cols = min(4, len(claims))
    rows = -(-len(claims) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 2.6 * rows), sharex=True, sharey=True, squeeze=False)
    for ax, claim in zip(axes.flat, claims):
        sub = df.filter(pl.col("claim") == claim).sort("base_pass_at_k")
        for reg, color in (("strong", "tab:blue"), ("weak", "tab:orange")):
            part = sub.filter(pl.col("regime_rule") == reg)
            ax.errorbar(part["base_pass_at_k"], part["gain"],
                        yerr=[part["gain"] - part["ci_low"], part["ci_high"] - part["gain"]],
                        fmt="o", ms=4, capsize=2, color=color, label=f"{reg} cell")
            differs = part.filter(pl.col("regime_paper").is_not_null() & (pl.col("regime_paper") != reg))
            if differs.height:
                ax.plot(differs["base_pass_at_k"], differs["gain"], "o", ms=4, color="white", mec=color,
                        label=f"{reg} cell, paper: {'weak' if reg == 'strong' else 'strong'}")
        fit = fits.get(claim)
        if fit and fit["threshold"] is not None and fit["threshold"] == fit["threshold"]:
            x0, x1 = 0.0, 1.0
            t = fit["threshold"]
            ax.plot([x0, t, t, x1], [fit["mean_gain_below"], fit["mean_gain_below"], fit["mean_gain_above"],
                                     fit["mean_gain_above"]], color="black", lw=1, label="fitted step")
            ax.annotate(f"t={t:.2f}", (t, fit["mean_gain_above"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(min_gain, color="grey", ls=":", lw=0.8)
        ax.axhline(0, color="black", lw=0.5)
        ax.axvline(regime["threshold"], color="grey", ls="--", lw=0.8)
        ax.set_title(claim, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(claims):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(f"base pass@{regime['k']}")
    for ax in axes[:, 0]:
        ax.set_ylabel("gain")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, bbox_to_anchor=(0.5, -0.03))
    fig.suptitle(f"Gain against alignment (dashed: regime threshold {regime['threshold']}; dotted: min gain {min_gain})",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    save_figure(fig, out_paths, dpi)
    plt.close(fig)


def plot_contamination(summary_path: str, flag_exact_match: float, out_paths: list[str], dpi: int = 120) -> None:
    """Exact-match rate and mean ROUGE-L of greedy prompt completions per model x
    benchmark; flagged cells outlined in red."""
    plt = _figure_module()
    df = CONTAMINATION_SUMMARY.read(summary_path).sort("model", "benchmark")
    labels = [f"{m} × {b}" for m, b in df.select("model", "benchmark").rows()]
    xs = range(df.height)
    fig, ax = plt.subplots(figsize=(max(5, 0.9 * df.height + 2), 3.6))
    edge = ["tab:red" if f else "none" for f in df["flagged"]]
    ax.bar([x - 0.2 for x in xs], df["exact_match_rate"], 0.4, label="exact match", edgecolor=edge, linewidth=2)
    ax.bar([x + 0.2 for x in xs], df["mean_rouge_l"], 0.4, label="ROUGE-L", edgecolor=edge, linewidth=2)
    ax.axhline(flag_exact_match, color="tab:red", ls=":", lw=1, label="flag threshold (exact match)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, rotation=30, ha="right")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("score of the greedy continuation")
    ax.set_title("Contamination check: completing cut evaluation prompts")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    save_figure(fig, out_paths, dpi)
    plt.close(fig)
