rule passk_table:
    input:
        base_sample_files(),
    output:
        passk="results/tables/passk.parquet",
        styles="results/tables/style_shares.parquet",
    log:
        "logs/passk_table.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        ks=config["alignment"]["ks"],
    script:
        "../workflow_scripts/passk_table.py"


rule plot_passk:
    input:
        "results/tables/passk.parquet",
    output:
        png=report(
            "results/figures/passk_{model}.png",
            caption="../report/passk.rst",
            category="1. Alignment",
            labels={"model": "{model}", "figure": "pass@k curves"},
        ),
        svg="results/figures/passk_{model}.svg",
    log:
        "logs/plot_passk/{model}.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        figures=config["figures"],
    script:
        "../workflow_scripts/plot_passk.py"


# The contamination check (the paper's fourth analysis): can the base model
# complete the evaluation prompts it should never have seen?
rule contamination_check:
    input:
        model=base_model_dir,
        problems=lambda wc: problems_file(wc.task),
    output:
        "results/contamination/{model}/{task}.parquet",
    log:
        "logs/contamination_check/{model}/{task}.log",
    retries: rule_retries("sample")
    conda:
        "../envs/torch.yaml"
    threads: res("sample", "threads")
    resources:
        **rule_resources("sample"),
    params:
        model_path=base_model_path,
        load=model_load_settings,
        contamination=lambda wc: config["contamination"],
        prompt_format=lambda wc: MODELS[wc.model]["prompt_format"],
    script:
        "../workflow_scripts/contamination_check.py"


rule contamination_table:
    input:
        [f"results/contamination/{m}/{t}.parquet" for m, t in alignment_pairs()],
    output:
        "results/tables/contamination.parquet",
    log:
        "logs/contamination_table.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        contamination=lambda wc: config["contamination"],
    script:
        "../workflow_scripts/contamination_table.py"


rule plot_contamination:
    input:
        "results/tables/contamination.parquet",
    output:
        png=report("results/figures/contamination.png", caption="../report/contamination.rst", category="1. Alignment"),
        svg="results/figures/contamination.svg",
    log:
        "logs/plot_contamination.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        contamination=lambda wc: config["contamination"],
        figures=config["figures"],
    script:
        "../workflow_scripts/plot_contamination.py"
