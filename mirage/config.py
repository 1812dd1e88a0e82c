"""Validation of a study's config: the schema first, then the cross-references
the schema cannot express. Every failure is one line naming the key."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from mirage import memory
from mirage.core.settings import CheckpointSettings, GRPOSettings, SamplerSettings, SFTSettings, schema_section
from mirage.tasks.checks import check_file_task, check_generator
from mirage.tasks.hub_sources import SOURCES
from mirage.training.claims import CLAIMS
from mirage.verifiers.names import VERIFIER_NAMES


class ConfigError(ValueError):
    """A config value that the study cannot run with."""


def _key_path(parts) -> str:
    return ".".join(str(p) for p in parts) or "<top level>"


def _describe(error) -> str:
    """One line for a jsonschema error: where, what was found, what was expected."""
    where = _key_path(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        key = f"{where}.{unknown[0]}" if where != "<top level>" else unknown[0]
        return f"unknown key '{key}'; allowed keys here: {', '.join(allowed)}"
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"'{where}': {error.message}"


def check_schema(config: dict, schema_path: str | Path) -> None:
    """Validate with ``snakemake.utils.validate`` (which also fills defaults);
    on failure raise a :class:`ConfigError` of one line per error."""
    import jsonschema
    from snakemake.utils import validate

    try:
        validate(config, str(schema_path))
    except Exception as exc:  # snakemake wraps the jsonschema error in a long message
        schema = yaml.safe_load(Path(schema_path).read_text())
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(config))
        if not errors:
            raise ConfigError(f"config does not match {schema_path}: {exc}") from None
        # every error, one line each: the best match of each place in the config
        by_place: dict[tuple, list] = {}
        for error in errors:
            by_place.setdefault(tuple(map(str, error.absolute_path)), []).append(error)
        lines = [f"config error: {_describe(jsonschema.exceptions.best_match(group))}"
                 for _, group in sorted(by_place.items())]
        raise ConfigError("\n".join(dict.fromkeys(lines))) from None


def check_hub_tasks(tasks: dict) -> dict[str, list[str]]:
    """Check each hub task's verifier and sources; return the benchmarks each
    hub task is evaluated on."""
    benchmarks = {}
    for name, task in tasks.items():
        if task["source"] != "hub":
            continue
        check_verifier(name, task)
        entries = [("train", f"tasks.{name}.train", task["train"])]
        entries += [("eval", f"tasks.{name}.eval.{i}", e) for i, e in enumerate(task["eval"])]
        for split, where, entry in entries:
            source = SOURCES.get(entry["dataset"])
            if source is None:
                raise ConfigError(f"config error: '{where}.dataset' is '{entry['dataset']}', expected one of "
                                  f"{', '.join(sorted(SOURCES))}")
            if split not in source.splits:
                raise ConfigError(f"config error: '{where}.dataset' ('{entry['dataset']}') has no {split} split")
            if source.hub_name is None and "data_files" not in entry:
                raise ConfigError(f"config error: '{where}' needs 'data_files': '{entry['dataset']}' has no hub copy "
                                  f"({source.files_hint})")
        benchmarks[name] = [SOURCES[e["dataset"]].benchmark for e in task["eval"]]
    return benchmarks


def check_verifier(name: str, task: dict) -> None:
    """A task's verifier is one of mirage.verifiers.registry.VERIFIERS (known here by name,
    mirage.verifiers.names: the verifiers themselves load math-verify)."""
    if task["verifier"] not in VERIFIER_NAMES:
        raise ConfigError(f"config error: 'tasks.{name}.verifier' is '{task['verifier']}', expected one of "
                          f"{', '.join(sorted(VERIFIER_NAMES))}")


def check_source_tasks(tasks: dict) -> dict[str, list[str]]:
    """Check each file and reasoning-gym task (mirage.tasks.checks); return the
    benchmark each is evaluated on."""
    benchmarks = {}
    for name, task in tasks.items():
        if task["source"] == "file":
            try:
                check_file_task(name, task)
            except ValueError as err:
                raise ConfigError(f"config error: {err}") from None
            check_verifier(name, task)
            benchmarks[name] = [task.get("benchmark", name)]
        elif task["source"] == "reasoning_gym":
            try:
                check_generator(task["generator"], task.get("config", {}))
            except ImportError as err:
                raise ConfigError(f"config error: 'tasks.{name}': {err}") from None
            except ValueError as err:
                key = "generator" if "unknown" in str(err) else "config"
                raise ConfigError(f"config error: 'tasks.{name}.{key}': {err}") from None
            benchmarks[name] = [task.get("benchmark", task["generator"])]
    return benchmarks


def check_paper_regimes(config: dict, hub_benchmarks: dict[str, list[str]]) -> None:
    """``analysis.paper_regimes``: each key a model/task pair of the alignment
    stage, and its benchmark (if named) one the task is evaluated on (a toy task
    is its own benchmark)."""
    pairs = {(m, t) for m, cfg in config["models"].items() for t in eval_tasks(cfg)}
    for key in config["analysis"].get("paper_regimes", {}):
        model, task, *benchmark = key.split("/")
        where = f"config error: 'analysis.paper_regimes' has '{key}'"
        if (model, task) not in pairs:
            raise ConfigError(f"{where}, but '{model}/{task}' is not a model/task pair of the alignment stage "
                              f"(models and their evaluate_on / mixture tasks)")
        known = hub_benchmarks.get(task, [task])
        if benchmark and benchmark[0] not in known:
            raise ConfigError(f"{where}, but task '{task}' is not evaluated on benchmark '{benchmark[0]}' "
                              f"(its benchmarks: {', '.join(known)})")


def check_references(config: dict) -> None:
    """Cross-references between sections: every check runs, and every error is
    reported, one line each (a check that fails stops only itself)."""
    tasks, errors = config["tasks"], []

    def run(check, *args):
        try:
            return check(*args)
        except ConfigError as error:
            errors.append(str(error))
        except (KeyError, TypeError, ValueError):
            if not errors:  # not a consequence of an error already listed (an unknown claim, ...)
                raise
        return None

    hub_benchmarks = {}
    for name, task in tasks.items():
        hub_benchmarks.update(run(check_hub_tasks, {name: task}) or {})
        hub_benchmarks.update(run(check_source_tasks, {name: task}) or {})
    task_errors = len(errors)
    for name, task in tasks.items():
        for path in file_task_paths(task):
            if not Path(path).expanduser().is_file():
                where = "" if Path(path).expanduser().is_absolute() else f" in the study directory ({Path.cwd()})"
                errors.append(f"config error: 'tasks.{name}' reads '{path}': no such file{where}")
    for name, model in config["models"].items():
        run(check_model, config, name, model)
    for check in (check_claims, check_claim_settings, check_cells, check_training_processes, check_resources,
                  check_checkpoints, check_ks, check_samplers, check_gpu_memory):
        run(check, config)
    if not task_errors:  # a task refused above has no benchmarks to check the labels against
        run(check_paper_regimes, config, hub_benchmarks)
    if errors:
        raise ConfigError("\n".join(errors))


def looks_local(path: str) -> bool:
    """A model path that names a local folder: an absolute or ./ path, or one
    that is not of the hub's org/name form."""
    return path.startswith(("/", "./", "../", "~")) or path.count("/") != 1 or Path(path).expanduser().is_dir()


