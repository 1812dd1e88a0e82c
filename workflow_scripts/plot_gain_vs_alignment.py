from mirage.analysis import plots
from mirage.workflow import rule_job

with rule_job(snakemake):
    params = snakemake.params
    plots.plot_gain_vs_alignment(snakemake.input.claims, snakemake.input.thresholds, params.regime,
                                 params.verdict["min_gain"], [snakemake.output.png, snakemake.output.svg],
                                 params.figures["dpi"])
