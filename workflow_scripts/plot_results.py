from mirage import plots
from mirage.workflow import rule_job

# one adapter for the results figures: the rule's name picks the plot
with rule_job(snakemake):
    out = [snakemake.output.png, snakemake.output.svg]
    dpi = snakemake.params.figures["dpi"]
    if snakemake.rule == "plot_claim_gains":
        plots.plot_claim_gains(snakemake.input[0], out, dpi)
    elif snakemake.rule == "plot_style_shift":
        plots.plot_style_shift(snakemake.input.styles, snakemake.input.claims, out, dpi)
    elif snakemake.rule == "plot_training_curves":
        plots.plot_training_curves(snakemake.input[0], snakemake.params.claims, out, dpi)
    elif snakemake.rule == "plot_gain_vs_alignment":
        plots.plot_gain_vs_alignment(snakemake.input.claims, snakemake.input.thresholds, snakemake.params.regime,
                                     snakemake.params.verdict["min_gain"], out, dpi)
    elif snakemake.rule == "plot_contamination":
        plots.plot_contamination(snakemake.input[0], snakemake.params.contamination["flag_exact_match"], out, dpi)
    else:
        raise ValueError(f"plot_results.py does not know rule {snakemake.rule!r}")
