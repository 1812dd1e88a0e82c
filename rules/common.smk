from mirage.training.claims import RUN_PATTERN, get_claim, run_names
from mirage.config import (
    answer_fallback,
    eval_tasks,
    evaluation_sampler,
    file_task_paths,
    folder_files,
    job_sampler,
    looks_local,
    parse_cell,
    resources,
    samples_alike,
    style_family,
    vote_sampler,
)
from mirage.generation.models import load_settings

MODELS = config["models"]
TASKS = config["tasks"]


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    task="[A-Za-z0-9_]+",
    claim="[A-Za-z0-9_]+",
    # a run: its seed, and for a one-shot claim with several examples per cell the example
    # ("1-example2": mirage.training.claims.run_names)
    seed=RUN_PATTERN,


def problems_file(task):
    return f"results/data/{task}.parquet"


def base_model_path(wildcards):
    """A toy model is built by this workflow; a pretrained one is read from its path."""
    cfg = MODELS[wildcards.model]
    return f"results/models/{wildcards.model}/base" if cfg["source"] == "toy" else cfg["path"]


def model_load_settings(wildcards):
    """How a job loads the base model (revision, dtype, trust_remote_code: mirage.generation.models)."""
    return load_settings(MODELS[wildcards.model])


def checkpoint_load_settings(wildcards):
    """How a job loads an RL checkpoint of the model: its settings without the hub revision."""
    return load_settings(MODELS[wildcards.model], checkpoint=True)


def base_model_dir(wildcards):
    """The base model as a job input: a toy model's folder (built by the DAG), or every
    file of a local pretrained folder, so that rewriting the model reruns what read it;
    a hub model is pinned by its revision (a param: model_load_settings)."""
    cfg = MODELS[wildcards.model]
    if cfg["source"] == "toy":
        return base_model_path(wildcards)
    return folder_files(cfg["path"]) if looks_local(cfg["path"]) else []


def task_data_files(wildcards):
    """A file task's local data files: editing one reruns its preparation and what follows."""
    return file_task_paths(TASKS[wildcards.task])


def alignment_pairs():
    return [(m, t) for m, cfg in MODELS.items() for t in eval_tasks(cfg)]


# The alignment sampling jobs' {part}: the split's kind, and its shard when alignment.shards > 1
SHARDS = config["alignment"]["shards"]
SHARD_PART = r"{kind}(-shard\d+of\d+)?"


def sample_files(model, task, kind):
    """The samples tables of a base model's alignment samples (``eval``) or votes
    (``votes``): one, or one per shard."""
    parts = [kind] if SHARDS == 1 else [f"{kind}-shard{i}of{SHARDS}" for i in range(SHARDS)]
    return [f"results/samples/base/{model}/{task}.{part}.parquet" for part in parts]


def parse_shard(part):
    """(index, count) of a sampling job's {part}; None for a whole split."""
    if "-shard" not in part:
        return None
    index, count = part.split("-shard")[1].split("of")
    return [int(index), int(count)]


def base_sample_files():
    """The alignment stage's samples: every base model on its tasks' eval split (all shards)."""
    return [f for m, t in alignment_pairs() for f in sample_files(m, t, "eval")]


def alignment_targets():
    contamination = (
        ["results/tables/contamination.parquet", "results/figures/contamination.png"]
        if config.get("contamination")
        else []
    )
    return [
        "results/tables/passk.parquet",
        "results/tables/style_shares.parquet",
        *expand("results/figures/passk_{model}.{ext}", model=list(MODELS), ext=["png", "svg"]),
        *contamination,
    ]


def data_targets():
    return [problems_file(t) for t in TASKS]


def all_targets():
    return data_targets() + alignment_targets() + rl_targets()


def res(group, key):
    return resources(config, group)[key]


def rule_resources(group):
    """The ``resources:`` of a rule from the config's resources section; every job is kept
    on one node (``nodes``: SLURM's --nodes, which the plugin passes only when set), also
    one whose GPUs come from --set-resources."""
    r = resources(config, group)
    return dict(
        gpu=r["gpu"], mem_mb=r["mem_mb"], runtime=r["runtime"], cpus_per_task=r["cpus_per_task"], nodes=r["nodes"]
    )


def rule_retries(group):
    """A rule's ``retries:`` from the config (None: the profile's --retries). None in the job
    step a cluster runs: the submitting Snakemake retries by submitting the job again, and a
    retry inside the same allocation would inherit its time limit."""
    if workflow.remote_exec:
        return None
    return resources(config, group).get("retries")


