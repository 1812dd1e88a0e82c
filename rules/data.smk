from mirage.config import without_plan_hints


rule prepare_task:
    input:
        task_data_files,
    output:
        "results/data/{task}.parquet",
    log:
        "logs/prepare_task/{task}.log",
    conda:
        "../envs/analysis.yaml"
    threads: res("default", "threads")
    resources:
        **rule_resources("default"),
    params:
        task=lambda wc: without_plan_hints(TASKS[wc.task]),  # planning hints (mirage plan) rerun nothing
        seed=config["seed"],
        prompt_template=lambda wc: config["prompt_template"],  # a function: "{question}" is no wildcard
    script:
        "../workflow_scripts/prepare_task.py"


rule build_tokenizer:
    output:
        directory("results/models/tokenizer"),
    log:
        "logs/build_tokenizer.log",
    conda:
        "../envs/torch.yaml"
    resources:
        **rule_resources("default"),
    script:
        "../workflow_scripts/build_tokenizer.py"