def check_model(config: dict, name: str, model: dict) -> None:
    tasks = config["tasks"]
    for task in model.get("mixture", {}):
        if task not in tasks:
            raise ConfigError(
                f"config error: 'models.{name}.mixture.{task}' names a task that is not under 'tasks' "
                f"(known: {', '.join(sorted(tasks))})"
            )
        shares = model["mixture"][task]["styles"]
        if sum(shares.values()) <= 0:
            raise ConfigError(f"config error: 'models.{name}.mixture.{task}.styles' must have a positive share")
    for task in model.get("evaluate_on", []):
        if task not in tasks:
            raise ConfigError(
                f"config error: 'models.{name}.evaluate_on' names task '{task}' that is not under 'tasks'"
            )
    if model["source"] == "toy":
        arch = model["architecture"]
        if arch["hidden_size"] % arch["num_attention_heads"]:
            raise ConfigError(
                f"config error: 'models.{name}.architecture.hidden_size' ({arch['hidden_size']}) must be "
                f"divisible by num_attention_heads ({arch['num_attention_heads']})"
            )
        return
    path = model.get("path", "")
    # a hub id ("org/name") is read from the cache at run time; a local folder must exist now
    if looks_local(path) and not Path(path).expanduser().is_dir():
        where = "" if Path(path).expanduser().is_absolute() else f" in the study directory ({Path.cwd()})"
        raise ConfigError(f"config error: 'models.{name}.path' is '{path}': no such folder{where}, and not a hub id "
                          "(org/name)")
    if looks_local(path) and model.get("prompt_format") == "chat" and not has_chat_template(path):
        raise ConfigError(f"config error: 'models.{name}.prompt_format' is chat, but the tokenizer in '{path}' has "
                          "no chat template (tokenizer_config.json's chat_template, or chat_template.jinja); "
                          "use prompt_format: plain")


