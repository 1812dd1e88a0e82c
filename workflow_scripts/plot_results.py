from mirage import plots
from mirage.workflow import rule_logging

# one adapter for the results figures: the rule's name picks the plot
with rule_logging(snakemake):
    out = [snakemake.output.png, snakemake.output.svg]
    if snakemake.rule == "plot_claim_gains":
        plots.plot_claim_gains(snakemake.input[0], out)
    elif snakemake.rule == "plot_style_shift":
        plots.plot_style_shift(snakemake.input.eval, snakemake.input.claims, out)
    elif snakemake.rule == "plot_training_curves":
        plots.plot_training_curves(snakemake.input[0], snakemake.params.claims, out)
    else:
        raise ValueError(f"plot_results.py does not know rule {snakemake.rule!r}")
