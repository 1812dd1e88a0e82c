"""`python -m mirage plan`: the cost of a study, from Snakemake's own dry run of the
Snakefile and the numbers of the config. The expected numbers are worked out here by
hand from config values written out in the test (or read from the config file)."""

import copy

import polars as pl
import pytest
import yaml
from conftest import REPO

from mirage.__main__ import main
from mirage.config import ConfigError, validate_config, without_plan_hints
from mirage.plan import dag_jobs, gpu_hours, make_plan, plan_from_jobs, throughput_row
from mirage.training.claims import CLAIMS

SCHEMA = REPO / "config" / "schema.yaml"


def test_gpu_hours_of_a_job_are_its_wall_hours_times_its_gpus():
    # 1,000 tokens/s per GPU: 3.6M tokens take 3,600 s on one GPU, 450 s on eight
    assert gpu_hours(3_600_000, 1000, 1) == pytest.approx(1.0)
    assert gpu_hours(3_600_000, 1000, 8) == pytest.approx(3_600_000 / (1000 * 8) / 3600 * 8) == pytest.approx(1.0)
    assert gpu_hours(3_600_000, 1000, 0) == 0.0  # a CPU job costs no GPU-hour


def row(params_b, gpu="h100"):
    return {"params_b": params_b, "gpu": gpu, "sample_tokens_per_s": 1.0, "train_tokens_per_s": 1.0, "source": "t"}


def test_a_model_is_priced_with_the_smallest_row_of_its_gpu_at_or_above_its_size():
    plan = {"gpu": "h100", "throughput": [row(70), row(8), row(1, gpu="a100")]}
    assert throughput_row(plan, 1.5)["params_b"] == 8     # a larger model's speed: overstates, never understates
    assert throughput_row(plan, 8)["params_b"] == 8
    assert throughput_row(plan, 13)["params_b"] == 70
    assert throughput_row(plan, 405) is None               # no row: left empty, not extrapolated
    assert throughput_row({**plan, "gpu": "b200"}, 1) is None


# An overlay on the default toy study with numbers small enough to work out by hand.
TOY_OVERLAY = {
    "tasks": {"add": {"n_train": 64, "n_eval": 32}, "mul": {"n_train": 64, "n_eval": 32, "expected_tokens": 12}},
    "sampler": {"n": 8, "max_new_tokens": 40},
    "analysis": {"regime": {"k": 8}},
    "rl": {
        "claims": ["ground_truth", "incorrect_label", "majority_vote", "nsr_decomposed", "one_shot"],
        "seeds": [1, 2],
        "grpo": {"steps": 4, "prompts_per_generation": 8, "num_generations": 4, "max_completion_length": 30,
                 "dynamic_sampling": {"enabled": True, "max_generation_batches": 3}},
        "claim_settings": {"incorrect_label": {"votes": 8}, "majority_vote": {"votes": 8},
                           "one_shot": {"candidates": 16, "min_visits": 2}},
    },
    "resources": {"sample": {"gpu": 1, "mem_mb": 4000, "runtime": 30, "cpus_per_task": 1, "threads": 1},
                  "train": {"gpu": 2, "mem_mb": 4000, "runtime": 60, "cpus_per_task": 1, "threads": 1}},
}


@pytest.fixture(scope="module")
def toy_plan(tmp_path_factory):
    overlay = tmp_path_factory.mktemp("plan") / "overlay.yaml"
    overlay.write_text(yaml.safe_dump(TOY_OVERLAY))
    jobs, config, rules = dag_jobs([REPO / "config" / "config.yaml", overlay])
    return plan_from_jobs(jobs, config, rules, "toy")


def tokens(plan, *rules):
    return plan.jobs.filter(pl.col("rule").is_in(rules))["tokens"].sum()


@pytest.mark.integration
def test_toy_plan_counts_each_jobs_generated_tokens_from_the_config(toy_plan):
    # completion lengths: add has no expected_tokens (half of each max), mul 12 (under each max)
    # sampling, n = 8 (the votes are 8 too): add 32 eval problems x 8 x 40/2, mul 32 x 8 x 12
    eval_add, eval_mul = 32 * 8 * 20, 32 * 8 * 12
    # the alignment samples (eval split) and the incorrect-label votes (64 training problems, 8 votes)
    assert tokens(toy_plan, "sample_base", "sample_votes") == eval_add + eval_mul + 64 * 8 * 20 + 64 * 8 * 12
    # every checkpoint: 5 claims x 2 seeds per task
    assert tokens(toy_plan, "evaluate_claim") == 5 * 2 * (eval_add + eval_mul)
    # a run: 4 rollout batches x 8 prompts x completions per prompt x length x generation batches;
    # dynamic sampling: 3 generation batches at most, but none for RLVR-Decomposed's claims;
    # majority vote: 8 votes per prompt (the 4 trained among them)
    per_length = {"ground_truth": 4 * 8 * 4 * 3, "incorrect_label": 4 * 8 * 4 * 3, "majority_vote": 4 * 8 * 8 * 3,
                  "nsr_decomposed": 4 * 8 * 4 * 1, "one_shot": 4 * 8 * 4 * 3}
    lengths = {"add": 30 / 2, "mul": 12}
    assert tokens(toy_plan, "train_claim") == sum(per_length.values()) * sum(lengths.values()) * 2  # 2 seeds
    # the One-Shot reference run: 16 candidates / 8 prompts = 2 rollout batches an epoch, 2 visits,
    # without dynamic sampling
    assert tokens(toy_plan, "one_shot_reference") == 2 * 2 * 8 * 4 * sum(lengths.values())
    by_job = toy_plan.jobs.filter(pl.col("rule") == "train_claim").group_by("task").agg(pl.col("tokens").sum())
    assert dict(by_job.iter_rows()) == {t: sum(per_length.values()) * n * 2 for t, n in lengths.items()}


