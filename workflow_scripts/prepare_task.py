from mirage.schemas import PROBLEMS
from mirage.toy.data import generate_task_splits
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    cfg = snakemake.params.task
    df = generate_task_splits(
        task=snakemake.wildcards.task,
        family=cfg["family"],
        family_params=cfg.get("params", {}),
        n_train=cfg["n_train"],
        n_eval=cfg["n_eval"],
        seed=snakemake.params.seed,
        prompt_template=snakemake.params.prompt_template,
    )
    PROBLEMS.write(df, snakemake.output[0])
    print(f"{snakemake.wildcards.task}: {df.height} problems written to {snakemake.output[0]}")