def has_chat_template(folder: str) -> bool:
    root = Path(folder).expanduser()
    if (root / "chat_template.jinja").is_file() or (root / "chat_template.json").is_file():
        return True
    try:
        return bool(json.loads((root / "tokenizer_config.json").read_text()).get("chat_template"))
    except (OSError, ValueError):
        return False


def check_claims(config: dict) -> None:
    rl = config["rl"]
    for claim in rl["claims"]:
        if claim not in CLAIMS:
            raise ConfigError(f"config error: 'rl.claims' names unknown claim '{claim}' (known: {', '.join(CLAIMS)})")
    for name, sweep in config.get("sweeps", {}).items():
        for claim in sweep.get("claims", []):
            if claim not in rl["claims"]:
                raise ConfigError(f"config error: 'sweeps.{name}.claims' names '{claim}', which is not in "
                                  f"'rl.claims' ({', '.join(rl['claims'])})")


def parse_cell(cell: str) -> tuple[str, ...]:
    return tuple(cell.split("/"))  # an rl.cells entry, "model/task", as (model, task)


def check_cells(config: dict) -> None:
    pairs = {(m, t) for m, cfg in config["models"].items() for t in eval_tasks(cfg)}
    for cell in config["rl"].get("cells", []):
        if parse_cell(cell) not in pairs:
            raise ConfigError(f"config error: 'rl.cells' has '{cell}', which is not a model/task pair of the alignment stage")


def check_resources(config: dict) -> None:
    for group, why in (("default", "data preparation, tables and figures"), ("pretrain", "toy SFT runs on the CPU")):
        if config["resources"].get(group, {}).get("gpu", 0) > 0:
            raise ConfigError(f"config error: 'resources.{group}.gpu' is {config['resources'][group]['gpu']}, expected 0: "
                              f"its rules cannot use a GPU ({why})")


def check_ks(config: dict) -> None:
    n = config["sampler"]["n"]
    if config["analysis"]["regime"]["k"] > n:
        raise ConfigError(f"config error: 'analysis.regime.k' ({config['analysis']['regime']['k']}) is larger than 'sampler.n' ({n})")
    for k in config["alignment"].get("ks", []):
        if k > n:
            raise ConfigError(f"config error: 'alignment.ks' has k={k} larger than 'sampler.n' ({n})")


def training_processes(config: dict) -> int:
    """Processes of a training job: one per GPU it asks for, or
    ``resources.train.processes`` on the CPU."""
    train = resources(config, "train")
    return train["gpu"] or train.get("processes", 1)


