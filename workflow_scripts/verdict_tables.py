from mirage.atomic import write_text_atomic
from mirage.schemas import CLAIMS_TABLE, PAPER_COMPARISON, THRESHOLDS
from mirage.verdicts import comparison_markdown, paper_comparison, thresholds_table
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    claims = CLAIMS_TABLE.read(snakemake.input[0])
    thresholds = thresholds_table(claims, snakemake.params.verdict["min_gain"])
    comparison = paper_comparison(claims)
    THRESHOLDS.write(thresholds, snakemake.output.thresholds)
    PAPER_COMPARISON.write(comparison, snakemake.output.comparison)
    write_text_atomic(snakemake.output.markdown, comparison_markdown(comparison, snakemake.input[0]))
    print(thresholds)
    print(comparison)
