import sys
import time

STARTED = time.time()  # the job's runtime counts from about here

from mirage.core.devices import check_job_gpus  # noqa: E402
from mirage.core.seeding import stable_seed  # noqa: E402
from mirage.training.claims import parse_run  # noqa: E402
from mirage.training.launch import grpo_job_fields, run_grpo_rule  # noqa: E402
from mirage.training.runs import ClaimJob  # noqa: E402
from mirage.training.trainer import tracking_settings  # noqa: E402
from mirage.workflow import rule_job  # noqa: E402

# a claim's GRPO run on one (model, task, seed[, example]); see mirage.training.launch
with rule_job(snakemake):
    check_job_gpus(snakemake)  # granted GPUs that torch cannot use: stop now
    wc, params = snakemake.wildcards, snakemake.params
    seed, example = parse_run(wc.claim, wc.seed)
    spec = ClaimJob(
        **grpo_job_fields(snakemake), claim=wc.claim, claim_settings=params.settings,
        # one seed per (model, task, seed), shared by all claims: paired comparisons (the runs of
        # a one-shot claim's examples share their seed's)
        seed=stable_seed(params.seed, "rl", wc.model, wc.task, str(seed)),
        wrong_labels_path=snakemake.input.get("wrong_labels"), selection_path=snakemake.input.get("selection"),
        example=example or 1,
        # read from the config, not a param: tracking changes no result, so it reruns no job
        tracking=tracking_settings(snakemake.config["rl"]["report_to"], wc.model, wc.task, wc.claim, wc.seed))
    run_grpo_rule(snakemake, "train_claim", spec, STARTED, output=sys.stdout)
