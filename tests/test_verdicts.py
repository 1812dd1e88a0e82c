import numpy as np
import polars as pl
import pytest

from mirage.__main__ import END, START, main
from mirage.analysis.verdicts import (
    bootstrap_gain,
    bootstrap_gains,
    bootstrap_p_value,
    claims_table,
    comparison_markdown,
    fit_threshold,
    had_signal,
    holm,
    learned_nothing,
    paper_comparison,
    percentile_ci,
    read_claims,
    regime_verdict,
    step_shape,
    thresholds_table,
    verdict,
)
from mirage.core.schemas import CLAIMS_TABLE, PAPER_COMPARISON, PASSK, SAMPLES, THRESHOLDS


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


def _coverage(n_seeds, sd_seed, sd_shared, sd_noise, schemes, studies=300, n_problems=40, n_boot=400):
    """Share of simulated studies whose 95% CI covers the true gain (0.1): per-problem base accuracy,
    a seed effect (sd_seed), a per-problem gain shared by every seed (sd_shared) and per seed x
    problem noise (sd_noise). "problems only": the seeds averaged first, then the paired problem
    bootstrap (either scheme with one row)."""
    rng = np.random.default_rng(42)
    hits = dict.fromkeys(schemes, 0)
    for study in range(studies):
        base = rng.uniform(0.2, 0.8, n_problems)
        trained = (base + 0.1 + rng.normal(0, sd_shared, n_problems) + rng.normal(0, sd_seed, (n_seeds, 1))
                   + rng.normal(0, sd_noise, (n_seeds, n_problems)))
        for scheme in schemes:
            rows, name = (trained.mean(axis=0, keepdims=True), "crossed") if scheme == "problems only" \
                else (trained, scheme)
            low, high = bootstrap_gain(base, rows, n_boot, 0.95, seed=study, scheme=name)
            hits[scheme] += low <= 0.1 <= high
    return {scheme: hit / studies for scheme, hit in hits.items()}


def test_two_level_bootstraps_cover_the_true_gain_when_seed_variance_dominates():
    # between-seed sd 0.05 over 20 seeds (variance of the mean 1.3e-4) against per-problem noise
    # sd 0.05 over 40 problems x 20 seeds (3e-6): the problems-only bootstrap misses the seeds. (With
    # few seeds any bootstrap undercovers: it sees (S - 1) / S of the seed variance, and no t quantile;
    # 10 seeds gave 0.88 here, 3 seeds about 0.75.)
    coverage = _coverage(n_seeds=20, sd_seed=0.05, sd_shared=0.0, sd_noise=0.05,
                         schemes=("crossed", "nested", "problems only"))
    assert 0.89 <= coverage["crossed"] <= 0.99, coverage
    assert 0.89 <= coverage["nested"] <= 0.99, coverage
    assert coverage["problems only"] <= 0.5, coverage


def test_crossed_bootstrap_keeps_its_coverage_where_seeds_share_per_problem_gains():
    # why crossed is the default and nested is not
    # what the docstring of bootstrap_gains warns about: 3 seeds on the same problems, a per-problem gain
    # (sd 0.2) shared by all; resampling problems per seed counts a third of its variance
    coverage = _coverage(n_seeds=3, sd_seed=0.02, sd_shared=0.2, sd_noise=0.1, schemes=("nested", "crossed"),
                         studies=200, n_problems=100)
    assert coverage["crossed"] >= 0.88, coverage
    assert coverage["nested"] < coverage["crossed"] - 0.08, coverage


