from mirage.config import eval_tasks, resources

MODELS = config["models"]
TASKS = config["tasks"]
TOY_MODELS = [m for m, cfg in MODELS.items() if cfg["source"] == "toy"]


wildcard_constraints:
    model="[A-Za-z0-9_]+",
    task="[A-Za-z0-9_]+",


def problems_file(task):
    return f"results/data/{task}.parquet"


def base_model_dir(wildcards):
    """A toy model is built by this workflow; a pretrained one is read from its path."""
    cfg = MODELS[wildcards.model]
    if cfg["source"] == "toy":
        return f"results/models/{wildcards.model}/base"
    return []


def base_model_path(wildcards):
    cfg = MODELS[wildcards.model]
    return f"results/models/{wildcards.model}/base" if cfg["source"] == "toy" else cfg["path"]


def alignment_pairs():
    return [(m, t) for m, cfg in MODELS.items() for t in eval_tasks(cfg)]


def base_sample_files():
    return [f"results/samples/base/{m}/{t}.parquet" for m, t in alignment_pairs()]


def alignment_targets():
    return [
        "results/tables/passk.parquet",
        "results/tables/style_shares.parquet",
        *expand("results/figures/passk_{model}.{ext}", model=list(MODELS), ext=["png", "svg"]),
    ]


def data_targets():
    return [problems_file(t) for t in TASKS]


def all_targets():
    return data_targets() + alignment_targets()


def res(group, key):
    return resources(config, group)[key]


def rule_resources(group):
    """The ``resources:`` of a rule from the config's resources section."""
    r = resources(config, group)
    return dict(gpu=r["gpu"], mem_mb=r["mem_mb"], runtime=r["runtime"], cpus_per_task=r["cpus_per_task"])
