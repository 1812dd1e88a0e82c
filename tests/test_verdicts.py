import numpy as np
import polars as pl
import pytest

from mirage.schemas import PASSK, SAMPLES
from mirage.verdicts import bootstrap_gain, claims_table, verdict


def test_bootstrap_ci_covers_the_gain_and_shrinks_with_data():
    rng = np.random.default_rng(0)
    base = rng.random(200)
    trained = np.clip(base + 0.1 + rng.normal(0, 0.05, size=(3, 200)), 0, 1)
    low, high = bootstrap_gain(base, trained, 2000, 0.95, seed=1)
    gain = trained.mean() - base.mean()
    assert low < gain < high and high - low < 0.1
    wide = bootstrap_gain(base[:20], trained[:, :20], 2000, 0.95, seed=1)
    assert wide[1] - wide[0] > high - low
    assert bootstrap_gain(base, trained, 500, 0.9, seed=7) == bootstrap_gain(base, trained, 500, 0.9, seed=7)
    same = bootstrap_gain(base, base[None, :], 500, 0.9, seed=1)
    assert same == (0.0, 0.0)


@pytest.mark.parametrize("low,high,expected", [(0.05, 0.2, "works"), (-0.3, -0.1, "fails"), (-0.01, 0.015, "fails"),
                                              (-0.05, 0.1, "inconclusive"), (0.01, 0.1, "inconclusive")])
def test_verdict_rule(low, high, expected):
    assert verdict(low, high, min_gain=0.02) == expected


def _samples(tmp_path, name, model, task, accs, n=4):
    rows = []
    for i, acc in enumerate(accs):
        for j in range(n):
            rows.append({"model": model, "task": task, "benchmark": task, "problem_id": f"p{i:03d}", "sample_idx": j, "completion": "",
                         "extracted_answer": None, "well_formed": True, "correct": j < acc * n, "style": "procedure",
                         "n_tokens": 1, "finish_reason": "stop"})
    path = tmp_path / f"{name}.parquet"
    SAMPLES.write(SAMPLES.frame(rows), path)
    return str(path)


def test_claims_table(tmp_path):
    base = _samples(tmp_path, "base", "m", "t", [0.25] * 40)
    gt = _samples(tmp_path, "gt", "m", "t", [0.75] * 40)
    rnd = _samples(tmp_path, "rnd", "m", "t", [0.0] * 40)
    passk = tmp_path / "passk.parquet"
    PASSK.write(PASSK.frame([{"model": "m", "task": "t", "benchmark": "t", "k": 4, "n": 4, "num_problems": 40, "pass_at_k": 1.0}]), passk)
    analysis = {"regime": {"k": 4, "threshold": 0.75}, "bootstrap": {"resamples": 200, "level": 0.9},
                "verdict": {"min_gain": 0.02}}
    table = claims_table([base], [("ground_truth", 1, gt), ("random", 1, rnd)], str(passk), analysis, seed=0)
    rows = {r["claim"]: r for r in table.to_dicts()}
    assert rows["ground_truth"]["gain"] == pytest.approx(0.5) and rows["ground_truth"]["verdict"] == "works"
    assert rows["random"]["gain"] == pytest.approx(-0.25) and rows["random"]["verdict"] == "fails"
    assert rows["random"]["gain_vs_ground_truth"] == pytest.approx(-0.5)
    assert {r["regime"] for r in rows.values()} == {"strong"}
    with pytest.raises(ValueError, match="analysis.regime.k"):
        claims_table([base], [("random", 1, rnd)], str(passk), {**analysis, "regime": {"k": 16, "threshold": 0.5}}, 0)


