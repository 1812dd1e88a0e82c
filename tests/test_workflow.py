"""The real Snakemake DAG: a dry run of the default study, and the smoke study
run to completion in a temporary directory."""

import json
import os
import re
import shutil
import subprocess

import polars as pl
import pytest
import yaml
from conftest import REPO, run_snakemake

from mirage.core.schemas import PAPER_COMPARISON, PASSK, PROBLEMS, SAMPLES, STYLE_SHARES, THRESHOLDS
from mirage.training.claims import run_names


def jobs_in_dry_run(output: str) -> dict[str, int]:
    """The job-count table of ``snakemake -n``."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)}


@pytest.mark.integration
def test_dry_run_of_the_default_study(tmp_path):
    proc = run_snakemake("-n", "--directory", str(tmp_path), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert jobs["prepare_task"] == 2
    assert jobs["pretrain_toy_model"] == 1
    # the model on the eval split of the two tasks of its mixture (alignment), and its votes on
    # the train split (wrong labels of the incorrect-label reward)
    assert jobs["sample_base"] == 2 and jobs["sample_votes"] == 2
    # no evaluation section: the checkpoints are compared with the alignment stage's samples
    assert "evaluate_base" not in jobs
    assert jobs["passk_table"] == 1 and jobs["plot_passk"] == 1
    # a training and an evaluation job for every claim on every model x task
    from mirage.training.claims import CLAIMS

    cells = [("toy_a", "add"), ("toy_a", "mul")]
    claims = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["rl"]["claims"]
    assert set(claims) <= set(CLAIMS)
    assert jobs["train_claim"] == jobs["evaluate_claim"] == len(cells) * len(claims)
    for model, task in cells:
        for claim in claims:
            assert f"results/rl/{model}/{task}/{claim}/seed1/model" in proc.stdout
            assert f"results/samples/rl/{model}/{task}/{claim}/seed1.parquet" in proc.stdout
    assert jobs["wrong_labels"] == 2 and jobs["eval_table"] == 1 and jobs["claims_table"] == 1
    # One-Shot RLVR's reference run and example selection, per cell, and the selection table
    assert jobs["one_shot_reference"] == jobs["select_examples"] == 2 and jobs["example_selection_table"] == 1
    for model, task in cells:
        assert f"results/rl/{model}/{task}/one_shot_reference/reward_history.parquet" in proc.stdout
    for claim in ("random", "random_ungated", "incorrect", "incorrect_label"):
        assert f"results/rl/toy_a/add/{claim}/seed1/model" in proc.stdout
    assert jobs["verdict_tables"] == 1 and jobs["plot_gain_vs_alignment"] == 1 and jobs["plot_style_shift"] == 1
    assert jobs["contamination_check"] == 2 and jobs["contamination_table"] == 1 and jobs["plot_contamination"] == 1


@pytest.mark.integration
def test_config_keys_on_the_command_line_override_the_default_config(tmp_path):
    # --config changes a key of the default study, nested ones typed as YAML types them
    proc = run_snakemake("-n", "--directory", str(tmp_path), "--config", "seed=7", "rl={seeds: [3, 4]}",
                         "analysis={verdict: {min_gain: 0.05}}", timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    default = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert jobs["train_claim"] == 2 * 2 * len(default["rl"]["claims"])
    assert "results/rl/toy_a/mul/nsr/seed4/model" in proc.stdout and "/seed1/model" not in proc.stdout
    # a nested value that is not of the schema's type is still refused, naming the key
    proc = run_snakemake("-n", "--directory", str(tmp_path), "--config", "rl={seeds: [three]}", check=False, timeout=120)
    assert proc.returncode != 0 and "'rl.seeds.0': 'three' is not of type 'integer'" in proc.stderr


@pytest.mark.integration
def test_a_config_file_on_the_command_line_replaces_the_default_config(tmp_path):
    proc = run_snakemake("-n", "--directory", str(tmp_path), "--configfile", str(REPO / "tests" / "configs" / "smoke.yaml"),
                         "--config", "rl={seeds: [2]}", timeout=120)
    # the smoke study's tasks only (the default's mul is not merged in), with the seed from --config
    assert "results/data/sub.parquet" in proc.stdout and "results/data/mul.parquet" not in proc.stdout
    assert "results/rl/toy_a/add/random/seed2/model" in proc.stdout and "/seed1/model" not in proc.stdout


@pytest.mark.integration
def test_dry_run_of_the_contamination_validation_trains_the_contaminated_model_and_no_rl(tmp_path):
    proc = run_snakemake("-n", "--configfile", str(REPO / "config" / "config.yaml"),
                         str(REPO / "config" / "toy-contamination.yaml"), "--directory", str(tmp_path), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert jobs["pretrain_toy_model"] == 2 and jobs["contamination_check"] == 4
    assert "train_claim" not in jobs and "results/contamination/toy_c/add.parquet" in proc.stdout


@pytest.mark.integration
def test_dry_run_of_the_full_toy_study_with_its_alignment_sweep(tmp_path):
    # an overlay on the default config, merged by Snakemake
    proc = run_snakemake("-n", "--configfile", str(REPO / "config" / "config.yaml"), str(REPO / "config" / "toy-full.yaml"),
                         "--directory", str(tmp_path), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    from mirage.training.claims import CLAIMS

    full = yaml.safe_load((REPO / "config" / "toy-full.yaml").read_text())
    sweep = full["sweeps"]["exposure"]
    levels, seeds = len(sweep["levels"]), full["rl"]["seeds"]
    assert levels >= 6 and len(seeds) >= 3
    assert jobs["pretrain_toy_model"] == 2  # toy_a and the sweep's model
    assert jobs["prepare_task"] == 2 + levels
    # toy_a's two cells run every claim; the sweep's cells run the sweep's own claims
    assert set(full["rl"]["claims"]) == set(CLAIMS) and set(sweep["claims"]) < set(CLAIMS)
    # the one-shot claims train every seed on each of a cell's selected examples
    examples = full["rl"]["claim_settings"]["one_shot"]["examples"]
    assert examples == 3
    runs = 2 * sum(len(run_names(c, seeds, examples)) for c in CLAIMS) + levels * sum(
        len(run_names(c, seeds, examples)) for c in sweep["claims"])
    assert jobs["train_claim"] == jobs["evaluate_claim"] == runs
    assert runs - (2 * len(CLAIMS) + levels * len(sweep["claims"])) * len(seeds) == (2 * 2 + levels) * 2 * len(seeds)
    for example in range(1, examples + 1):
        assert f"results/rl/toy_a/mul/one_shot_random/seed{seeds[0]}-example{example}/model" in proc.stdout
        assert f"results/rl/exposure/exposure_0/one_shot/seed{seeds[-1]}-example{example}/model" in proc.stdout
    for i in range(levels):
        for seed in seeds:
            assert f"results/rl/exposure/exposure_{i}/ground_truth/seed{seed}/model" in proc.stdout
        assert f"results/rl/exposure/exposure_{i}/few_shot/" not in proc.stdout
        assert f"results/rl/toy_a/mul/few_shot/seed{seeds[-1]}/model" in proc.stdout
    # one One-Shot reference run per cell that trains a one-shot claim
    assert jobs["one_shot_reference"] == 2 + levels


@pytest.mark.integration
def test_dry_run_of_the_paper_study_lists_every_claim_model_task_and_seed(tmp_path):
    proc = run_snakemake("-n", "--configfile", str(REPO / "config" / "paper.yaml"), "--directory", str(tmp_path),
                         timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    from mirage.training.claims import CLAIMS

    models, tasks, seeds = ["qwen2_5_7b", "llama3_1_8b_instruct"], ["math", "logic"], [1, 2, 3]
    examples = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["rl"]["claim_settings"]["one_shot"]["examples"]
    per_cell = sum(len(run_names(c, seeds, examples)) for c in CLAIMS)
    assert jobs["train_claim"] == jobs["evaluate_claim"] == len(models) * len(tasks) * per_cell
    shards = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())["alignment"]["shards"]
    assert jobs["prepare_task"] == 2 and jobs["sample_base"] == 4 * shards and "pretrain_toy_model" not in jobs
    # the paper's tasks carry no solution styles: no style figure (the toy study draws one)
    assert "plot_style_shift" not in jobs and jobs["plot_claim_gains"] == 1
    # incorrect_label's votes on a subset of the train split; the base models sampled again by the
    # evaluation sampler (avg@16, top_p 0.7), as their checkpoints are
    assert jobs["wrong_labels"] == jobs["evaluate_base"] == len(models) * len(tasks)
    assert jobs["sample_votes"] == len(models) * len(tasks) * shards  # sharded, as the alignment samples
    for model in models:
        for task in tasks:
            assert f"results/samples/rl/{model}/{task}/base.parquet" in proc.stdout
            for shard in (0, shards - 1):
                assert f"results/samples/base/{model}/{task}.votes-shard{shard}of{shards}.parquet" in proc.stdout
                assert f"results/samples/base/{model}/{task}.eval-shard{shard}of{shards}.parquet" in proc.stdout
    assert jobs["one_shot_reference"] == len(models) * len(tasks) and jobs["example_selection_table"] == 1
    for model in models:
        for task in tasks:
            for seed in seeds:
                for claim in ("nsr", "random", "random_ungated", "incorrect", "incorrect_label"):
                    assert f"results/rl/{model}/{task}/{claim}/seed{seed}/model" in proc.stdout


@pytest.mark.integration
def test_dry_run_of_the_one_gpu_study_trains_every_claim_on_one_gpu(tmp_path):
    # offline, as the paper study's: nothing is read from the hub to plan the DAG
    proc = run_snakemake("-n", "--configfile", str(REPO / "config" / "one-gpu.yaml"), "--directory", str(tmp_path),
                         timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    from mirage.training.claims import CLAIMS

    models, tasks = ["qwen2_5_1_5b", "llama3_2_1b_instruct"], ["math", "logic"]
    assert jobs["train_claim"] == jobs["evaluate_claim"] == len(models) * len(tasks) * len(CLAIMS)
    for model in models:
        for task in tasks:
            for claim in CLAIMS:
                assert f"results/rl/{model}/{task}/{claim}/seed1/model" in proc.stdout
    assert "gpu=1" in proc.stdout and "gpu=8" not in proc.stdout and "gpu=2" not in proc.stdout


def rule_inputs(output: str, rule: str) -> list[str]:
    """The input files of a rule's (only) job in the output of ``snakemake -n``."""
    block = output.split(f"rule {rule}:")[1].split("output:")[0]
    return block.split("input:")[1].replace(",", " ").split()


