from pathlib import Path

import polars as pl
import pytest

from mirage.analysis import plots
from mirage.analysis.verdicts import thresholds_table
from mirage.core.schemas import CLAIMS_TABLE, EVAL_STYLES, THRESHOLDS


def _claims():
    rows = []
    for model, task, alignment, regime, paper in (("m", "add", 0.95, "strong", "weak"), ("m", "sub", 0.4, "weak", None)):
        for claim, gain in (("ground_truth", 0.3), ("random", 0.05 if regime == "strong" else -0.02)):
            rows.append({"model": model, "task": task, "benchmark": task, "claim": claim,
                         "run_group": f"{model}/{task}/{claim}", "num_seeds": 1, "base_score": 0.4,
                         "trained_score": 0.4 + gain, "gain": gain, "gain_vs_ground_truth": gain / 0.3,
                         "ci_low": gain - 0.02, "ci_high": gain + 0.02, "p_value": 0.01, "p_holm": 0.04,
                         "works_holm": False, "base_pass_at_k": alignment, "regime_rule": regime,
                         "regime_paper": paper, "verdict": "works" if gain > 0.04 else "fails"})
    return CLAIMS_TABLE.frame(rows)


@pytest.mark.integration
def test_result_figures_read_the_rule_and_paper_regimes(tmp_path):
    claims, thresholds = tmp_path / "claims.parquet", tmp_path / "thresholds.parquet"
    CLAIMS_TABLE.write(_claims(), claims)
    THRESHOLDS.write(thresholds_table(_claims(), 0.02), thresholds)
    out = [str(tmp_path / "gains.png"), str(tmp_path / "gains.svg")]
    plots.plot_claim_gains(str(claims), out, dpi=40)
    plots.plot_gain_vs_alignment(str(claims), str(thresholds), {"k": 16, "threshold": 0.75}, 0.02,
                                 [str(tmp_path / "align.svg")], dpi=40)
    # the cell the paper labels otherwise (m x add: strong by the rule, weak in the paper) is drawn hollow
    assert "strong cell, paper: weak" in (tmp_path / "align.svg").read_text()
    # any styles a family names, from the long table; "random" used "guess" in one of its two seeds
    shares = [("base", 0, "plan", 1.0), ("random", 1, "plan", 0.5), ("random", 1, "guess", 0.5),
              ("random", 2, "plan", 1.0)]
    styles = EVAL_STYLES.frame([{"model": "m", "task": t, "claim": c, "seed": s, "benchmark": t, "style": st,
                                 "share": v} for t in ("add", "sub") for c, s, st, v in shares])
    EVAL_STYLES.write(styles, tmp_path / "eval_styles.parquet")
    plots.plot_style_shift(str(tmp_path / "eval_styles.parquet"), str(claims), [str(tmp_path / "style.svg")], dpi=40)
    svg = (tmp_path / "style.svg").read_text()
    assert "m × add (strong)" in svg  # the rule's regime in each title
    assert "guess" in svg and "plan" in svg  # the legend names the family's styles
    # a study whose tasks carry no style has no style figure to draw
    EVAL_STYLES.write(EVAL_STYLES.frame([]), tmp_path / "none.parquet")
    with pytest.raises(ValueError, match="no sample carries a style"):
        plots.plot_style_shift(str(tmp_path / "none.parquet"), str(claims), [str(tmp_path / "x.svg")], dpi=40)
    assert all(Path(p).stat().st_size > 5000 for p in out)


def test_training_curves_panels_keep_their_labels_to_themselves():
    # entropies near 1000 with tiny differences: matplotlib's default puts an offset text
    # ("+1e3") over the panel, into the title; long tick labels run into the next panel
    from mirage.analysis.plots import training_curves_figure
    from mirage.core.schemas import RUN_CURVES, TRAINING_CURVES

    rows = [{"model": "m", "task": t, "claim": c, "seed": 1, "example": None, "step": step,
             "reward": 0.1 * step + (c == "psr") * 0.05, "entropy": 1000.0001 + 1e-5 * step}
            for t in ("add", "mul", "sub") for c in ("nsr", "psr") for step in range(8)]
    frame = RUN_CURVES.check(pl.DataFrame(rows).with_columns(
        [pl.lit(None, dtype).alias(name) for name, dtype in TRAINING_CURVES.columns.items()
         if name not in ("step", "reward", "entropy")]).with_columns(pl.col("step").cast(pl.Int64),
                                                                     pl.col("example").cast(pl.Int64)))
    fig = training_curves_figure(frame, ["nsr", "psr"])
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = fig.axes
    assert all(ax.yaxis.get_offset_text().get_text() == "" for ax in axes)

    def drawn(ax):  # the tick labels drawn: visible, at a tick inside the panel's view
        (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
        return [label.get_window_extent(renderer)
                for ticks, labels, lo, hi in ((ax.get_xticks(), ax.get_xticklabels(), x0, x1),
                                              (ax.get_yticks(), ax.get_yticklabels(), y0, y1))
                for tick, label in zip(ticks, labels)
                if label.get_text() and label.get_visible() and lo <= tick <= hi]

    boxes = [drawn(ax) for ax in axes]
    for i, a in enumerate(axes):
        for j, b in enumerate(axes):
            if i != j:  # no tick label of one panel inside another panel or over its labels
                assert not any(box.overlaps(b.get_window_extent(renderer)) for box in boxes[i])
                assert not any(x.overlaps(y) for x in boxes[i] for y in boxes[j])
