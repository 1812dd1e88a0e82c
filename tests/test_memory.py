"""The memory estimate of GPU jobs (mirage.memory): at or above every peak measured on a GPU, a
config that cannot fit refused at validation, and the docs' budgets generated from the plan."""

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from mirage.config import ConfigError, load_config
from mirage.core.settings import GRPOSettings
from mirage.memory import GIB, ModelShape, activation_bytes, training_memory

PAPER_SCALE_DOC = REPO / "docs" / "paper-scale.md"  # the paper config's numbers, budgets and plan
BENCHMARKS_DOC = REPO / "docs" / "benchmarks.md"  # the recorded benchmarks' rows
MEASURED = json.loads((REPO / "benchmarks" / "results" / "gpu_memory.json").read_text())
PAPER = REPO / "config" / "paper.yaml"
SHAPES = {name: yaml.safe_load(PAPER.read_text())["models"][model]["shape"]
          for name, model in (("qwen2_5_7b", "qwen2_5_7b"), ("llama3_1_8b", "llama3_1_8b_instruct"))}


def test_the_activation_term_is_at_or_above_every_measured_peak_and_not_far_above():
    rows = [r for r in MEASURED["rows"] if r["error"] is None]
    assert len(rows) >= 40 and MEASURED["trl"] == "1.16.0"
    for r in rows:
        shape = ModelShape(params_b=1.0, **{**SHAPES[r["shape"]], "num_hidden_layers": r["layers"]})
        # the measurement's shapes are the paper config's (its models' config.json)
        assert r["params"] > 0
        estimate = activation_bytes(shape, r["m"], r["T"], 2 if r["policy"] == "bf16" else 4, checkpointing=True)
        assert r["activation_peak"] <= estimate <= 1.75 * r["activation_peak"], r
    # gpu_check's 7B-shaped micro-batches of 1, 2 and 4 sequences (all layers, bf16)
    check = json.loads((REPO / "benchmarks" / "results" / "gpu_check.json").read_text())
    step = check["paper_scale_step"]
    assert step["ok"] and [r["micro_batch"] for r in step["rows"]] == [1, 2, 4]
    qwen = ModelShape(params_b=1.0, **SHAPES["qwen2_5_7b"])
    for r in step["rows"]:
        estimate = activation_bytes(qwen, r["micro_batch"], r["tokens"], 2, checkpointing=True) / GIB
        assert r["activation_peak_gib"] <= estimate <= 1.75 * r["activation_peak_gib"], r


def test_the_h200_memory_in_the_schema_is_the_measured_one():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    table = schema["properties"]["plan"]["properties"]["gpu_memory_gib"]["default"]
    assert "H200" in MEASURED["device"] and table["h200"] == round(MEASURED["total_memory"] / GIB, 1)


def paper_with(tmp_path, **grpo) -> Path:
    config = yaml.safe_load(PAPER.read_text())
    config["rl"]["grpo"].update(grpo)
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_a_paper_config_with_the_whole_mini_batch_in_one_pass_is_refused(tmp_path):
    """micro_batch_size 128 (what the paper config trained with before micro-batches): refused
    with one line naming the setting and the largest micro-batch that fits."""
    with pytest.raises(ConfigError) as refused:
        load_config([paper_with(tmp_path, micro_batch_size=128)])
    line = str(refused.value)
    assert "\n" not in line and line.startswith("config error: 'rl.grpo.micro_batch_size' (128 sequences per process)")
    assert "the largest that fits is 8" in line
    with pytest.raises(ConfigError, match="vllm_gpu_memory_utilization"):
        load_config([paper_with(tmp_path, vllm_gpu_memory_utilization=0.9)])  # vLLM awake beside the shards
    # the shipped configs fit
    load_config([PAPER])
    load_config([REPO / "config" / "one-gpu.yaml"])


def test_a_training_step_of_the_shipped_paper_config_fits_an_h100():
    config = load_config([PAPER])
    grpo = GRPOSettings.from_dict(config["rl"]["grpo"])
    for model in config["models"].values():
        memory = training_memory(ModelShape.from_model(model), grpo, "zero3", 8, 79.1)
        assert memory.fits and memory.training < 45 and memory.generation < 79.1 and memory.kv_sequences >= 16
        whole = training_memory(ModelShape.from_model(model), grpo, "zero3", 8, 79.1, micro_batch=128)
        assert whole.activations > 400  # the whole share in one pass: hundreds of GiB


