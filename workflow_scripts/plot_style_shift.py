from mirage.analysis import plots
from mirage.workflow import rule_job

with rule_job(snakemake):
    plots.plot_style_shift(snakemake.input.styles, snakemake.input.claims, [snakemake.output.png, snakemake.output.svg],
                           snakemake.params.figures["dpi"])
