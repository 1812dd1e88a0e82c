from mirage.analysis.plots import plot_passk_curves
from mirage.workflow import rule_job

with rule_job(snakemake):
    plot_passk_curves(
        passk_path=snakemake.input[0],
        model=snakemake.wildcards.model,
        out_paths=[snakemake.output.png, snakemake.output.svg],
        dpi=snakemake.params.figures["dpi"],
    )
