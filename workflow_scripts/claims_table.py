from mirage.schemas import CLAIMS_TABLE
from mirage.verdicts import claims_table, was_trained
from mirage.workflow import rule_job

with rule_job(snakemake):
    runs = zip(snakemake.params.runs, snakemake.input.rl, snakemake.input.models)
    table = claims_table(
        base_files=list(snakemake.input.base),
        # a run that had nothing to train on (see mirage.rl.train_claim) has no verdict
        runs=[(claim, seed, path) for (claim, seed), path, model in runs if was_trained(model)],
        passk_path=snakemake.input.passk,
        analysis=snakemake.params.analysis,
        seed=snakemake.params.seed,
    )
    CLAIMS_TABLE.write(table, snakemake.output[0])
    print(table)
