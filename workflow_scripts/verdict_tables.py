from mirage.analysis.verdicts import write_verdict_tables
from mirage.core.schemas import CLAIMS_TABLE
from mirage.workflow import rule_job

with rule_job(snakemake):
    claims = CLAIMS_TABLE.read(snakemake.input[0])
    write_verdict_tables(claims, snakemake.params.verdict["min_gain"], snakemake.output.thresholds,
                         snakemake.output.comparison, snakemake.output.markdown, snakemake.input[0])
    print(open(snakemake.output.markdown).read())
