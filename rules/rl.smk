rule wrong_labels:
    input:
        samples=lambda wc: sample_files(wc.model, wc.task, "votes"),
        problems=lambda wc: problems_file(wc.task),
    output:
        "results/rl/wrong_labels/{model}/{task}.parquet",
    log:
        "logs/wrong_labels/{model}/{task}.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        verifier=lambda wc: TASKS[wc.task]["verifier"],
        votes=claim_setting("incorrect_label", "votes"),
        answers=claim_setting("incorrect_label", "answers"),
    script:
        "../workflow_scripts/wrong_labels.py"


rule one_shot_reference:
    input:
        model=base_model_dir,
        problems=lambda wc: problems_file(wc.task),
    output:
        model=directory(f"{reference_dir('{model}', '{task}')}/model"),
        curves=f"{reference_dir('{model}', '{task}')}/curves.parquet",
        history=f"{reference_dir('{model}', '{task}')}/reward_history.parquet",
    log:
        "logs/one_shot_reference/{model}/{task}.log",
    benchmark:
        "benchmarks/runs/one_shot_reference/{model}/{task}.tsv"
    retries: rule_retries("train")
    conda:
        "../envs/gpu.yaml"
    threads: res("train", "threads")
    resources:
        **rule_resources("train"),
    params:
        model_path=base_model_path,
        load=model_load_settings,
        grpo=RL["grpo"],
        one_shot=one_shot_reference_settings(),
        prompt_format=lambda wc: MODELS[wc.model]["prompt_format"],
        answer_fallback=lambda wc: answer_fallback(TASKS[wc.task]),
        verifier=lambda wc: TASKS[wc.task]["verifier"],
        seed=config["seed"],
        processes=res("train", "processes"),
        distributed=RL["distributed"],
    script:
        "../workflow_scripts/one_shot_reference.py"


rule select_examples:
    input:
        history=f"{reference_dir('{model}', '{task}')}/reward_history.parquet",
        problems=lambda wc: problems_file(wc.task),
    output:
        selection_file("{model}", "{task}"),
    log:
        "logs/select_examples/{model}/{task}.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        one_shot=one_shot_reference_settings(),
        seed=config["seed"],
    script:
        "../workflow_scripts/select_examples.py"


rule example_selection_table:
    input:
        [selection_file(m, t) for m, t in selection_cells()],
    output:
        "results/tables/example_selection.parquet",
    log:
        "logs/example_selection_table.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        cells=selection_cells(),
        few_shot=claim_setting("few_shot"),
        examples=claim_setting("one_shot", "examples"),
    script:
        "../workflow_scripts/example_selection_table.py"


rule train_claim:
    input:
        unpack(claim_extra_inputs),
        model=base_model_dir,
        problems=lambda wc: problems_file(wc.task),
    output:
        model=directory("results/rl/{model}/{task}/{claim}/seed{seed}/model"),
        curves="results/rl/{model}/{task}/{claim}/seed{seed}/curves.parquet",
        history="results/rl/{model}/{task}/{claim}/seed{seed}/reward_history.parquet",
    log:
        "logs/train_claim/{model}/{task}/{claim}/seed{seed}.log",
    benchmark:
        "benchmarks/runs/train_claim/{model}/{task}/{claim}/seed{seed}.tsv"
    retries: rule_retries("train")
    conda:
        "../envs/gpu.yaml"
    threads: res("train", "threads")
    resources:
        **rule_resources("train"),
    params:
        model_path=base_model_path,
        load=model_load_settings,
        grpo=RL["grpo"],
        claim=lambda wc: vars(get_claim(wc.claim)),
        settings=claim_run_settings,
        prompt_format=lambda wc: MODELS[wc.model]["prompt_format"],
        answer_fallback=lambda wc: answer_fallback(TASKS[wc.task]),
        verifier=lambda wc: TASKS[wc.task]["verifier"],
        seed=config["seed"],
        processes=res("train", "processes"),
        distributed=RL["distributed"],
    script:
        "../workflow_scripts/train_claim.py"


rule eval_table:
    input:
        base=rl_cell_base_files(),
        rl=rl_eval_files(),
        curves=rl_curve_files(),
    output:
        eval="results/tables/eval.parquet",
        curves="results/tables/training_curves.parquet",
        styles="results/tables/eval_styles.parquet",
    log:
        "logs/eval_table.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        runs=[(c, s) for m, t, c, s in rl_runs()],
    script:
        "../workflow_scripts/eval_table.py"