def test_nested_bootstrap_pairs_problems_within_each_resampled_seed():
    # seed 0 gains 0.2 on every problem, seed 1 gains 0.0: a replicate's gain is the share of seed-0 draws
    # times 0.2 whatever problems are drawn, so only 0.0, 0.1, 0.2 occur (pairing cancels the problems)
    base = np.linspace(0, 0.5, 30)
    trained = np.stack([base + 0.2, base])
    gains = bootstrap_gains(base, trained, 1000, seed=3, scheme="nested")
    assert set(np.round(gains, 9)) == {0.0, 0.1, 0.2}
    assert np.mean(np.isclose(gains, 0.1)) == pytest.approx(0.5, abs=0.06)
    # problems independently per seed: two seeds with the same per-problem gains (+-0.3) spread as one seed
    # when they share a problem draw (crossed), and by 1/sqrt(2) of that when each draws its own
    row = base + np.where(np.arange(30) % 2, 0.3, -0.3)
    twins = np.stack([row, row])
    crossed, nested = bootstrap_gains(base, twins, 4000, 5, "crossed"), bootstrap_gains(base, twins, 4000, 5, "nested")
    assert crossed.std() == pytest.approx(0.3 / np.sqrt(30), rel=0.05)
    assert nested.std() / crossed.std() == pytest.approx(1 / np.sqrt(2), rel=0.05)
    with pytest.raises(ValueError, match="scheme"):
        bootstrap_gains(base, trained, 10, 0, "hierarchical")


def test_examples_are_resampled_as_a_level_so_the_ci_covers_the_choice_of_example():
    # one-shot runs on 4 examples x 3 seeds; the example a run trains on moves its gain (sd 0.1), the
    # true gain is the mean over the examples one could have picked (0.1). Resampling runs as if they
    # were 12 seeds sees the example effect as seed noise within the 4 drawn examples: too narrow.
    rng = np.random.default_rng(11)
    hits = {"examples": 0, "runs": 0}
    studies, n_problems = 200, 40
    examples = np.repeat(np.arange(4), 3)
    for study in range(studies):
        base = rng.uniform(0.2, 0.8, n_problems)
        effect = rng.normal(0, 0.1, 4)[examples][:, None]
        trained = base + 0.1 + effect + rng.normal(0, 0.02, (12, 1)) + rng.normal(0, 0.05, (12, n_problems))
        for name, labels in (("examples", examples), ("runs", None)):
            low, high = percentile_ci(bootstrap_gains(base, trained, 300, study, "crossed", labels), 0.95)
            hits[name] += low <= 0.1 <= high
    coverage = {k: v / studies for k, v in hits.items()}
    # 4 examples: the bootstrap sees 3/4 of their variance and no t quantile, so below 0.95 but far
    # above the run-level bootstrap
    assert coverage["examples"] >= 0.8 and coverage["runs"] < coverage["examples"] - 0.15, coverage
    # one example, or none named: the plain bootstrap, replicate for replicate
    base, trained = rng.uniform(0, 1, 30), rng.uniform(0, 1, (3, 30))
    plain = bootstrap_gains(base, trained, 300, 4)
    assert np.array_equal(plain, bootstrap_gains(base, trained, 300, 4, examples=np.ones(3)))
    # each example resampled keeps its own seeds: 2 examples gaining 0.0 and 0.2 on every problem
    # give replicates of 0.0, 0.1 and 0.2 only, whatever seeds and problems are drawn
    flat = np.linspace(0, 0.5, 20)
    two = np.stack([flat, flat, flat + 0.2, flat + 0.2])
    gains = bootstrap_gains(flat, two, 2000, 1, examples=np.array([1, 1, 2, 2]))
    assert set(np.round(gains, 9)) == {0.0, 0.1, 0.2}
    with pytest.raises(ValueError, match="example 1: 2, example 2: 1"):
        bootstrap_gains(flat, two[:3], 10, 0, examples=np.array([1, 1, 2]))


def test_bootstrap_p_value_and_holm():
    gains = np.array([0.0, 0.01, 0.03, 0.05])
    assert bootstrap_p_value(gains, 0.02) == pytest.approx(3 / 5)
    assert bootstrap_p_value(gains, -1.0) == pytest.approx(1 / 5)  # never 0
    assert percentile_ci(np.arange(101) / 100, 0.9) == pytest.approx((0.05, 0.95))
    # m = 4: sorted 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1 -> 0.02, 0.03, 0.06, max(0.04, 0.06)
    assert holm(np.array([0.01, 0.04, 0.03, 0.005])) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm(np.array([0.5, 0.6])) == pytest.approx([1.0, 1.0])
    assert holm(np.array([0.02])) == pytest.approx([0.02])


@pytest.mark.parametrize("low,high,expected", [(0.05, 0.2, "works"), (-0.3, -0.1, "fails"), (-0.01, 0.015, "fails"),
                                              (-0.05, 0.1, "inconclusive"), (0.01, 0.1, "inconclusive")])
