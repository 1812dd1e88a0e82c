from mirage.core.schemas import PROBLEMS
from mirage.tasks.sources import prepare_problems
from mirage.workflow import rule_job

with rule_job(snakemake):
    task = snakemake.wildcards.task
    df = prepare_problems(task, snakemake.params.task, snakemake.params.prompt_template, snakemake.params.seed)
    PROBLEMS.write(df, snakemake.output[0])
    print(f"{task}: {df.height} problems written to {snakemake.output[0]}")
