from pathlib import Path

import pytest

from mirage import plots
from mirage.schemas import CLAIMS_TABLE, EVAL_STYLES, THRESHOLDS
from mirage.verdicts import thresholds_table


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