def test_verdict_rule(low, high, expected):
    assert verdict(low, high, min_gain=0.02) == expected


def _samples(tmp_path, name, model, task, accs, n=4, benchmark=None):
    rows = []
    for i, acc in enumerate(accs):
        for j in range(n):
            rows.append({"model": model, "task": task, "benchmark": benchmark or task, "problem_id": f"p{i:03d}",
                         "sample_idx": j, "completion": "", "extracted_answer": None, "well_formed": True,
                         "correct": j < acc * n, "style": "procedure", "n_tokens": 1, "finish_reason": "stop"})
    path = tmp_path / f"{name}.parquet"
    SAMPLES.write(SAMPLES.frame(rows), path)
    return str(path)


@pytest.mark.integration
def test_claims_table(tmp_path):
    # task t is evaluated on two benchmarks, t (strong) and u (weak): one run group per claim
    base = [_samples(tmp_path, "base", "m", "t", [0.25] * 40), _samples(tmp_path, "base_u", "m", "t", [0.5] * 40,
                                                                          benchmark="u")]
    runs = [("ground_truth", s, _samples(tmp_path, f"gt{s}", "m", "t", [0.75] * 40)) for s in (1, 2)]
    runs += [("ground_truth", s, _samples(tmp_path, f"gt_u{s}", "m", "t", [0.5] * 40, benchmark="u")) for s in (1, 2)]
    runs += [("random", 1, _samples(tmp_path, "rnd", "m", "t", [0.0] * 40))]
    passk = tmp_path / "passk.parquet"
    PASSK.write(PASSK.frame([{"model": "m", "task": "t", "benchmark": b, "k": 4, "n": 4, "num_problems": 40,
                              "pass_at_k": a} for b, a in (("t", 1.0), ("u", 0.5))]), passk)
    analysis = {"regime": {"k": 4, "threshold": 0.75}, "bootstrap": {"resamples": 200, "level": 0.9},
                "verdict": {"min_gain": 0.02}, "paper_regimes": {"m/t": "weak", "m/t/u": "strong"}}
    table = claims_table(base, runs, str(passk), analysis, seed=0)
    rows = {(r["benchmark"], r["claim"]): r for r in table.to_dicts()}
    gt, gt_u, rnd = rows[("t", "ground_truth")], rows[("u", "ground_truth")], rows[("t", "random")]
    assert gt["gain"] == pytest.approx(0.5) and gt["verdict"] == "works" and gt["num_seeds"] == 2
    # each seed's own verdict: both seeds gain 0.5 (stable); one seed alone has nothing to compare
    assert (gt["seed_verdicts"], gt["verdict_stable"]) == ("works,works", True)
    assert (rows[("t", "random")]["seed_verdicts"], rows[("t", "random")]["verdict_stable"]) == (None, None)
    assert rnd["gain"] == pytest.approx(-0.25) and rnd["verdict"] == "fails"
    assert gt_u["gain"] == 0.0 and gt_u["verdict"] == "fails"
    assert rnd["gain_vs_ground_truth"] == pytest.approx(-0.5)
    assert gt["run_group"] == gt_u["run_group"] == "m/t/ground_truth" and rnd["run_group"] == "m/t/random"
    assert (gt["regime_rule"], gt_u["regime_rule"]) == ("strong", "weak")
    assert (gt["regime_paper"], gt_u["regime_paper"]) == ("weak", "strong")  # model/task/benchmark wins
    # p-values: every replicate of gt on t gains 0.5 > min_gain; Holm over the table's 3 cells
    assert gt["p_value"] == pytest.approx(1 / 201) and gt["p_holm"] == pytest.approx(3 / 201) and gt["works_holm"]
    assert rnd["p_value"] == gt_u["p_value"] == 1.0 and rnd["p_holm"] == 1.0 and not rnd["works_holm"]
    plain = claims_table(base, runs[:1], str(passk), {k: v for k, v in analysis.items() if k != "paper_regimes"}, 0)
    assert plain["regime_paper"].to_list() == [None]
    crossed = claims_table(base, runs, str(passk), {**analysis, "bootstrap": {**analysis["bootstrap"],
                                                                            "scheme": "crossed"}}, 0)
    assert crossed["verdict"].to_list() == table["verdict"].to_list()
    with pytest.raises(ValueError, match="analysis.regime.k"):
        claims_table(base, runs[-1:], str(passk), {**analysis, "regime": {"k": 16, "threshold": 0.5}}, 0)
    # a one-shot claim on 2 examples x 2 seeds: one cell, its seeds and examples counted apart
    shots = [("one_shot", f"{s}-example{e}", _samples(tmp_path, f"os{s}{e}", "m", "t", [0.25 + 0.25 * e] * 40))
             for s in (1, 2) for e in (1, 2)]
    row = claims_table(base[:1], shots, str(passk), analysis, 0).to_dicts()[0]
    assert (row["num_seeds"], row["num_examples"], row["gain"]) == (2, 2, pytest.approx(0.375))
    # the example level: replicates draw example 1 (+0.25) or 2 (+0.5) as a whole, so the 90% CI
    # reaches both
    assert row["ci_low"] == pytest.approx(0.25) and row["ci_high"] == pytest.approx(0.5)
    assert gt["num_examples"] == 1
    # seeds that disagree: seed 1 gains 0.5, seed 2 loses 0.25; the pooled verdict is one of neither
    split = [("nsr", 1, _samples(tmp_path, "nsr1", "m", "t", [0.75] * 40)),
             ("nsr", 2, _samples(tmp_path, "nsr2", "m", "t", [0.0] * 40))]
    unstable = claims_table(base[:1], split, str(passk), analysis, 0)
    row = unstable.to_dicts()[0]
    assert (row["seed_verdicts"], row["verdict"], row["verdict_stable"]) == ("works,fails", "inconclusive", False)
    both = pl.concat([table, unstable])
    md = comparison_markdown(paper_comparison(both), both, "claims.parquet")
    assert "Seed by seed: 2 of 3 cells with several seeds have the same verdict on every seed" in md


