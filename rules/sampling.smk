# Every sampling job: a model (the base model or an RL checkpoint) sampled on a task's split.
# One rule body, evaluate_base's; the other three change what they sample and where it goes.


# The base model sampled by the evaluation sampler, as its checkpoints are: needed only
# where that sampler draws otherwise than the alignment sampler (see base_eval_file).
rule evaluate_base:
    input:
        model=base_model_dir,
        problems=lambda wc: problems_file(wc.task),
    output:
        "results/samples/rl/{model}/{task}/base.parquet",
    log:
        "logs/evaluate_base/{model}/{task}.log",
    benchmark:
        "benchmarks/runs/evaluate_base/{model}/{task}.tsv"
    retries: rule_retries("sample")
    conda:
        "../envs/gpu.yaml"
    threads: res("sample", "threads")
    resources:
        **rule_resources("sample"),
    params:
        model_path=base_model_path,
        load=model_load_settings,
        split="eval",
        sampler=EVALUATION_SAMPLER,
        seed=config["seed"],
        prompt_format=lambda wc: MODELS[wc.model]["prompt_format"],
        answer_fallback=lambda wc: answer_fallback(TASKS[wc.task]),
        style_family=lambda wc: style_family(TASKS[wc.task]),
    script:
        "../workflow_scripts/sample.py"


# An RL checkpoint, sampled exactly like the base model it is compared with (base_eval_file).
use rule evaluate_base as evaluate_claim with:
    input:
        model=lambda wc: f"{run_dir(wc.model, wc.task, wc.claim, wc.seed)}/model",
        problems=lambda wc: problems_file(wc.task),
    output:
        "results/samples/rl/{model}/{task}/{claim}/seed{seed}.parquet",
    log:
        "logs/evaluate_claim/{model}/{task}/{claim}/seed{seed}.log",
    benchmark:
        "benchmarks/runs/evaluate_claim/{model}/{task}/{claim}/seed{seed}.tsv"
    params:
        model_path=lambda wc: f"{run_dir(wc.model, wc.task, wc.claim, wc.seed)}/model",
        load=checkpoint_load_settings,


# The alignment stage: one job per split, or per shard of it (alignment.shards): {part} is
# "eval" or "eval-shard3of24".
use rule evaluate_base as sample_base with:
    output:
        "results/samples/base/{model}/{task}.{part}.parquet",
    log:
        "logs/sample_base/{model}/{task}.{part}.log",
    benchmark:
        "benchmarks/runs/sample_base/{model}/{task}.{part}.tsv"
    wildcard_constraints:
        part=SHARD_PART.format(kind="eval"),
    params:
        sampler=ALIGNMENT_SAMPLER,
        shard=lambda wc: parse_shard(wc.part),


# Spurious Rewards' incorrect labels: the base model's majority answer over `votes`
# samples of each training problem that gets votes (all, or a seeded subset of
# `rl.claim_settings.incorrect_label.problems`), with the alignment sampler's settings.
use rule evaluate_base as sample_votes with:
    output:
        "results/samples/base/{model}/{task}.{part}.parquet",
    log:
        "logs/sample_votes/{model}/{task}.{part}.log",
    benchmark:
        "benchmarks/runs/sample_votes/{model}/{task}.{part}.tsv"
    wildcard_constraints:
        part=SHARD_PART.format(kind="votes"),
    params:
        split="train",
        sampler=VOTE_SAMPLER,
        num_problems=claim_setting("incorrect_label", "problems"),
        shard=lambda wc: parse_shard(wc.part),
