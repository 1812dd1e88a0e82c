from mirage.core.checkpoints import job_checkpoints
from mirage.toy.pretrain import PretrainJob, pretrain_toy_model
from mirage.workflow import rule_job

with rule_job(snakemake):
    checkpoints, resume_key = job_checkpoints(snakemake, "sft_every")
    job = PretrainJob(
        tokenizer_dir=snakemake.input.tokenizer,
        problem_files=snakemake.input.problems,
        out_dir=snakemake.output[0],
        model_cfg=snakemake.params.model,
        task_families=snakemake.params.tasks,
        prompt_template=snakemake.params.prompt_template,
        seed=snakemake.params.seed,
    )
    pretrain_toy_model(job, threads=snakemake.threads, checkpoints=checkpoints, resume_key=resume_key)