@pytest.mark.integration
def test_a_study_that_learned_nothing_says_so_instead_of_counting_agreements(tmp_path):
    # every run silent (zero gradients): each cell's verdict is no_signal, not a confident "fails"
    base = [_samples(tmp_path, "base", "m", "t", [0.25] * 40)]
    runs = [(c, 1, _samples(tmp_path, c, "m", "t", [0.25] * 40)) for c in ("ground_truth", "random", "nsr")]
    passk = tmp_path / "passk.parquet"
    PASSK.write(PASSK.frame([{"model": "m", "task": "t", "benchmark": "t", "k": 4, "n": 4, "num_problems": 40,
                              "pass_at_k": 1.0}]), passk)
    analysis = {"regime": {"k": 4, "threshold": 0.75}, "bootstrap": {"resamples": 200, "level": 0.9},
                "verdict": {"min_gain": 0.02}}
    loud = claims_table(base, runs, str(passk), analysis, 0)
    assert set(loud["verdict"]) == {"fails"} and learned_nothing(loud).startswith("ground-truth RL works in none")
    silent = claims_table(base, runs, str(passk), analysis, 0, silent_runs={(c, 1) for c, _, _ in runs})
    assert set(silent["verdict"]) == {"no_signal"} and learned_nothing(silent).startswith("no training run")
    for table in (loud, silent):
        comparison = paper_comparison(table)
        assert comparison["agrees"].null_count() == comparison.height > 0
        md = comparison_markdown(comparison, table, "claims.parquet", "rule `verdict_tables`")
        assert "**No learning signal:" in md and "Agreement" not in md and "| - |" in md
        assert md.startswith("Generated by rule `verdict_tables` from `claims.parquet`")
    # one run of a cell with a signal: the cell has a verdict of its own
    mixed = claims_table(base, runs, str(passk), analysis, 0, silent_runs={("random", 1), ("nsr", 1)})
    assert dict(zip(mixed["claim"], mixed["verdict"])) == {"ground_truth": "fails", "nsr": "no_signal",
                                                            "random": "no_signal"}