@pytest.mark.integration
@pytest.mark.parametrize("config", ["config/paper.yaml", "config/one-gpu.yaml"])
def test_the_readme_budget_is_the_plans(config):
    from mirage.plan import budget_table, make_plan

    readme = PAPER_SCALE_DOC.read_text()
    block = re.search(rf"<!-- budget: {re.escape(config)} -->\n(.*?)<!-- /budget -->", readme, re.S)
    assert block, f"docs/paper-scale.md has no budget block for {config}"
    plan = make_plan([REPO / config])
    assert block.group(1) == budget_table(plan)
    for row in plan.rules.filter(plan.rules["gpus_per_job"] > 0).iter_rows(named=True):
        if row["hours_per_job"] is not None:  # no job outlasts its runtime x attempts
            assert row["hours_per_job"] * 60 <= row["runtime_min"] * row["attempts"], row
    if config == "config/paper.yaml":  # the shards' hours stated in the config's comment
        hours = {r["rule"]: r["hours_per_job"] for r in plan.rules.iter_rows(named=True)}
        assert (f"~{hours['sample_base']:.1f} h (sample_base) and ~{hours['sample_votes']:.1f} h (sample_votes)"
                in (REPO / config).read_text())


def test_the_readme_paper_scale_numbers_are_the_configs():
    readme = PAPER_SCALE_DOC.read_text()
    config = load_config([PAPER])
    grpo = GRPOSettings.from_dict(config["rl"]["grpo"])
    micro, accumulation = grpo.batch_split(config["resources"]["train"]["gpu"])
    assert (f"8 GPUs × {accumulation} accumulated micro-batches of `micro_batch_size: {micro}`" in readme
            and f"`gradient_accumulation_steps: {accumulation}`" in readme
            and f"`steps_per_generation: {grpo.steps_per_generation * accumulation}`" in readme)
    assert f"`alignment.shards: {config['alignment']['shards']}`" in readme
    assert f"`checkpoints.rl_minutes` ({config['checkpoints']['rl_minutes']} at paper scale)" in readme
    assert f"minutes ({config['checkpoints']['stop_before_limit']}) before" in readme
    assert f"`resources.train.retries: {config['resources']['train']['retries']}`" in readme
    assert f"a {grpo.vllm_gpu_memory_utilization} share of the GPU" in readme
    model = config["models"]["qwen2_5_7b"]
    whole = training_memory(ModelShape.from_model(model), grpo, "zero3", 8, 79.1, micro_batch=128)
    assert f"~{round(whole.peak, -1):.0f} GiB per GPU" in readme


