from mirage.analysis import contamination
from mirage.core.devices import check_job_gpus
from mirage.core.schemas import CONTAMINATION
from mirage.workflow import rule_job

with rule_job(snakemake):
    check_job_gpus(snakemake)  # granted GPUs that torch cannot use: stop now
    checks = contamination.check_model(snakemake.wildcards.model, snakemake.params.model_path,
                                       snakemake.input.problems, snakemake.params.contamination["fraction"],
                                       threads=snakemake.threads, prompt_format=snakemake.params.prompt_format,
                                       load=snakemake.params.load)
    CONTAMINATION.write(checks, snakemake.output[0])
