from mirage.analysis.verdicts import claims_table, had_signal, was_trained
from mirage.core.schemas import CLAIMS_TABLE
from mirage.workflow import rule_job

with rule_job(snakemake):
    runs = list(zip(snakemake.params.runs, snakemake.input.rl, snakemake.input.models, snakemake.input.curves))
    table = claims_table(
        base_files=list(snakemake.input.base),
        # a run that had nothing to train on (see mirage.training.runs.train_claim) has no verdict
        runs=[(claim, seed, path) for (claim, seed), path, model, _ in runs if was_trained(model)],
        passk_path=snakemake.input.passk,
        analysis=snakemake.params.analysis,
        seed=snakemake.params.seed,
        # runs whose gradient was zero at every step: a cell of only such runs learned nothing
        silent_runs={(claim, seed) for (claim, seed), _, model, curves in runs
                     if was_trained(model) and not had_signal(curves)},
    )
    CLAIMS_TABLE.write(table, snakemake.output[0])
    print(table)
