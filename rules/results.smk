# The study's answer: the verdict table and the figures, from cached stages.

rule claims_table:
    input:
        base=rl_cell_base_files(),
        rl=rl_eval_files(),
        passk="results/tables/passk.parquet",
    output:
        "results/tables/claims.parquet",
    params:
        runs=[(c, s) for m, t, c, s in rl_runs()],
        analysis=config["analysis"],
        seed=config["seed"],
    log:
        "logs/claims_table.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/claims_table.py"


rule plot_claim_gains:
    input:
        "results/tables/claims.parquet",
    output:
        png="results/figures/claim_gains.png",
        svg="results/figures/claim_gains.svg",
    log:
        "logs/plot_claim_gains.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_results.py"


rule plot_style_shift:
    input:
        eval="results/tables/eval.parquet",
        claims="results/tables/claims.parquet",
    output:
        png="results/figures/style_shift.png",
        svg="results/figures/style_shift.svg",
    log:
        "logs/plot_style_shift.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_results.py"


rule plot_training_curves:
    input:
        "results/tables/training_curves.parquet",
    output:
        png="results/figures/training_curves.png",
        svg="results/figures/training_curves.svg",
    params:
        # the polarity comparison: NSR vs PSR vs full GRPO
        claims=[c for c in ("ground_truth", "nsr", "psr") if c in RL["claims"]],
    log:
        "logs/plot_training_curves.log",
    resources:
        **rule_resources("default"),
    conda:
        "../envs/analysis.yaml"
    script:
        "../workflow_scripts/plot_results.py"
