# The study's answer: the verdict table and the figures, from cached stages.


rule claims_table:
    input:
        base=rl_cell_base_files(),
        rl=rl_eval_files(),
        models=[f"{run_dir(*run)}/model" for run in rl_runs()],
        curves=rl_curve_files(),
        passk="results/tables/passk.parquet",
    output:
        "results/tables/claims.parquet",
    log:
        "logs/claims_table.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        runs=[(c, s) for m, t, c, s in rl_runs()],
        analysis=config["analysis"],
        seed=config["seed"],
    script:
        "../workflow_scripts/claims_table.py"


rule plot_claim_gains:
    input:
        "results/tables/claims.parquet",
    output:
        png=report("results/figures/claim_gains.png", caption="../report/claim_gains.rst", category="2. Claims"),
        svg="results/figures/claim_gains.svg",
    log:
        "logs/plot_claim_gains.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        figures=config["figures"],
    script:
        "../workflow_scripts/plot_claim_gains.py"


rule plot_style_shift:
    input:
        styles="results/tables/eval_styles.parquet",
        claims="results/tables/claims.parquet",
    output:
        png=report("results/figures/style_shift.png", caption="../report/style_shift.rst", category="3. Mechanism"),
        svg="results/figures/style_shift.svg",
    log:
        "logs/plot_style_shift.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        figures=config["figures"],
    script:
        "../workflow_scripts/plot_style_shift.py"


rule plot_training_curves:
    input:
        "results/tables/training_curves.parquet",
    output:
        png=report(
            "results/figures/training_curves.png", caption="../report/training_curves.rst", category="3. Mechanism"
        ),
        svg="results/figures/training_curves.svg",
    log:
        "logs/plot_training_curves.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        figures=config["figures"],
        # the polarity comparison: NSR vs PSR vs full GRPO
        claims=[c for c in ("ground_truth", "nsr", "psr") if c in RL["claims"]],
    script:
        "../workflow_scripts/plot_training_curves.py"


rule verdict_tables:
    input:
        "results/tables/claims.parquet",
    output:
        thresholds="results/tables/thresholds.parquet",
        comparison="results/tables/paper_comparison.parquet",
        markdown=report(
            "results/tables/paper_comparison.md", caption="../report/paper_comparison.rst", category="2. Claims"
        ),
    log:
        "logs/verdict_tables.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        verdict=config["analysis"]["verdict"],
    script:
        "../workflow_scripts/verdict_tables.py"


rule plot_gain_vs_alignment:
    input:
        claims="results/tables/claims.parquet",
        thresholds="results/tables/thresholds.parquet",
    output:
        png=report(
            "results/figures/gain_vs_alignment.png", caption="../report/gain_vs_alignment.rst", category="2. Claims"
        ),
        svg="results/figures/gain_vs_alignment.svg",
    log:
        "logs/plot_gain_vs_alignment.log",
    conda:
        "../envs/analysis.yaml"
    resources:
        **rule_resources("default"),
    params:
        regime=config["analysis"]["regime"],
        verdict=config["analysis"]["verdict"],
        figures=config["figures"],
    script:
        "../workflow_scripts/plot_gain_vs_alignment.py"
