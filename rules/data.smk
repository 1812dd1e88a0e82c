from mirage.config import without_plan_hints


rule prepare_task:
    output:
        "results/data/{task}.parquet",
    params:
        task=lambda wc: without_plan_hints(TASKS[wc.task]),  # planning hints (mirage plan) rerun nothing
        seed=config["seed"],
        prompt_template=lambda wc: config["prompt_template"],  # a function: "{question}" is no wildcard
    log:
        "logs/prepare_task/{task}.log",
    resources:
        **rule_resources("default"),
    threads: res("default", "threads")
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/prepare_task.py"


rule build_tokenizer:
    output:
        directory("results/models/tokenizer"),
    log:
        "logs/build_tokenizer.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/torch.yaml"
    script:
        "../workflow_scripts/build_tokenizer.py"