def test_the_training_estimate_bounds_the_gpu_checks_measured_grpo_peaks():
    """benchmarks/gpu_check.py's GRPO runs on an H200 (Qwen2.5-0.5B's shape, one process, float32
    weights under bf16 autocast; and FSDP2 on one process): the estimate of the whole training
    process (states, working copies, activations, overhead) is at or above each measured peak."""
    check = json.loads((REPO / "benchmarks" / "results" / "gpu_check.json").read_text())
    from benchmarks.gpu_check import QWEN25_05B as arch  # the shape the check built
    shape = ModelShape(params_b=check["grpo_single"]["model_folder"]["parameters"] / 1e9,
                       hidden_size=arch["hidden_size"], num_hidden_layers=arch["num_hidden_layers"],
                       intermediate_size=arch["intermediate_size"], vocab_size=arch["vocab_size"],
                       num_key_value_heads=arch["num_key_value_heads"],
                       head_dim=arch["hidden_size"] // arch["num_attention_heads"])
    config = yaml.safe_load(PAPER.read_text())["rl"]["grpo"]
    # no vLLM there: the width is the completions' 256 tokens + the released prompt budget (an upper bound)
    grpo = GRPOSettings.from_dict({**config, **check["rl_overrides"], "model_dtype": "float32",
                                   "vllm_max_model_length": None})
    for phase, engine in (("grpo_single_fp32_weights", "ddp"), ("grpo_fsdp2_1proc", "fsdp2")):
        measured = check[phase]["peak_gpu_memory_gib"]
        estimate = training_memory(shape, grpo, engine, 1, 139.8).training
        assert measured <= estimate <= 2 * measured, (phase, measured, estimate)


def test_the_readme_gpu_rows_are_the_recorded_runs():
    readme = BENCHMARKS_DOC.read_text()
    check = json.loads((REPO / "benchmarks" / "results" / "gpu_check.json").read_text())
    bf16, fp32, fsdp = check["grpo_single"], check["grpo_single_fp32_weights"], check["grpo_fsdp2_1proc"]
    assert (f"6 updates in {bf16['train_s']} s (bf16 weights, peak {bf16['peak_gpu_memory_gib']} GiB) and "
            f"{fp32['train_s']} s (float32 weights, {fp32['peak_gpu_memory_gib']} GiB)") in readme
    assert f"FSDP2 one process {fsdp['train_s']} s ({fsdp['peak_gpu_memory_gib']} GiB" in readme
    assert f"HF sampler {check['sampling'][0]['tokens_per_s']:,.0f} tokens/s" in readme
    assert f"< 6 min ({check['total_s']} s)" in readme
    big = check["paper_scale_step"]["rows"][2]
    assert (f"7B micro-batch of 4 × 10,240 tokens: {big['step_s']} s, activations {big['activation_peak_gib']} GiB "
            f"(estimate {big['estimated_activation_gib']}), MFU {big['mfu']}") in readme
    assert f"HF generate floor {check['generate_floor']['tokens_per_s']:,.0f} tokens/s" in readme
    rows = [r for r in MEASURED["rows"] if r["error"] is None]
    full = {(r["shape"], r["m"]): r["activation_peak"] / GIB for r in rows if r["layers"] > 4}
    assert (f"{full['qwen2_5_7b', 1]:.1f} / {full['qwen2_5_7b', 2]:.1f} GiB (Qwen, 1 / 2 sequences), "
            f"{full['llama3_1_8b', 1]:.1f} / {full['llama3_1_8b', 2]:.1f} GiB (Llama)") in readme
    ratios = []
    for r in rows:
        shape = ModelShape(params_b=1.0, **{**SHAPES[r["shape"]], "num_hidden_layers": r["layers"]})
        ratios.append(activation_bytes(shape, r["m"], r["T"], 2 if r["policy"] == "bf16" else 4, True)
                      / r["activation_peak"])
    assert f"gpu_memory.json`, {len(rows)} points)" in readme
    assert f"{round(100 * (min(ratios) - 1))}-{round(100 * (max(ratios) - 1))}% above every point" in readme


def test_issue_22_left_every_default_study_evaluation_and_verdict_as_it_was():
    """benchmarks/results/issue22_identity.json: the default study before and after micro-batches
    and the per-micro-batch padding trim, on one machine. What differs is the RL runs' weights and
    curves (float bits) and the base samples' provenance hash; nothing a verdict reads."""
    record = json.loads((REPO / "benchmarks" / "results" / "issue22_identity.json").read_text())
    assert record["compared"] > 200
    for path, why in record["differ"].items():
        assert (path.startswith("results/rl/") or "training_curves" in path
                or (path.startswith("results/samples/base/") and why.startswith("provenance differs"))), (path, why)
    readme = BENCHMARKS_DOC.read_text()
    assert f"{record['compared']} files, {len(record['differ'])} differ" in readme


def test_the_readme_dry_run_numbers_are_the_recorded_ones():
    record = json.loads((REPO / "benchmarks" / "results" / "dry_run_paper.json").read_text())
    jobs = record["jobs"]
    assert f"of the paper config ({record['total_jobs']} jobs) | {record['best_s']:.1f} s |" in BENCHMARKS_DOC.read_text()
    paper = PAPER_SCALE_DOC.read_text()
    assert (f"{jobs['sample_base']} + {jobs['sample_votes']} sampling jobs" in paper
            and f"{record['total_jobs']} jobs in all, and plans them in {record['best_s']:.1f} s" in paper
            and f"{jobs['one_shot_reference']} One-Shot reference runs, {jobs['evaluate_base']} evaluations of the base models"
            in paper)


@pytest.mark.integration
def test_the_readme_cost_numbers_are_the_plans():
    """The docs' totals of the paper and one-GPU plans, and their count of the paper's training runs."""
    from mirage.plan import make_plan

    readme = PAPER_SCALE_DOC.read_text()
    paper = make_plan([PAPER])
    train = paper.rules.filter(paper.rules["rule"] == "train_claim")
    trained = train["jobs"][0]
    assert f"**{paper.total_gpu_hours:,.0f} GPU-hours on H100s**" in readme
    assert f"{100 * train['gpu_hours'][0] / paper.total_gpu_hours:.0f}% of it the {trained} training runs" in readme
    assert f"lists {trained} training and {trained}" in readme
    one = make_plan([REPO / "config" / "one-gpu.yaml"])
    assert f"Its plan is {one.total_gpu_hours:.1f} GPU-hours on an H100" in readme


def test_the_paper_configs_comments_state_the_memory_models_numbers():
    text = PAPER.read_text()
    config = load_config([PAPER])
    grpo = GRPOSettings.from_dict(config["rl"]["grpo"])
    memories = {name: training_memory(ModelShape.from_model(m), grpo, "zero3", 8, 79.1)
                for name, m in config["models"].items()}
    qwen, llama = memories["qwen2_5_7b"], memories["llama3_1_8b_instruct"]
    assert f"~{qwen.kv_sequences:.0f} (Qwen) / ~{llama.kv_sequences:.0f} (Llama) sequences" in text
    low, high = sorted(round(m.training) for m in memories.values())
    assert f"~{low}-{high} GiB per H100" in text
    whole = training_memory(ModelShape.from_model(config["models"]["qwen2_5_7b"]), grpo, "zero3", 8, 79.1,
                            micro_batch=128)
    assert f"would need ~{round(whole.peak, -1):.0f} GiB" in text
