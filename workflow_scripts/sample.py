from mirage.alignment import sample_problems
from mirage.workflow import rule_logging

# The guard matters for the vLLM backend: its worker processes re-import this module.
if __name__ == "__main__":
    with rule_logging(snakemake):
        sample_problems(
            model_name=snakemake.wildcards.model,
            model_path=snakemake.params.model_path,
            problems_path=snakemake.input.problems,
            split=snakemake.params.split,
            sampler_cfg=snakemake.params.sampler,
            seed=snakemake.params.seed,
            out_path=snakemake.output[0],
            threads=snakemake.threads,
            prompt_format=snakemake.params.prompt_format,
            answer_fallback=snakemake.params.answer_fallback,
            num_problems=snakemake.params.get("num_problems"),  # sample_votes: a subset of the train split
            load=snakemake.params.load,
            style_family=snakemake.params.style_family,
        )
