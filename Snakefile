# mirage: does a surprising RL result hold only when the base model is aligned
# with the task? (arXiv 2508.21188) — the study as one DAG.
import os
import sys

from snakemake.utils import min_version, update_config

from mirage.config import ConfigError, typed_overrides, validate_config
from mirage.core.kernels import apply as apply_cpu_kernels
from mirage.workflow import offline_hub

min_version("9.0")

# The default toy study, unless a config file is given (--configfile config/paper.yaml):
# a given config file replaces the default instead of being merged into it. Keys given
# with --config (snakemake --config seed=7) override either.
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


# nested --config values ('rl={seeds: [3]}') arrive as strings: typed as YAML types them
update_config(config, typed_overrides(workflow.config_settings.config))

try:
    validate_config(config, workflow.source_path("config/schema.yaml"))
except ConfigError as error:
    # one line naming the key, no traceback; nothing has run yet
    print(error, file=sys.stderr)
    sys.exit(1)

# The CPU kernels of every job (cpu_kernels: the same numbers on any x86-64 CPU with AVX2): each
# library reads its choice once, when it loads, so it is set here, before any job starts.
apply_cpu_kernels(config["cpu_kernels"])

# Jobs import the mirage package from this checkout, in a venv or a conda env alike.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")]))
# Jobs never reach a model or data set hub (python -m mirage download fills the cache first):
# set here, so that every job has it before its first import of huggingface_hub, which reads it once.
offline_hub()


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/sampling.smk"
include: "rules/alignment.smk"
include: "rules/rl.smk"
include: "rules/results.smk"


# Cheap aggregation and figure jobs run where Snakemake runs, not on a cluster node.
localrules:
    all,
    passk_table,
    wrong_labels,
    select_examples,
    example_selection_table,
    eval_table,
    claims_table,
    verdict_tables,
    contamination_table,
    plot_passk,
    plot_claim_gains,
    plot_style_shift,
    plot_training_curves,
    plot_gain_vs_alignment,
    plot_contamination,


rule all:
    default_target: True
    input:
        all_targets(),
