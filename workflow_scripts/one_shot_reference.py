import sys
import time

STARTED = time.time()  # the job's runtime counts from about here

from mirage.core.devices import check_job_gpus  # noqa: E402
from mirage.training.launch import grpo_job_fields, run_grpo_rule  # noqa: E402
from mirage.training.runs import ReferenceJob  # noqa: E402
from mirage.training.selection import reference_seed  # noqa: E402
from mirage.workflow import rule_job  # noqa: E402

# One-Shot RLVR's reference run of a cell: GRPO on the candidate pool, whose reward history
# ranks the candidates (select_examples); see mirage.training.launch
with rule_job(snakemake):
    check_job_gpus(snakemake)  # granted GPUs that torch cannot use: stop now
    wc = snakemake.wildcards
    spec = ReferenceJob(**grpo_job_fields(snakemake), one_shot=snakemake.params.one_shot,
                        seed=reference_seed(snakemake.params.seed, wc.model, wc.task))
    run_grpo_rule(snakemake, "reference_run", spec, STARTED, output=sys.stdout)