def check_training_processes(config: dict) -> None:
    """The generation batch splits evenly over the optimizer steps of a rollout
    batch and the training processes, so that the global batch is the
    configured one whatever the process count."""
    grpo, procs = config["rl"]["grpo"], training_processes(config)
    try:
        GRPOSettings.from_dict(grpo).check_batch_split(procs)
    except ValueError as err:
        raise ConfigError(f"config error: {err}") from None
    if grpo.get("model_dtype") == "bfloat16" and config["rl"].get("distributed") != "zero3":
        raise ConfigError("config error: 'rl.grpo.model_dtype' is bfloat16, which needs 'rl.distributed: zero3' "
                          "(its optimizer keeps float32 master weights); with bf16 weights otherwise, AdamW's updates "
                          "are mostly lost to rounding: use float32 (bf16 autocast still speeds up the GPU)")
    tp = grpo.get("vllm_tensor_parallel_size", 1)
    if grpo.get("use_vllm") and procs % tp:
        raise ConfigError(f"config error: 'rl.grpo.vllm_tensor_parallel_size' ({tp}) must divide the training "
                          f"processes ({procs})")
    if "majority_vote" in config["rl"]["claims"] and grpo["prompts_per_generation"] % procs:
        raise ConfigError(f"config error: the majority_vote claim votes within a process: 'rl.grpo."
                          f"prompts_per_generation' ({grpo['prompts_per_generation']}) must be a multiple of the "
                          f"training processes ({procs})")


def check_gpu_memory(config: dict) -> None:
    """Every GPU job of a model with a ``shape`` fits its GPU (``plan.gpu``), by the
    memory estimate of ``mirage.memory``: the training jobs and the vLLM sampling jobs."""
    gpu, table = config["plan"]["gpu"], config["plan"]["gpu_memory_gib"]
    gpu_gib = table.get(gpu)
    train, sample = resources(config, "train"), resources(config, "sample")
    if gpu_gib is None:
        if train["gpu"] or sample["gpu"]:
            raise ConfigError(f"config error: 'plan.gpu_memory_gib' has no entry for plan.gpu '{gpu}' "
                              f"(known: {', '.join(sorted(table))}): add its memory in GiB")
        return
    grpo = GRPOSettings.from_dict(config["rl"]["grpo"])
    samplers = [("sampler", config["sampler"]), ("evaluation.sampler", evaluation_sampler(config))]
    for name, model in config["models"].items():
        shape = memory.ModelShape.from_model(model)
        if shape is None:
            continue
        problems = []
        if train["gpu"]:
            problems.append(memory.training_refusal(name, shape, grpo, config["rl"]["distributed"],
                                                    train["gpu"], gpu, gpu_gib))
        if sample["gpu"]:
            problems += [memory.sampling_refusal(name, shape, sampler, gpu, gpu_gib, key)
                         for key, sampler in samplers if sampler.get("backend") == "vllm"]
        for problem in problems:
            if problem:
                raise ConfigError(f"config error: {problem}")