@pytest.mark.integration
def test_a_run_had_a_signal_where_some_group_s_rewards_differed(tmp_path):
    from mirage.core.schemas import TRAINING_CURVES

    def curves(values):
        path = tmp_path / f"c{len(values)}{values[0]}.parquet"
        TRAINING_CURVES.write(TRAINING_CURVES.frame([{"step": i, "frac_reward_zero_std": v} for i, v in
                                                     enumerate(values)]), path)
        return str(path)

    assert not had_signal(curves([1.0, 1.0, None])) and had_signal(curves([1.0, 0.75]))


def test_fit_threshold_finds_the_step_and_reads_its_shape():
    alignment = np.array([0.9, 0.1, 0.3, 0.8, 0.2, 0.95])
    gain = np.array([0.30, -0.05, 0.00, 0.25, -0.02, 0.35])
    t, below, above = fit_threshold(alignment, gain)
    assert 0.3 < t < 0.8 and below < 0 < above
    assert step_shape(below, above, 0.02) == "works above threshold"
    assert step_shape(0.3, -0.1, 0.02) == "works below threshold"
    assert step_shape(0.3, 0.4, 0.02) == "works on both sides"
    assert step_shape(-0.3, 0.0, 0.02) == "no gain on either side"
    assert np.isnan(fit_threshold(np.array([0.5, 0.5]), np.array([0.1, 0.2]))[0])


def _cell(model, task, claim, gain, alignment, regime, verdict, benchmark=None, **extra):
    row = {"model": model, "task": task, "benchmark": benchmark or task, "claim": claim,
           "run_group": f"{model}/{task}/{claim}", "num_seeds": 1, "base_score": 0.5, "trained_score": 0.5 + gain,
           "gain": gain, "gain_vs_ground_truth": 1.0, "ci_low": gain - 0.01, "ci_high": gain + 0.01,
           "p_value": None, "p_holm": None, "works_holm": None, "base_pass_at_k": alignment, "regime_rule": regime,
           "regime_paper": None, "verdict": verdict}
    return {**row, **extra}


def _claims_frame(rows):
    return CLAIMS_TABLE.frame([r if isinstance(r, dict) else _cell(*r) for r in rows])


def test_regime_verdict_is_all_or_nothing():
    assert regime_verdict(["works", "works"]) == "works"
    assert regime_verdict(["fails", "fails"]) == regime_verdict(["fails", "no gain"]) == "no gain"
    assert regime_verdict(["works", "fails"]) == "inconclusive"  # was "mixed"
    assert regime_verdict(["fails", "inconclusive"]) == "inconclusive"  # was "no gain": no cell worked
    assert regime_verdict(["inconclusive"]) == "inconclusive"


def test_thresholds_are_fitted_on_one_point_per_run_group():
    claims = _claims_frame([
        _cell("m", "logic", "format", 0.0, 0.2, "weak", "fails", benchmark="a"),
        _cell("m", "logic", "format", 0.0, 0.4, "weak", "fails", benchmark="b"),  # with a: one point (0.3, 0.0)
        ("m", "mid", "format", 0.1, 0.5, "weak", "works"),
        ("m", "add", "format", 0.3, 0.9, "strong", "works"),
    ])
    row = thresholds_table(claims, 0.02).row(0, named=True)
    assert (row["num_cells"], row["num_run_groups"]) == (4, 3)
    # points (0.3, 0.0), (0.5, 0.1), (0.9, 0.3): step at 0.7, mean 0.05 below (0.033 if every cell counted)
    assert row["threshold"] == pytest.approx(0.7) and row["mean_gain_below"] == pytest.approx(0.05)
    assert row["mean_gain_above"] == pytest.approx(0.3) and row["shape"] == "works on both sides"