@pytest.mark.integration
def test_toy_plan_leaves_what_the_config_cannot_give_empty_and_says_why(toy_plan):
    # toy models have no params_b, so no throughput row: their GPU jobs get no GPU-hours, and one note
    gpu_jobs = toy_plan.jobs.filter(pl.col("gpus") > 0)
    assert gpu_jobs.height > 0 and gpu_jobs["gpu_hours"].is_null().all()
    assert toy_plan.unpriced_jobs == gpu_jobs.height and toy_plan.total_gpu_hours == 0
    notes = "\n".join(toy_plan.notes)
    assert "model toy_a has no params_b, so no throughput row on GPU h100" in notes
    # the contamination check's tokens need expected_question_tokens, which the toy tasks lack
    assert "tasks.add: no expected_question_tokens" in notes
    assert toy_plan.jobs.filter(pl.col("rule") == "contamination_check")["tokens"].is_null().all()
    # CPU jobs cost no GPU-hour
    assert (toy_plan.jobs.filter(pl.col("gpus") == 0)["gpu_hours"] == 0).all()
    rules = toy_plan.rules.filter(pl.col("rule") == "train_claim").row(0, named=True)
    assert rules["jobs"] == 5 * 2 * 2 and rules["gpus_per_job"] == 2 and rules["gpu_hours"] is None


@pytest.fixture(scope="module")
def paper_plan():
    jobs, config, rules = dag_jobs([REPO / "config" / "paper.yaml"])
    return plan_from_jobs(jobs, config, rules, "config/paper.yaml"), jobs


@pytest.mark.integration
def test_paper_plan_prices_training_from_the_released_hyperparameters(paper_plan):
    plan, _ = paper_plan
    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    rl, (row,) = cfg["rl"], cfg["plan"]["throughput"]
    grpo, claims, seeds = rl["grpo"], rl["claims"], rl["seeds"]
    assert all("expected_tokens" not in t for t in cfg["tasks"].values())
    length = grpo["max_completion_length"] / 2                       # no expected_tokens: half the max
    batches = grpo["dynamic_sampling"]["max_generation_batches"]      # dynamic sampling is on
    votes = rl["claim_settings"]["majority_vote"]["votes"]

    def run(claim):  # one run's generated tokens, worked out by hand
        per_prompt = max(grpo["num_generations"], votes) if claim == "majority_vote" else grpo["num_generations"]
        generation_batches = 1 if claim.endswith("_decomposed") else batches
        return grpo["steps"] * grpo["prompts_per_generation"] * per_prompt * length * generation_batches

    # 300 x 128 x 16 x 4096 x 2 = 5.0e9 tokens for a ground-truth run
    assert run("ground_truth") == 300 * 128 * 16 * 4096 * 2
    cells = 2 * 2  # two models x two tasks
    # the one-shot claims run once per selected example and seed
    examples = rl["claim_settings"]["one_shot"]["examples"]
    expected = cells * len(seeds) * sum(run(c) * (examples if c.startswith("one_shot") else 1) for c in claims)
    assert tokens(plan, "train_claim") == expected
    train = plan.rules.filter(pl.col("rule") == "train_claim").row(0, named=True)
    # GPU-hours = tokens / (tokens_per_s x 8 GPUs) / 3600 x 8 GPUs; both models use the 8.03B row
    assert train["gpus_per_job"] == 8
    assert train["gpu_hours"] == pytest.approx(expected / (row["train_tokens_per_s"] * 8) / 3600 * 8)
    longest = run("majority_vote") / (row["train_tokens_per_s"] * 8) / 3600
    assert train["hours_per_job"] == pytest.approx(longest)
    # each training job fits its runtime x attempts (it resumes over its retries): no note says otherwise
    assert not any(n.startswith(("train_claim: up to", "sample_base: up to")) for n in plan.notes), plan.notes