def check_claim_settings(config: dict) -> None:
    """Settings of the claims that the schema cannot check alone."""
    rl = config["rl"]
    grpo, settings, claims = rl["grpo"], rl["claim_settings"], rl["claims"]
    where = "config error: 'rl.claim_settings"
    votes = settings["majority_vote"]["votes"]
    if "majority_vote" in claims and votes < grpo["num_generations"]:
        raise ConfigError(f"{where}.majority_vote.votes' ({votes}) is smaller than 'rl.grpo.num_generations' "
                          f"({grpo['num_generations']}): the trained group is among the votes")
    if not any(CLAIMS[c].data != "full" for c in claims):
        return
    one_shot, prompts = settings["one_shot"], grpo["prompts_per_generation"]
    pool, min_visits = one_shot["candidates"], one_shot["min_visits"]
    if pool % prompts:
        raise ConfigError(f"{where}.one_shot.candidates' ({pool}) must be a multiple of 'rl.grpo.prompts_per_generation' "
                          f"({prompts}): every rollout batch of the reference run then visits distinct candidates")
    examples = one_shot["examples"]
    if examples > pool:
        raise ConfigError(f"{where}.one_shot.examples' ({examples}) is larger than 'rl.claim_settings.one_shot.candidates' "
                          f"({pool}): each of a cell's examples is a distinct candidate")
    k = settings["few_shot"]["k"]
    if "few_shot" in claims and k > pool:
        raise ConfigError(f"{where}.few_shot.k' ({k}) is larger than 'rl.claim_settings.one_shot.candidates' ({pool})")
    per_epoch = pool // prompts
    steps = one_shot.get("steps")
    if steps is not None and steps // per_epoch < min_visits:
        visits = steps // per_epoch
        raise ConfigError(f"{where}.one_shot': {steps} rollout batches of {prompts} prompts visit each of the {pool} "
                          f"candidates {visits} times, {min_visits - visits} short of min_visits ({min_visits}); "
                          f"{per_epoch * min_visits - steps} more rollout batches needed")
    for name, task in config["tasks"].items():
        n_train = task.get("n_train")
        if n_train is not None and pool > n_train:
            raise ConfigError(f"{where}.one_shot.candidates' ({pool}) is larger than 'tasks.{name}.n_train' ({n_train})")


def check_checkpoints(config: dict) -> None:
    """A checkpoint must fall where a resumed run continues exactly: on a logging
    step of SFT (the trainer restarts its loss average there), and between GRPO
    generation batches (a resumed run generates a fresh batch)."""
    sft_every = CheckpointSettings.from_dict(config.get("checkpoints")).sft_every
    for name, model in config["models"].items():
        if model["source"] != "toy":
            continue
        logging_steps = SFTSettings.from_dict(model["sft"]).logging_steps
        if sft_every % logging_steps:
            raise ConfigError(f"config error: 'checkpoints.sft_every' ({sft_every}) must be a multiple of "
                              f"'models.{name}.sft.logging_steps' ({logging_steps})")
    # rl_every counts rollout batches: a GRPO checkpoint always falls between generation batches


def expand_sweeps(config: dict) -> None:
    """Add each sweep's model and tasks to the config: model ``{sweep}`` is
    trained on tasks ``{sweep}_{i}``, the swept task under context
    ``{sweep}{i}``, with the template's mixture entry updated by level i."""
    import copy

    for name, sweep in config.get("sweeps", {}).items():
        template = config["models"].get(sweep["template"])
        where = f"sweeps.{name}"
        if template is None or template.get("source") != "toy":
            raise ConfigError(f"config error: '{where}.template' must name a toy model under 'models', "
                              f"got '{sweep['template']}'")
        if sweep["task"] not in template["mixture"]:
            raise ConfigError(f"config error: '{where}.task' ('{sweep['task']}') is not in the mixture of "
                              f"model '{sweep['template']}'")
        if name in config["models"]:
            raise ConfigError(f"config error: '{where}' would add model '{name}', which 'models' already has")
        model = {k: copy.deepcopy(v) for k, v in template.items() if k not in ("mixture", "evaluate_on")}
        model["mixture"] = {}
        for i, level in enumerate(sweep["levels"]):
            task_name = f"{name}_{i}"
            if task_name in config["tasks"]:
                raise ConfigError(f"config error: '{where}' would add task '{task_name}', which 'tasks' already has")
            task = copy.deepcopy(config["tasks"][sweep["task"]])
            task.setdefault("params", {})["context"] = f"{name}{i}"
            config["tasks"][task_name] = task
            entry = copy.deepcopy(template["mixture"][sweep["task"]])
            entry.update(copy.deepcopy(level))
            model["mixture"][task_name] = entry
        config["models"][name] = model


