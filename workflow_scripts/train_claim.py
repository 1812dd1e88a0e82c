from mirage.rl import RunOutputs, reference_run, train_claim
from mirage.seeding import stable_seed
from mirage.workflow import job_checkpoints, rule_logging

# one adapter for the GRPO jobs: a claim's run, or the One-Shot reference run of a cell
with rule_logging(snakemake):
    checkpoints, resume_key = job_checkpoints(snakemake, "rl_every")
    wc = snakemake.wildcards
    run = dict(threads=snakemake.threads, checkpoints=checkpoints, resume_key=resume_key,
               prompt_format=snakemake.params.prompt_format, answer_fallback=snakemake.params.answer_fallback)
    if snakemake.rule == "one_shot_reference":
        reference_run(
            model_path=snakemake.params.model_path,
            problems_path=snakemake.input.problems,
            outputs=RunOutputs(snakemake.output.model, snakemake.output.curves, snakemake.output.history),
            rl=snakemake.params.grpo,
            one_shot=snakemake.params.one_shot,
            verifier=snakemake.params.verifier,
            seed=stable_seed(snakemake.params.seed, "one-shot-reference", wc.model, wc.task),
            **run,
        )
    else:
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
            selection_path=snakemake.input.get("selection"),
            **run,
        )
