from mirage.schemas import CLAIMS_TABLE
from mirage.verdicts import claims_table
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    table = claims_table(
        base_files=list(snakemake.input.base),
        runs=[(claim, seed, path) for (claim, seed), path in zip(snakemake.params.runs, snakemake.input.rl)],
        passk_path=snakemake.input.passk,
        analysis=snakemake.params.analysis,
        seed=snakemake.params.seed,
    )
    CLAIMS_TABLE.write(table, snakemake.output[0])
    print(table)
