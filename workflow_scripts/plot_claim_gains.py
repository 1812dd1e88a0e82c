from mirage.analysis import plots
from mirage.workflow import rule_job

with rule_job(snakemake):
    plots.plot_claim_gains(snakemake.input[0], [snakemake.output.png, snakemake.output.svg],
                           snakemake.params.figures["dpi"])