def test_fit_threshold_finds_the_step_and_reads_its_shape():
    from mirage.verdicts import fit_threshold, step_shape

    alignment = np.array([0.9, 0.1, 0.3, 0.8, 0.2, 0.95])
    gain = np.array([0.30, -0.05, 0.00, 0.25, -0.02, 0.35])
    t, below, above = fit_threshold(alignment, gain)
    assert 0.3 < t < 0.8 and below < 0 < above
    assert step_shape(below, above, 0.02) == "works above threshold"
    assert step_shape(0.3, -0.1, 0.02) == "works below threshold"
    assert step_shape(0.3, 0.4, 0.02) == "works on both sides"
    assert step_shape(-0.3, 0.0, 0.02) == "no gain on either side"
    assert np.isnan(fit_threshold(np.array([0.5, 0.5]), np.array([0.1, 0.2]))[0])


def _claims_frame(rows):
    from mirage.schemas import CLAIMS_TABLE

    base = {"num_seeds": 1, "base_score": 0.5, "trained_score": 0.5, "gain_vs_ground_truth": 1.0,
            "ci_low": 0.0, "ci_high": 0.0}
    return CLAIMS_TABLE.frame([{**base, "model": m, "task": t, "benchmark": t, "claim": c, "gain": g, "base_pass_at_k": a,
                                "regime": r, "verdict": v} for m, t, c, g, a, r, v in rows])


def test_paper_comparison_aggregates_cells_per_regime_and_counts_agreement():
    from mirage.verdicts import comparison_markdown, paper_comparison

    claims = _claims_frame([
        ("m1", "add", "random", 0.2, 0.95, "strong", "works"),
        ("m2", "dsum", "random", 0.1, 0.9, "strong", "works"),
        ("m1", "sub", "random", -0.1, 0.3, "weak", "fails"),
        ("m2", "add", "random", 0.05, 0.4, "weak", "works"),   # one weak cell works: mixed, disagrees
        ("m1", "add", "ground_truth", 0.3, 0.95, "strong", "works"),
        ("m1", "sub", "ground_truth", 0.4, 0.3, "weak", "works"),
        ("m1", "add", "entropy_min", 0.1, 0.95, "strong", "works"),  # no paper verdict: left out
        ("m1", "add", "psr", 0.1, 0.95, "strong", "works"),  # the paper reports PSR on weak cells only
    ])
    cmp = paper_comparison(claims)
    assert set(cmp["claim"]) == {"random", "ground_truth"}
    random = {r["regime"]: r for r in cmp.filter(pl.col("claim") == "random").to_dicts()}
    assert random["strong"]["toy"] == "works" and random["strong"]["agrees"]
    assert random["weak"]["toy"] == "mixed" and not random["weak"]["agrees"] and random["weak"]["cells_working"] == 1
    md = comparison_markdown(cmp, "claims.parquet")
    assert "**1 of 2**" in md and "ground-truth RL works in 2 of 2 cells" in md
    assert "| random | weak | 1/2 | -0.025 | mixed | no gain | no |" in md


def test_readme_table_is_replaced_between_markers_and_checked(tmp_path):
    from mirage.__main__ import END, START, main
    from mirage.schemas import CLAIMS_TABLE

    claims = tmp_path / "claims.parquet"
    CLAIMS_TABLE.write(_claims_frame([("m1", "add", "random", 0.2, 0.95, "strong", "works")]), claims)
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{START}\nstale\n{END}\ntail\n")
    args = ["readme-table", "--claims", str(claims), "--readme", str(readme)]
    assert main(args + ["--check"]) == 1
    assert main(args) == 0 and main(args + ["--check"]) == 0
    text = readme.read_text()
    assert "stale" not in text and "| random | strong | 1/1 | +0.200 | works | works | yes |" in text and text.endswith("tail\n")
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="markers"):
        main(args)


def test_readme_verdict_table_matches_the_recorded_full_study(monkeypatch):
    from conftest import REPO
    from mirage.__main__ import main

    monkeypatch.chdir(REPO)
    claims = "benchmarks/results/toy-full/claims.parquet"
    assert main(["readme-table", "--claims", claims, "--readme", "README.md", "--check"]) == 0
