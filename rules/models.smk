rule pretrain_toy_model:
    input:
        tokenizer="results/models/tokenizer",
        problems=lambda wc: [problems_file(t) for t in MODELS[wc.model]["mixture"]],
    output:
        directory("results/models/{model}/base"),
    log:
        "logs/pretrain_toy_model/{model}.log",
    benchmark:
        "benchmarks/runs/pretrain_toy_model/{model}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: res("pretrain", "threads")
    resources:
        **rule_resources("pretrain"),
    params:
        model=lambda wc: {"name": wc.model, **MODELS[wc.model]},
        tasks=lambda wc: {t: TASKS[t] for t in MODELS[wc.model]["mixture"]},
        prompt_template=lambda wc: config["prompt_template"],  # a function: "{question}" is no wildcard
        seed=config["seed"],
    script:
        "../workflow_scripts/pretrain_toy_model.py"
