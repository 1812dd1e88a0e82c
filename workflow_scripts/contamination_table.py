from mirage.analysis.evaluation import contamination_summary
from mirage.core.schemas import CONTAMINATION, CONTAMINATION_SUMMARY
from mirage.workflow import rule_job

with rule_job(snakemake):
    summary = contamination_summary([CONTAMINATION.read(f) for f in snakemake.input],
                                    snakemake.params.contamination["flag_exact_match"])
    CONTAMINATION_SUMMARY.write(summary, snakemake.output[0])
    print(summary)
