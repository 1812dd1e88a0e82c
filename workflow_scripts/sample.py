from mirage.core.devices import check_job_gpus
from mirage.core.settings import SamplerSettings
from mirage.generation.sampling import SamplingJob, sample_split
from mirage.workflow import rule_job

# The guard matters for the vLLM backend: its worker processes re-import this module.
if __name__ == "__main__":
    with rule_job(snakemake):
        check_job_gpus(snakemake)  # granted GPUs that torch cannot use: stop now
        params = snakemake.params
        job = SamplingJob(
            model_name=snakemake.wildcards.model,
            model_path=params.model_path,
            problems_path=snakemake.input.problems,
            split=params.split,
            sampler=SamplerSettings.from_dict(params.sampler),
            seed=params.seed,
            out_path=snakemake.output[0],
            prompt_format=params.prompt_format,
            answer_fallback=params.answer_fallback,
            num_problems=params.get("num_problems"),  # sample_votes: a subset of the train split
            load=params.load,
            style_family=params.style_family,
            shard=tuple(params.shard) if params.get("shard") else None,  # sample_base, sample_votes: a shard
        )
        sample_split(job, threads=snakemake.threads)