# -- RL claims ---------------------------------------------------------------------------------
RL = config["rl"]


def rl_cells():
    """(model, task) pairs trained with RL: the configured cells, or every
    pair of the alignment stage."""
    cells = [parse_cell(c) for c in RL["cells"]]
    return cells or alignment_pairs()


def run_dir(model, task, claim, seed):
    return f"results/rl/{model}/{task}/{claim}/seed{seed}"


def cell_claims(model):
    """The claims trained on a model's cells: a sweep's own list, or rl.claims."""
    return config["sweeps"].get(model, {}).get("claims") or RL["claims"]


def rl_runs():
    examples = claim_setting("one_shot", "examples") or 1
    return [(m, t, c, s) for m, t in rl_cells() for c in cell_claims(m) for s in run_names(c, RL["seeds"], examples)]


def rl_eval_files():
    return [f"results/samples/rl/{m}/{t}/{c}/seed{s}.parquet" for m, t, c, s in rl_runs()]


def rl_curve_files():
    return [f"{run_dir(m, t, c, s)}/curves.parquet" for m, t, c, s in rl_runs()]


def claim_setting(claim, key=None):
    """A claim's settings (``rl.claim_settings.<claim>``), or one of them."""
    settings = RL["claim_settings"].get(claim, {})
    return settings if key is None else settings.get(key)


def one_shot_reference_settings():
    """What the One-Shot reference run and the ranking depend on: the one_shot settings
    without ``examples`` (how many runs train on the ranking, not what it is)."""
    return {k: v for k, v in claim_setting("one_shot").items() if k != "examples"}


def claim_run_settings(wildcards):
    """A claim's settings as one run of it depends on them (one_shot: without ``examples``,
    which sets how many runs there are; the run's own example is in its name)."""
    return one_shot_reference_settings() if wildcards.claim == "one_shot" else claim_setting(wildcards.claim)


def reference_dir(model, task):
    """The One-Shot reference run of a cell (ground truth on the candidate pool)."""
    return f"results/rl/{model}/{task}/one_shot_reference"


def selection_file(model, task):
    return f"results/rl/{model}/{task}/example_selection.parquet"


def selection_cells():
    """Cells whose claims include one trained on selected examples."""
    return [(m, t) for m, t in rl_cells() if any(get_claim(c).needs_example_selection for c in cell_claims(m))]


def claim_extra_inputs(wildcards):
    """What a claim needs besides the base model and the data: the base
    model's majority labels (incorrect_label) or the cell's example selection
    (one-shot and few-shot claims)."""
    claim = get_claim(wildcards.claim)
    extra = {}
    if claim.needs_wrong_labels:
        extra["wrong_labels"] = f"results/rl/wrong_labels/{wildcards.model}/{wildcards.task}.parquet"
    if claim.needs_example_selection:
        extra["selection"] = selection_file(wildcards.model, wildcards.task)
    return extra


def rl_targets():
    if not RL["claims"]:
        return []
    # the style figure only where a task's family labels solution styles (the toy world)
    styled = any(style_family(cfg) for cfg in TASKS.values())
    figures = ["claim_gains", *(["style_shift"] if styled else []), "training_curves", "gain_vs_alignment"]
    selection = ["results/tables/example_selection.parquet"] if selection_cells() else []
    return selection + [
        "results/tables/eval.parquet",
        "results/tables/training_curves.parquet",
        "results/tables/eval_styles.parquet",
        "results/tables/claims.parquet",
        "results/tables/thresholds.parquet",
        "results/tables/paper_comparison.parquet",
        *expand("results/figures/{figure}.{ext}", figure=figures, ext=["png", "svg"]),
    ]


# The samplers of the jobs, as their params carry them (mirage.config.job_sampler).
ALIGNMENT_SAMPLER = job_sampler(config["sampler"])
EVALUATION_SAMPLER = job_sampler(evaluation_sampler(config))
VOTE_SAMPLER = job_sampler(vote_sampler(config))


def base_eval_file(model, task):
    """The base model's eval-split samples that its RL checkpoints are compared
    with, drawn by the evaluation sampler as theirs are: the alignment stage's
    where the two samplers draw alike, else their own job (evaluate_base)."""
    if samples_alike(EVALUATION_SAMPLER, ALIGNMENT_SAMPLER) and SHARDS == 1:
        return f"results/samples/base/{model}/{task}.eval.parquet"
    return f"results/samples/rl/{model}/{task}/base.parquet"


def rl_cell_base_files():
    return [base_eval_file(m, t) for m, t in rl_cells()]
