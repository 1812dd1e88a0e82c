from mirage.rl import train_claim
from mirage.seeding import stable_seed
from mirage.workflow import job_checkpoints, rule_logging

with rule_logging(snakemake):
    checkpoints, resume_key = job_checkpoints(snakemake, "rl_every")
    wc = snakemake.wildcards
    train_claim(
        model_path=snakemake.params.model_path,
        problems_path=snakemake.input.problems,
        out_dir=snakemake.output.model,
        curves_path=snakemake.output.curves,
        history_path=snakemake.output.history,
        claim_name=wc.claim,
        rl=snakemake.params.grpo,
        claim_settings=snakemake.params.settings,
        verifier=snakemake.params.verifier,
        # one seed per (model, task, seed), shared by all claims: paired comparisons
        seed=stable_seed(snakemake.params.seed, "rl", wc.model, wc.task, wc.seed),
        wrong_labels_path=snakemake.input.get("wrong_labels"),
        reference_history_path=snakemake.input.get("reference_history"),
        threads=snakemake.threads,
        checkpoints=checkpoints,
        resume_key=resume_key,
    )