def test_paper_comparison_aggregates_run_groups_per_regime_and_counts_agreement():
    claims = _claims_frame([
        ("m1", "add", "random", 0.2, 0.95, "strong", "works"),
        ("m2", "dsum", "random", 0.1, 0.9, "strong", "works"),
        ("m1", "sub", "random", -0.1, 0.3, "weak", "fails"),
        ("m2", "add", "random", 0.05, 0.4, "weak", "works"),   # one weak cell works: inconclusive, disagrees
        ("m1", "add", "incorrect", -0.2, 0.95, "strong", "fails"),
        ("m2", "dsum", "incorrect", 0.01, 0.9, "strong", "inconclusive"),  # no cell works, not all fail
        ("m1", "sub", "incorrect", -0.1, 0.3, "weak", "fails"),
        # format: task logic of m3 is evaluated on four benchmarks, two per regime: one run group each
        ("m1", "add", "format", 0.1, 0.95, "strong", "works"),
        _cell("m3", "logic", "format", 0.2, 0.9, "strong", "works", benchmark="op"),
        _cell("m3", "logic", "format", 0.4, 0.8, "strong", "works", benchmark="cf"),
        _cell("m3", "logic", "format", -0.1, 0.2, "weak", "fails", benchmark="ci"),
        _cell("m3", "logic", "format", 0.02, 0.3, "weak", "inconclusive", benchmark="pz"),
        ("m1", "add", "ground_truth", 0.3, 0.95, "strong", "works"),
        ("m1", "sub", "ground_truth", 0.4, 0.3, "weak", "works"),
        ("m1", "add", "entropy_min", 0.1, 0.95, "strong", "works"),  # no paper verdict: left out
        ("m1", "add", "psr", 0.1, 0.95, "strong", "works"),  # the paper reports PSR on weak cells only
    ])
    cmp = paper_comparison(claims)
    assert set(cmp["claim"]) == {"random", "incorrect", "format", "ground_truth"}
    assert set(cmp["num_comparisons"]) == {claims.height} and cmp["cells_working_holm"].null_count() == cmp.height
    rows = {(r["claim"], r["regime"]): r for r in cmp.to_dicts()}
    assert rows[("random", "strong")]["toy"] == "works" and rows[("random", "strong")]["agrees"]
    weak = rows[("random", "weak")]
    assert weak["toy"] == "inconclusive" and not weak["agrees"] and weak["run_groups_working"] == 1
    assert rows[("incorrect", "strong")]["toy"] == "inconclusive" and not rows[("incorrect", "strong")]["agrees"]
    assert rows[("incorrect", "weak")]["toy"] == "no gain" and rows[("incorrect", "weak")]["agrees"]
    strong = rows[("format", "strong")]
    assert (strong["num_cells"], strong["num_run_groups"], strong["cells_working"], strong["run_groups_working"]) \
        == (3, 2, 3, 2)
    assert strong["mean_gain"] == pytest.approx(0.2)  # run groups 0.1 and mean(0.2, 0.4): 0.233 over cells
    fweak = rows[("format", "weak")]
    assert (fweak["num_cells"], fweak["num_run_groups"], fweak["toy"]) == (2, 1, "inconclusive")
    md = comparison_markdown(cmp, claims, "claims.parquet")
    assert "**3 of 6**" in md and "ground-truth RL works in 2 of 2 run groups" in md
    assert "| random | weak | 1/2 | -0.025 | inconclusive | no gain | no |" in md
    assert f"Comparisons: {claims.height} cells (13 run groups)" in md and "predates the p-values" in md
    # with p-values: the Holm count, per regime and in all
    holm = claims.with_columns(pl.Series("p_holm", np.linspace(0.001, 0.9, claims.height)),
                               works_holm=pl.Series(np.arange(claims.height) < 4))
    counted = paper_comparison(holm)
    assert counted["cells_working_holm"].null_count() == 0 and counted["cells_working_holm"].sum() <= 4
    assert "Holm-adjusted over all 16, 4 cells work at the family-wise level" in comparison_markdown(counted, holm, "x")