@pytest.mark.parametrize("overlay, evaluated_again", [
    ({"n": 4, "temperature": 1.0, "top_p": 0.7, "max_new_tokens": 40}, True),
    ({"n": 16, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 20}, True),
    # the alignment sampler's draws with another batch size: its samples serve
    ({"n": 16, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 40, "batch_size": 64}, False),
], ids=["top_p", "max_new_tokens", "batch_size_only"])
@pytest.mark.integration
def test_dry_run_compares_checkpoints_with_base_samples_of_the_evaluation_sampler(tmp_path, overlay, evaluated_again):
    (tmp_path / "evaluation.yaml").write_text(yaml.safe_dump({"evaluation": {"sampler": overlay}}))
    proc = run_snakemake("-n", "--configfile", str(REPO / "config" / "config.yaml"), str(tmp_path / "evaluation.yaml"),
                         "--directory", str(tmp_path), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    cells = [("toy_a", "add"), ("toy_a", "mul")]
    base = [f"results/samples/{'rl/toy_a/' + t + '/base' if evaluated_again else 'base/toy_a/' + t + '.eval'}.parquet"
            for _, t in cells]
    assert jobs.get("evaluate_base", 0) == (len(cells) if evaluated_again else 0)
    assert jobs["sample_base"] == 2  # the alignment stage is untouched
    for rule in ("claims_table", "eval_table"):  # the base model's samples beside its checkpoints'
        inputs = rule_inputs(proc.stdout, rule)
        assert {f for f in inputs if f.startswith("results/samples/") and "/seed" not in f} == set(base), rule


@pytest.fixture(scope="module")
def smoke_study(tmp_path_factory):
    work = tmp_path_factory.mktemp("smoke")
    shutil.copy(REPO / "tests" / "configs" / "smoke.yaml", work / "smoke.yaml")
    # without the hub switched off by the tests: the Snakefile must switch it off for its jobs
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    run_snakemake("--configfile", str(work / "smoke.yaml"), "--directory", str(work), "--cores", "2", timeout=900,
                  env=env)
    return work


@pytest.mark.slow
def test_smoke_study_outputs(smoke_study):
    res = smoke_study / "results"
    problems = PROBLEMS.read(res / "data" / "add.parquet")
    assert problems.group_by("split").len().sort("split")["len"].to_list() == [6, 16]

    samples = SAMPLES.read(res / "samples" / "base" / "toy_a" / "add.eval.parquet")
    assert samples.height == 6 * 4
    assert samples["problem_id"].n_unique() == 6
    assert sorted(samples["sample_idx"].unique().to_list()) == [0, 1, 2, 3]
    assert set(samples["style"].unique()) <= {"procedure", "flawed", "direct", "other"}
    assert set(samples["finish_reason"].unique()) <= {"stop", "length"}
    assert (samples["n_tokens"] >= 1).all() and (samples["n_tokens"] <= 40).all()

    passk = PASSK.read(res / "tables" / "passk.parquet")
    # the sweep adds one model with a task per level, under its own context
    assert passk.select("model", "task").unique().sort("model", "task").rows() == [
        ("exposure", "exposure_0"), ("exposure", "exposure_1"), ("toy_a", "add"), ("toy_a", "sub"), ("toy_b", "sub")]
    sweep_questions = PROBLEMS.read(res / "data" / "exposure_1.parquet")["question"]
    assert sweep_questions.str.starts_with("exposure1: ").all()
    assert passk["k"].unique().sort().to_list() == [1, 2, 4]
    for _, grp in passk.group_by("model", "task"):
        values = grp.sort("k")["pass_at_k"].to_list()
        assert values == sorted(values) and 0 <= values[0] <= values[-1] <= 1
    # pass@1 is the mean accuracy of the samples
    row = passk.filter((pl.col("model") == "toy_a") & (pl.col("task") == "add") & (pl.col("k") == 1))
    assert row["pass_at_k"][0] == pytest.approx(samples["correct"].mean())

    styles = STYLE_SHARES.read(res / "tables" / "style_shares.parquet")
    for _, grp in styles.group_by("model", "task"):
        assert grp["share"].sum() == pytest.approx(1.0)

    for model in ("toy_a", "toy_b"):
        assert (res / "figures" / f"passk_{model}.png").stat().st_size > 1000
        assert (res / "figures" / f"passk_{model}.svg").stat().st_size > 1000
        assert (smoke_study / "logs" / "pretrain_toy_model" / f"{model}.log").stat().st_size > 0

    # the model directory loads like a hub model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(res / "models" / "toy_a" / "base")
    tok = AutoTokenizer.from_pretrained(res / "models" / "toy_a" / "base")
    assert model.config.model_type == "llama" and model.config.vocab_size == len(tok)
    # the job ran with the hub off from its first import (the Snakefile sets it for every job)
    config = json.loads((res / "models" / "toy_a" / "base" / "tokenizer_config.json").read_text())
    assert config["local_files_only"] is True


@pytest.mark.slow
def test_smoke_study_trains_and_evaluates_every_claim(smoke_study):
    from mirage.core.schemas import EVAL, EVAL_STYLES, RUN_CURVES
    from mirage.training.claims import CLAIMS

    res = smoke_study / "results"
    claims = set(CLAIMS)
    evals = EVAL.read(res / "tables" / "eval.parquet")
    assert set(evals["claim"]) == claims | {"base"}
    assert evals.filter(pl.col("claim") != "base").select("model", "task").unique().rows() == [("toy_a", "add")]
    for col in ("avg_at_n", "pass_at_k", "well_formed_share"):
        assert evals[col].is_between(0, 1).all()
    # the toy family's styles, one share per style used, over every row of the eval table
    styles = EVAL_STYLES.read(res / "tables" / "eval_styles.parquet")
    keys = ["model", "task", "claim", "seed", "benchmark"]
    assert set(styles["style"]) <= {"procedure", "flawed", "direct", "other"}
    totals = styles.group_by(keys).agg(pl.col("share").sum())
    assert totals.height == evals.height and totals["share"].to_list() == pytest.approx([1.0] * evals.height)

    curves = RUN_CURVES.read(res / "tables" / "training_curves.parquet")
    trained = claims - {"incorrect_label"}
    assert set(curves["claim"]) == trained
    # 2 rollout batches of 2 optimizer steps each
    assert curves.group_by("claim").agg(pl.col("step").max())["step"].to_list() == [4] * len(trained)
    assert curves.group_by("claim").agg(pl.col("rollout").max())["rollout"].to_list() == [1] * len(trained)
    assert {"filtered_share", "generation_batches"} <= set(curves.columns)
    # two optimizer steps per generation batch: the second is off-policy, so the clipped
    # objective acts (the ungated random reward gives gradients even to an untrained model;
    # the released one, gated by the format, gives none to a model that is never well formed)
    random = curves.filter(pl.col("claim") == "random_ungated")
    assert random["clip_ratio"].max() > 0
    assert random.filter(pl.col("reward").is_null())["step"].to_list() == [2, 4]

    # the examples of the one/few-shot claims: chosen by the reference run, each visited >= min_visits times
    from mirage.core.schemas import EXAMPLE_SELECTION

    selection = EXAMPLE_SELECTION.read(res / "tables" / "example_selection.parquet")
    settings = yaml.safe_load((smoke_study / "smoke.yaml").read_text())["rl"]["claim_settings"]
    assert selection.height == settings["one_shot"]["candidates"]
    chosen = selection.filter(pl.col("chosen").is_not_null())
    for claim, count in (("one_shot", 1), ("few_shot", settings["few_shot"]["k"]), ("one_shot_random", 1)):
        rows = chosen.filter(pl.col("chosen").str.contains(claim))
        if claim != "one_shot_random":
            rows = rows.filter(pl.col("chosen").str.split(",").list.contains(claim))
            assert (rows["visits"] >= settings["one_shot"]["min_visits"]).all()
        run = json.loads((res / "rl" / "toy_a" / "add" / claim / "seed1" / "model" / "run.json").read_text())
        assert run["training_problems"] == sorted(rows["problem_id"].to_list()) and rows.height == count

    # the untrained smoke model answers nothing: no problem has a wrong majority answer, so
    # incorrect_label had nothing to train on; its run says so, and it gets no verdict
    labels = pl.read_parquet(res / "rl" / "wrong_labels" / "toy_a" / "add.parquet")
    assert labels.height == 16 and not labels["majority_wrong"].any()
    run = json.loads((res / "rl" / "toy_a" / "add" / "incorrect_label" / "seed1" / "model" / "run.json").read_text())
    assert run["trained"] is False and "majority answer" in run["reason"]
    from mirage.core.schemas import CLAIMS_TABLE

    verdicts = CLAIMS_TABLE.read(res / "tables" / "claims.parquet")
    assert sorted(verdicts["claim"]) == sorted(set(CLAIMS) - {"incorrect_label"})
    assert set(verdicts["verdict"]) <= {"works", "fails", "inconclusive", "no_signal"}
    assert (verdicts["ci_low"] <= verdicts["gain"]).all() and (verdicts["gain"] <= verdicts["ci_high"]).all()
    from mirage.core import provenance

    # every table and figure names the config subtree of its job, the code version and the packages
    stamps = {f: provenance.read(res / f) for f in ("tables/claims.parquet", "tables/passk.parquet",
                                                   "figures/claim_gains.png", "figures/claim_gains.svg")}
    assert all(s["config_hash"] != "none" and s["version.trl"] for s in stamps.values())
    assert stamps["tables/claims.parquet"]["config_hash"] != stamps["tables/passk.parquet"]["config_hash"]
    thresholds = THRESHOLDS.read(res / "tables" / "thresholds.parquet")
    assert set(thresholds["claim"]) == set(verdicts["claim"])
    comparison = PAPER_COMPARISON.read(res / "tables" / "paper_comparison.parquet")
    assert set(comparison["claim"]) <= set(verdicts["claim"]) and "ground_truth" in set(comparison["claim"])
    assert "| claim | regime |" in (res / "tables" / "paper_comparison.md").read_text()
    summary = pl.read_parquet(res / "tables" / "contamination.parquet")
    assert set(summary["model"]) == {"toy_a", "toy_b", "exposure"} and summary["exact_match_rate"].is_between(0, 1).all()
    for figure in ("claim_gains", "style_shift", "training_curves", "gain_vs_alignment", "contamination"):
        for ext in ("png", "svg"):
            assert (res / "figures" / f"{figure}.{ext}").stat().st_size > 5000


@pytest.mark.slow
def test_smoke_study_is_cached_and_reruns_only_what_a_change_touches(smoke_study):
    proc = run_snakemake("-n", "--configfile", str(smoke_study / "smoke.yaml"), "--directory", str(smoke_study), timeout=120)
    assert "Nothing to be done" in proc.stdout + proc.stderr

    text = (smoke_study / "smoke.yaml").read_text()
    sampler_line = "n: 4, temperature: 1.0"
    assert sampler_line in text
    (smoke_study / "hot.yaml").write_text(text.replace(sampler_line, "n: 4, temperature: 0.7"))
    proc = run_snakemake("-n", "--configfile", str(smoke_study / "hot.yaml"), "--directory", str(smoke_study), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    # five eval-split samplings (toy_a x 2, toy_b, the sweep's two contexts), and the votes on the
    # train split of the one RL cell (the majority labels of incorrect_label)
    assert jobs.get("sample_base") == 5 and jobs.get("sample_votes") == 1 and jobs.get("passk_table") == 1
    smoke_claims = yaml.safe_load(text)["rl"]["claims"]
    assert jobs.get("evaluate_claim") == len(smoke_claims)  # every RL checkpoint is evaluated again
    # only the incorrect-label run trains again: its labels come from the base model's samples
    assert jobs.get("train_claim") == 1 and "results/rl/toy_a/add/incorrect_label/seed1/model" in proc.stdout
    assert "pretrain_toy_model" not in jobs and "prepare_task" not in jobs

    # a change to one claim's settings reruns that claim's jobs and what follows, only
    (smoke_study / "few.yaml").write_text(text.replace("few_shot: {k: 2}", "few_shot: {k: 3}"))
    proc = run_snakemake("-n", "--configfile", str(smoke_study / "few.yaml"), "--directory", str(smoke_study), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert jobs.get("train_claim") == 1 and jobs.get("evaluate_claim") == 1 and jobs.get("eval_table") == 1
    assert "results/rl/toy_a/add/few_shot/seed1/model" in proc.stdout
    # the ranking stands; only the table of chosen examples is written again
    assert jobs.get("example_selection_table") == 1 and "select_examples" not in jobs
    assert "sample_base" not in jobs and "pretrain_toy_model" not in jobs and "one_shot_reference" not in jobs

    # a change to the verdict rule reruns the verdict table and its figures only
    (smoke_study / "rule.yaml").write_text(text.replace("min_gain: 0.02", "min_gain: 0.05"))
    proc = run_snakemake("-n", "--configfile", str(smoke_study / "rule.yaml"), "--directory", str(smoke_study), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert set(jobs) - {"all"} == {"claims_table", "verdict_tables", "plot_claim_gains", "plot_style_shift",
                                   "plot_gain_vs_alignment"}

    # a change to figure settings only reruns figure jobs: no sampling, training or evaluation
    figure_line = "figures: {dpi: 80}"
    assert figure_line in text
    (smoke_study / "fig.yaml").write_text(text.replace(figure_line, "figures: {dpi: 90}"))
    proc = run_snakemake("-n", "--configfile", str(smoke_study / "fig.yaml"), "--directory", str(smoke_study), timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert set(jobs) - {"all"} == {"plot_passk", "plot_claim_gains", "plot_style_shift", "plot_training_curves",
                                   "plot_gain_vs_alignment", "plot_contamination"}


@pytest.mark.slow
def test_smoke_study_report_has_every_figure_with_its_caption(smoke_study):
    report = smoke_study / "report.html"
    run_snakemake("--configfile", str(smoke_study / "smoke.yaml"), "--directory", str(smoke_study),
                  "--report", str(report), timeout=300)
    html = report.read_text(errors="replace")
    for figure in ("passk_toy_a.png", "claim_gains.png", "gain_vs_alignment.png", "style_shift.png",
                   "training_curves.png", "paper_comparison.md", "contamination.png"):
        assert figure in html
    for caption in ("the unbiased pass", "least-squares step function", "amplify the behaviour",
                    "NSR slows entropy collapse", "main comparison"):
        assert caption in html


@pytest.mark.slow
def test_two_fresh_smoke_studies_write_byte_identical_tables_figures_and_models(smoke_study, tmp_path):
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(REPO / "tests" / "configs" / "smoke.yaml", again / "smoke.yaml")
    run_snakemake("--configfile", str(again / "smoke.yaml"), "--directory", str(again), "--cores", "2", timeout=900)
    files = sorted(p.relative_to(smoke_study) for ext in ("parquet", "png", "svg", "safetensors")
                   for p in (smoke_study / "results").rglob(f"*.{ext}"))
    assert len(files) > 80
    differ = [str(f) for f in files if (smoke_study / f).read_bytes() != (again / f).read_bytes()]
    assert differ == []


@pytest.mark.slow
def test_sharded_alignment_sampling_reads_every_shard_and_redoes_only_a_missing_one(smoke_study, tmp_path):
    """alignment.shards 3: three sampling jobs per (model, task), each on every third problem;
    the pass@k table reads all three (the same problems as one job's); after a run killed with
    one shard lost, that shard is the only sampling job run again."""
    study = tmp_path / "study"
    shutil.copytree(smoke_study, study, symlinks=True)
    text = (study / "smoke.yaml").read_text()
    assert "alignment: {ks: []}" in text
    (study / "sharded.yaml").write_text(text.replace("alignment: {ks: []}", "alignment: {ks: [], shards: 3}"))
    args = ("--configfile", str(study / "sharded.yaml"), "--directory", str(study))
    run_snakemake(*args, "--cores", "2", "results/tables/passk.parquet", timeout=900)
    one = pl.read_parquet(smoke_study / "results" / "tables" / "passk.parquet")
    three = pl.read_parquet(study / "results" / "tables" / "passk.parquet")
    assert one.select("model", "task", "num_problems").sort("model", "task").equals(
        three.select("model", "task", "num_problems").sort("model", "task"))
    for base in sorted((study / "results" / "samples" / "base").iterdir()):
        shards = sorted(base.glob("*.eval-shard*of3.parquet"))
        assert len(shards) == 3 * len(list(base.glob("*.eval.parquet")))
        ids = [set(SAMPLES.read(f)["problem_id"]) for f in shards[:3]]
        assert not (ids[0] & ids[1]) and not (ids[1] & ids[2]) and not (ids[0] & ids[2])
    # a run killed before the table: one shard lost, the others done
    lost = shards[1]
    lost.unlink()
    (study / "results" / "tables" / "passk.parquet").unlink()
    proc = run_snakemake("-n", *args, "results/tables/passk.parquet", timeout=120)
    jobs = jobs_in_dry_run(proc.stdout)
    assert jobs["sample_base"] == 1 and lost.name in proc.stdout and jobs["passk_table"] == 1, proc.stdout


@pytest.mark.integration
def test_the_bare_slurm_profile_works_after_the_one_step_the_readme_names(tmp_path):
    """`snakemake --profile slurm`, as cluster users type it: refused before `make slurm-profile`,
    planned after it; the docs name that step where they show the cluster commands (docs/slurm.md)."""
    env = {**os.environ, "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": ""}
    args = ("--profile", "slurm", "-n", "--directory", str(tmp_path / "study"))
    before = run_snakemake(*args, env=env, check=False, timeout=120)
    assert before.returncode != 0 and "profile directory given (slurm)" in before.stdout + before.stderr
    subprocess.run(["make", "-s", "slurm-profile"], cwd=REPO, env=env, check=True, capture_output=True)
    after = run_snakemake(*args, env=env, timeout=120)
    assert "This was a dry-run" in after.stdout
    slurm = (REPO / "docs" / "slurm.md").read_text()
    assert "make slurm-profile" in slurm and "snakemake --profile slurm" in slurm
