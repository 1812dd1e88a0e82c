from mirage.alignment import sample_problems
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    wc = snakemake.wildcards
    sample_problems(
        model_name=wc.model,
        model_path=snakemake.input.model,
        problems_path=snakemake.input.problems,
        split="eval",
        sampler_cfg=snakemake.params.sampler,
        verifier=snakemake.params.verifier,
        seed=snakemake.params.seed,
        out_path=snakemake.output[0],
        threads=snakemake.threads,
    )