def test_the_paper_labels_give_the_headline_and_the_rules_regimes_stand_beside_them():
    """Where cells carry the paper's own labels (regime_paper), the comparison holds the verdicts
    under both regime assignments and the headline counts agreement under the paper's; cells
    without a label are left out of the paper's view only."""
    claims = _claims_frame([
        # the rule calls m1/add strong, the paper weak: random works there, as the paper says of strong cells
        _cell("m1", "add", "random", 0.2, 0.95, "strong", "works", regime_paper="weak"),
        _cell("m2", "add", "random", 0.3, 0.9, "strong", "works", regime_paper="strong"),
        _cell("m1", "sub", "random", -0.1, 0.3, "weak", "fails", regime_paper="weak"),
        _cell("m3", "sub", "random", -0.1, 0.3, "weak", "fails"),  # no paper label
    ])
    cmp = paper_comparison(claims)
    rows = {(r["regime_from"], r["regime"]): r for r in cmp.to_dicts()}
    assert set(rows) == {("rule", "strong"), ("rule", "weak"), ("paper", "strong"), ("paper", "weak")}
    assert rows[("rule", "strong")]["agrees"] and rows[("rule", "weak")]["agrees"]
    assert rows[("paper", "weak")]["num_cells"] == 2 and rows[("paper", "weak")]["toy"] == "inconclusive"
    assert not rows[("paper", "weak")]["agrees"] and rows[("paper", "strong")]["num_cells"] == 1
    md = comparison_markdown(cmp, claims, "claims.parquet")
    assert "| claim | regimes by | regime |" in md and "| random | paper | weak | 1/2 |" in md
    assert "under the paper's own regime labels: **1 of 2**" in md and "this project's prediction): **2 of 2**" in md
    # without labels the table is the rule's alone, as before
    plain = comparison_markdown(paper_comparison(claims.with_columns(pl.lit(None, pl.String).alias("regime_paper"))),
                                claims, "x")
    assert "regimes by" not in plain and "Agreement on the paper's regime-dependent claims: **2 of 2**" in plain


@pytest.mark.integration
def test_readme_table_is_replaced_between_markers_and_checked(tmp_path):
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


def _legacy_claims(path):
    """A claims table as written before issue 14: ``regime``, no run group, no p-values."""
    rows = [_cell("m1", "add", "random", 0.2, 0.95, "strong", "works"),
            _cell("m1", "sub", "random", 0.021, 0.3, "weak", "inconclusive"),
            _cell("m1", "sub", "ground_truth", 0.3, 0.3, "weak", "works")]
    legacy = _claims_frame(rows).drop("run_group", "p_value", "p_holm", "works_holm", "regime_paper").rename(
        {"regime_rule": "regime"})
    legacy.write_parquet(path)
    return path


@pytest.mark.integration
def test_a_recorded_pre_issue_14_claims_table_is_read_under_todays_rules(tmp_path):
    claims = _legacy_claims(tmp_path / "claims.parquet")
    with pytest.raises(ValueError, match="missing column 'run_group'"):
        CLAIMS_TABLE.read(claims)
    table = read_claims(claims)
    assert table["run_group"].to_list() == ["m1/add/random", "m1/sub/random", "m1/sub/ground_truth"]
    assert table["regime_rule"].to_list() == ["strong", "weak", "weak"] and table["p_holm"].null_count() == 3
    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n")
    assert main(["readme-table", "--claims", str(claims), "--readme", str(readme)]) == 0
    text = readme.read_text()
    # an inconclusive weak cell was "no gain" (agreeing) before issue 14; now it disagrees
    assert "| random | weak | 0/1 | +0.021 | inconclusive | no gain | no |" in text and "**1 of 2**" in text
    out = tmp_path / "out"
    out.mkdir()
    assert main(["verdict-tables", "--claims", str(claims), "--out-dir", str(out)]) == 0
    comparison = PAPER_COMPARISON.read(out / "paper_comparison.parquet")
    assert comparison.height == 3 and set(comparison["num_comparisons"]) == {3}
    assert THRESHOLDS.read(out / "thresholds.parquet")["num_run_groups"].to_list() == [1, 2]
    assert "predates the p-values" in (out / "paper_comparison.md").read_text()


def test_readme_verdict_table_matches_the_recorded_full_study(monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    claims = "benchmarks/results/toy-full/claims.parquet"
    assert main(["readme-table", "--claims", claims, "--readme", "README.md", "--check"]) == 0


def test_readme_default_study_table_matches_the_recorded_default_study(monkeypatch):
    from conftest import REPO

    monkeypatch.chdir(REPO)
    claims = "benchmarks/results/default/claims.parquet"
    assert main(["readme-table", "--claims", claims, "--readme", "docs/results.md", "--check", "--block", "default-study"]) == 0
    assert main(["readme-table", "--claims", claims, "--check", "--block", "default-study"]) == 0  # its default doc
