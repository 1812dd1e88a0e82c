from mirage.schemas import PROBLEMS
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    task, cfg = snakemake.wildcards.task, snakemake.params.task
    if cfg["source"] == "hub":
        from mirage.hub_data import prepare_hub_task

        df = prepare_hub_task(task, cfg, snakemake.params.prompt_template)
    elif cfg["source"] == "file":
        from mirage.file_tasks import prepare_file_task

        df = prepare_file_task(task, cfg, snakemake.params.prompt_template)
    elif cfg["source"] == "reasoning_gym":
        from mirage.reasoning_gym_tasks import prepare_reasoning_gym_task

        df = prepare_reasoning_gym_task(task, cfg, snakemake.params.prompt_template, snakemake.params.seed)
    else:
        from mirage.toy.data import generate_task_splits

        df = generate_task_splits(
            task=task,
            family=cfg["family"],
            family_params=cfg.get("params", {}),
            n_train=cfg["n_train"],
            n_eval=cfg["n_eval"],
            seed=snakemake.params.seed,
            prompt_template=snakemake.params.prompt_template,
            verifier=cfg["verifier"],
        )
    PROBLEMS.write(df, snakemake.output[0])
    print(f"{task}: {df.height} problems written to {snakemake.output[0]}")
