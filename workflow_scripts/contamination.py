from mirage import contamination
from mirage.models import job_load_settings
from mirage.schemas import CONTAMINATION, CONTAMINATION_SUMMARY
from mirage.workflow import rule_logging

# one adapter for the contamination check: the rule's name picks the step
with rule_logging(snakemake):
    cfg = snakemake.params.contamination
    if snakemake.rule == "contamination_check":
        checks = contamination.check_model(snakemake.wildcards.model, snakemake.params.model_path,
                                           snakemake.input.problems, cfg["fraction"], threads=snakemake.threads,
                                           prompt_format=snakemake.params.prompt_format,
                                           load=job_load_settings(snakemake.config, snakemake.wildcards.model,
                                                                  snakemake.params.model_path))
        CONTAMINATION.write(checks, snakemake.output[0])
    else:
        summary = contamination.summarise([CONTAMINATION.read(f) for f in snakemake.input], cfg["flag_exact_match"])
        CONTAMINATION_SUMMARY.write(summary, snakemake.output[0])
        print(summary)
