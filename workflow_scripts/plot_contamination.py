from mirage.analysis import plots
from mirage.workflow import rule_job

with rule_job(snakemake):
    plots.plot_contamination(snakemake.input[0], snakemake.params.contamination["flag_exact_match"],
                             [snakemake.output.png, snakemake.output.svg], snakemake.params.figures["dpi"])
