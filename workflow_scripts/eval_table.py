from mirage.analysis.evaluation import eval_tables
from mirage.workflow import rule_job

with rule_job(snakemake):
    eval_tables(
        base_files=list(snakemake.input.base),
        rl_runs=[(claim, seed, path) for (claim, seed), path in zip(snakemake.params.runs, snakemake.input.rl)],
        curve_files=list(snakemake.input.curves),
        eval_path=snakemake.output.eval,
        curves_path=snakemake.output.curves,
        styles_path=snakemake.output.styles,
    )
