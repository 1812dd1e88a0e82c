import sys
import time
from pathlib import Path

STARTED = time.time()  # the job's runtime counts from about here

from mirage.checkpoints import TimeLimit, job_checkpoints  # noqa: E402
from mirage.claims import parse_run  # noqa: E402
from mirage.devices import check_job_gpus  # noqa: E402
from mirage.launch import TrainingJob, granted_processes, run_training_job  # noqa: E402
from mirage.rl import ClaimJob, ReferenceJob, RunOutputs, tracking_settings  # noqa: E402
from mirage.seeding import stable_seed  # noqa: E402
from mirage.settings import GRPOSettings  # noqa: E402
from mirage.workflow import job_provenance, rule_job  # noqa: E402

# one adapter for the GRPO jobs: a claim's run, or the One-Shot reference run of a cell;
# one process, or one per granted GPU (resources.train.processes on the CPU), see mirage.launch
with rule_job(snakemake):
    check_job_gpus(snakemake)  # granted GPUs that torch cannot use: stop now
    checkpoints, resume_key = job_checkpoints(snakemake, "rl_every")
    wc, params, out = snakemake.wildcards, snakemake.params, snakemake.output
    common = dict(model_path=params.model_path, problems_path=snakemake.input.problems,
                  outputs=RunOutputs(model_dir=out.model, curves=out.curves, history=out.history),
                  grpo=GRPOSettings.from_dict(params.grpo), verifier=params.verifier,
                  prompt_format=params.prompt_format, answer_fallback=params.answer_fallback, load=params.load)
    if snakemake.rule == "one_shot_reference":
        function, spec = "reference_run", ReferenceJob(
            **common, one_shot=params.one_shot, seed=stable_seed(params.seed, "one-shot-reference", wc.model, wc.task))
    else:
        seed, example = parse_run(wc.claim, wc.seed)
        function, spec = "train_claim", ClaimJob(
            **common, claim=wc.claim, claim_settings=params.settings,
            # one seed per (model, task, seed), shared by all claims: paired comparisons (the runs of
            # a one-shot claim's examples share their seed's)
            seed=stable_seed(params.seed, "rl", wc.model, wc.task, str(seed)),
            wrong_labels_path=snakemake.input.get("wrong_labels"), selection_path=snakemake.input.get("selection"),
            example=example or 1,
            # read from the config, not a param: tracking changes no result, so it reruns no job
            tracking=tracking_settings(snakemake.config["rl"]["report_to"], wc.model, wc.task, wc.claim, wc.seed))
    job = TrainingJob(function, spec.as_dict(), checkpoints=dict(root=str(checkpoints.root), every=checkpoints.every,
                                                                 keep=checkpoints.keep, base=str(checkpoints.base)),
                      resume_key=resume_key, provenance=job_provenance(snakemake),
                      time_limit=vars(TimeLimit.for_job(snakemake, STARTED)))
    run_training_job(job, granted_processes(snakemake.resources.gpu, params.processes), snakemake.threads,
                     engine=params.distributed, accelerate_dir=Path(snakemake.scriptdir).parent / "config" / "accelerate",
                     output=sys.stdout)
