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
            rows.append({"model": model, "task": task, "problem_id": f"p{i:03d}", "sample_idx": j, "completion": "",
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
    PASSK.write(PASSK.frame([{"model": "m", "task": "t", "k": 4, "n": 4, "num_problems": 40, "pass_at_k": 1.0}]), passk)
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