def typed_overrides(overrides: dict) -> dict:
    """The keys given with ``snakemake --config`` typed as YAML types them.

    Snakemake parses a top-level value as an int, float or bool, but a nested one
    (``--config 'rl={seeds: [3]}'``) with YAML's base loader, which leaves every leaf a
    string; here each such leaf is read as Snakemake reads a top-level one (``3`` an int,
    ``0.05`` or ``1e-5`` a float) or as the YAML scalar it spells (``true`` a bool, ``null``
    None); anything else stays a string."""
    def typed(value):
        if isinstance(value, dict):
            return {k: typed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [typed(v) for v in value]
        if isinstance(value, str):
            for number in (int, float):  # as Snakemake reads a top-level value (so 1e-5 is a float)
                try:
                    return number(value)
                except ValueError:
                    pass
            try:
                scalar = yaml.safe_load(value)
            except yaml.YAMLError:
                return value
            return scalar if isinstance(scalar, bool) or scalar is None else value
        return value

    return {k: typed(v) if isinstance(v, (dict, list)) else v for k, v in overrides.items()}


def validate_config(config: dict, schema_path: str | Path) -> dict:
    check_schema(config, schema_path)
    expand_sweeps(config)
    check_references(config)
    return config


def eval_tasks(model_cfg: dict) -> list[str]:
    """Tasks a base model is evaluated on: ``evaluate_on`` or its SFT mixture."""
    return list(model_cfg.get("evaluate_on") or sorted(model_cfg.get("mixture", {})))


def resources(config: dict, group: str) -> dict:
    return config["resources"].get(group, config["resources"]["default"])


# Keys that only `python -m mirage plan` reads (mirage/plan.py): a task's, and each of its sources'.
TASK_PLAN_KEYS = ("expected_tokens", "expected_question_tokens")
SOURCE_PLAN_KEYS = ("expected_problems",)


def answer_fallback(cfg: dict) -> bool:
    """Whether a task's verifier also grades completions without answer tags (``answer_fallback``,
    its default the schema's); a toy task's model writes tags, and only tags are graded."""
    default = cfg["source"] != "toy" and schema_section(f"$defs.{cfg['source']}_task.answer_fallback")["default"]
    return cfg["source"] != "toy" and cfg.get("answer_fallback", default)


def style_family(cfg: dict) -> str | None:
    """The task family whose solution styles label a task's samples: a toy task's family;
    None for every other source, whose completions carry no style."""
    return cfg["family"] if cfg["source"] == "toy" else None


def without_plan_hints(task: dict) -> dict:
    """A task's config as its data job depends on it (``prepare_task``'s params):
    without the planning hints, so that a change to them reruns nothing."""
    def source(entry: dict) -> dict:
        return {k: v for k, v in entry.items() if k not in SOURCE_PLAN_KEYS}

    kept = {k: v for k, v in task.items() if k not in TASK_PLAN_KEYS}
    if kept.get("source") == "hub":
        kept["train"] = source(kept["train"])
        kept["eval"] = [source(e) for e in kept["eval"]]
    elif kept.get("source") == "file":
        for split in ("data", "train", "eval"):
            if split in kept:
                kept[split] = source(kept[split])
    return kept


# -- samplers ---------------------------------------------------------------------------------

# Settings that decide what the samples are drawn from (the rest only decide how fast).
DISTRIBUTION_KEYS = ("backend", "n", "temperature", "top_p", "max_new_tokens", "max_model_len")


def evaluation_sampler(config: dict) -> dict:
    """The sampler of the RL evaluation (``evaluation.sampler``): its keys over
    the alignment sampler's (``sampler``), which it is when absent."""
    return {**config["sampler"], **config.get("evaluation", {}).get("sampler", {})}


def vote_sampler(config: dict) -> dict:
    """The sampler of the base model's incorrect-label votes: the alignment
    sampler with n = ``rl.claim_settings.incorrect_label.votes``."""
    votes = config["rl"]["claim_settings"]["incorrect_label"]["votes"]
    return {**config["sampler"], "n": votes}


def job_sampler(sampler: dict) -> dict:
    """The sampler settings a sampling job depends on (its ``params``): the hf
    backend drops the vLLM engine's, so that they rerun nothing there."""
    if sampler["backend"] == "vllm":
        return dict(sampler)
    return {k: v for k, v in sampler.items() if k not in SamplerSettings.ENGINE_KEYS}


def samples_alike(a: dict, b: dict) -> bool:
    """Whether two samplers draw the same number of samples from the same
    distribution (they may differ in batch size and engine memory settings)."""
    return all(a.get(k) == b.get(k) for k in DISTRIBUTION_KEYS)


def check_samplers(config: dict) -> None:
    """A vLLM engine is sharded over at most the GPUs a sampling job gets."""
    gpus = resources(config, "sample")["gpu"]
    for where, sampler in (("sampler", config["sampler"]), ("evaluation.sampler", evaluation_sampler(config))):
        tp = sampler.get("tensor_parallel_size", 1)
        if sampler["backend"] == "vllm" and gpus and tp > gpus:
            raise ConfigError(f"config error: '{where}.tensor_parallel_size' ({tp}) is larger than "
                              f"'resources.sample.gpu' ({gpus})")


REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
SCHEMA = REPO / "config" / "schema.yaml"


def load_config(configfiles: list[str | Path] | None = None, overrides: dict | None = None) -> dict:
    """The config of a study as ``snakemake --configfile ... --config ...`` gives it
    to the Snakefile: the files overlaid in order (later files win, dicts merge;
    none: config/config.yaml), then ``overrides`` (``--config``, typed as the
    Snakefile types them), validated (defaults filled, sweeps expanded). Raises
    :class:`ConfigError` (a line per error) for a config the study cannot run
    with, ``FileNotFoundError`` for a missing file."""
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    config: dict = {}
    for path in configfiles or [DEFAULT_CONFIG]:
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        update_config(config, load_configfile(str(path)))
    update_config(config, typed_overrides(overrides or {}))
    return validate_config(config, SCHEMA)


def parse_overrides(entries: list[str] | None) -> dict:
    """``--config KEY=VALUE ...`` as Snakemake parses it; a dotted key
    (``rl.grpo.steps=2``), which Snakemake refuses, is named with the form it takes."""
    from snakemake.cli import parse_config

    for entry in entries or []:
        key, _, value = entry.partition("=")
        if "." in key:
            first, *rest = key.split(".")
            nested = value
            for part in reversed(rest):
                nested = f"{{{part}: {nested}}}"
            raise ConfigError(f"config error: --config {entry}: a nested key takes the YAML form, "
                              f"--config '{first}={nested}'")
    try:
        return parse_config(entries)
    except ValueError as error:
        raise ConfigError(f"config error: --config: {error}") from None


def local_inputs(config: dict) -> list[str]:
    """The study's own files outside results/, as the config names them: each
    file task's local data files and each pretrained model's local folder."""
    out = []
    for task in config["tasks"].values():
        out += file_task_paths(task)
    for model in config["models"].values():
        if model["source"] == "pretrained" and looks_local(model["path"]):
            out.append(model["path"])
    return out


def file_task_paths(task: dict) -> list[str]:
    """A ``source: file`` task's local data files (none for hub data sets)."""
    if task.get("source") != "file":
        return []
    paths = []
    for split in ("data", "train", "eval"):
        entry = task.get(split) or {}
        value = entry.get("path")
        paths += [] if value is None else (value if isinstance(value, list) else [value])
    return [str(p) for p in paths]


def folder_files(folder: str) -> list[str]:
    """Every file of a local model folder (hidden ones aside), as DAG inputs:
    rewriting any of them reruns the jobs that read the model."""
    root = Path(folder).expanduser()
    return sorted(str(Path(folder) / p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