@pytest.mark.integration
def test_paper_plan_counts_every_source_and_prices_every_job(paper_plan):
    plan, jobs = paper_plan
    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert plan.unpriced_jobs == 0 and plan.total_gpu_hours > 0
    # the alignment samples: eval problems x n x 8192 / 2; math 30 + 500 + 40, logic 5 x 250 + 340
    n, length = cfg["sampler"]["n"], cfg["sampler"]["max_new_tokens"] / 2
    assert tokens(plan, "sample_base") == 2 * (570 + 1590) * n * length
    assert "tasks.math: train 40,315 problems, eval 570 problems" in "\n".join(plan.details)
    # every job is the dry run's: the same jobs per rule as `snakemake -n`
    assert plan.jobs.height == len(jobs) and plan.rules["jobs"].sum() == len(jobs)
    # the planning hints never reach a job's params, so that changing them reruns nothing
    prepare = [j for j in jobs if j.rule == "prepare_task"]
    assert prepare and all("expected_problems" not in str(j.params["task"]) for j in prepare)
    assert all("expected_question_tokens" not in j.params["task"] for j in prepare)


@pytest.mark.integration
def test_the_cli_prints_the_paper_plan_with_its_total_in_gpu_hours(capsys, paper_plan):
    plan, _ = paper_plan
    assert main(["plan", "--configfile", str(REPO / "config" / "paper.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"total: {plan.total_gpu_hours:,.1f} GPU-hours on h100" in out
    assert "GPU-hours of a job = tokens / (tokens_per_s x GPUs per job) / 3600 x GPUs per job" in out
    for rule in ("train_claim", "evaluate_claim", "sample_base", "one_shot_reference"):
        assert f"\n{rule} " in out


@pytest.mark.integration
def test_one_gpu_study_fits_a_day_on_one_gpu(tmp_path):
    out = tmp_path / "plan.parquet"
    assert main(["plan", "--configfile", str(REPO / "config" / "one-gpu.yaml"), "--format", "parquet",
                 "--output", str(out)]) == 0
    table = pl.read_parquet(out)
    assert {"rule", "jobs", "gpus_per_job", "tokens", "gpu_hours"} <= set(table.columns)
    assert table["unpriced_jobs"].sum() == 0                      # every GPU job has an estimate
    assert table["gpus_per_job"].max() == 1
    assert 0 < table["gpu_hours"].sum() <= 24
    trained = table.filter(pl.col("rule") == "train_claim").row(0, named=True)
    assert trained["jobs"] == 2 * 2 * len(CLAIMS)                 # every claim on every model x task, one seed


def test_plan_keys_are_validated_like_the_rest():
    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    validate_config(copy.deepcopy(cfg), SCHEMA)
    bad = copy.deepcopy(cfg)
    del bad["plan"]["throughput"][0]["source"]
    with pytest.raises(ConfigError, match="source"):
        validate_config(bad, SCHEMA)
    bad = copy.deepcopy(cfg)
    bad["tasks"]["math"]["eval"][0]["expected_problems"] = 0
    with pytest.raises(ConfigError, match="expected_problems"):
        validate_config(bad, SCHEMA)
    # absent, the section is filled with its default: no row, so GPU jobs stay unpriced
    toy = validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), SCHEMA)
    assert toy["plan"] == {"gpu": "h100", "throughput": [], "gpu_memory_gib": {"h100": 79.1, "a100": 79.1, "h200": 139.8}}


def test_planning_hints_are_dropped_from_a_tasks_data_params():
    task = {"source": "hub", "verifier": "math", "expected_tokens": 100, "expected_question_tokens": 50,
            "train": {"dataset": "deepscaler", "expected_problems": 10, "max_problems": 5},
            "eval": [{"dataset": "math500", "expected_problems": 500}]}
    assert without_plan_hints(task) == {"source": "hub", "verifier": "math",
                                        "train": {"dataset": "deepscaler", "max_problems": 5},
                                        "eval": [{"dataset": "math500"}]}
    assert task["train"]["expected_problems"] == 10  # the config itself is untouched


def test_a_rule_whose_jobs_outlast_runtime_times_attempts_is_named_with_what_to_change():
    from mirage.plan import over_time

    train = {"rule": "train_claim", "hours_per_job": 447.5, "runtime_min": 2880, "attempts": 1, "kind": "train"}
    note = over_time(train)
    assert "train_claim: up to 447.5 h per job" in note and "x 1 attempt:" in note
    assert "resources.train.retries to 9 or more" in note
    assert over_time({**train, "attempts": 10}) is None  # 10 x 48 h = 480 h
    sample = {"rule": "sample_base", "hours_per_job": 136.2, "runtime_min": 720, "attempts": 3, "kind": "sample"}
    assert "alignment.shards" in over_time(sample)
    assert over_time({**sample, "hours_per_job": None}) is None


@pytest.mark.integration
def test_a_cpu_study_is_said_to_be_one_with_a_bound_on_its_time():
    plan = make_plan()  # the default toy study: no job asks for a GPU
    assert plan.total_gpu_hours == 0
    bound = plan.jobs["runtime_min"].fill_null(0).sum() / 60
    note = next(n for n in plan.notes if n.startswith("no job asks for a GPU"))
    assert f"its {plan.jobs.height} jobs may take at most {bound:,.1f} hours" in note
