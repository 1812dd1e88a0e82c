"""The cost of a study before it is submitted: ``python -m mirage plan``.

The jobs are Snakemake's own: a dry run of the Snakefile with the study's config,
in an empty working directory (so every job of the study is listed), gives each
job's rule, wildcards, params and resources. From the config, per job:

* generated tokens. A sampling job (its params carry a ``sampler``): problems of
  its split (at most its ``num_problems``; its shard's) x the sampler's n x the expected
  completion length. A training job (its params carry ``grpo``): rollout batches
  x prompts_per_generation x completions per prompt (num_generations; majority
  vote: its votes) x the expected completion length, x max_generation_batches
  when dynamic sampling is on (an upper bound; the One-Shot reference run and
  RLVR-Decomposed's claims run without it, as mirage.training.runs does). The contamination
  check: evaluation problems x expected question tokens x (1 - fraction).
  The expected completion length is a task's ``expected_tokens`` capped by the
  job's max, or half the max; a hub task's problems are each source's
  min(expected_problems, limit, max_problems).
* GPU-hours, from the ``plan`` section's throughput table (generated tokens per
  second per GPU, per model size and GPU kind): see :func:`gpu_hours`.

A number the config cannot give (a source without expected_problems, a model
without a throughput row) is left empty and said so in a note; nothing is made up.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from mirage import memory
from mirage.config import load_config, local_inputs
from mirage.core.settings import GRPOSettings
from mirage.training.selection import reference_steps

REPO = Path(__file__).resolve().parents[1]
SNAKEFILE = REPO / "Snakefile"
DEFAULT_CONFIG = REPO / "config" / "config.yaml"

FORMULA = ("GPU-hours of a job = tokens / (tokens_per_s x GPUs per job) / 3600 x GPUs per job: its wall "
           "hours (its GPUs each generate tokens_per_s) times its GPUs, i.e. tokens / tokens_per_s / 3600; "
           "0 for a job without a GPU")
TOKENS = ("tokens = generated tokens. Sampling: problems x n x expected completion length. Training: rollout "
          "batches x prompts_per_generation x completions per prompt x expected completion length "
          "(x max_generation_batches with dynamic sampling: an upper bound). Expected completion length: the "
          "task's expected_tokens (capped by the max), else half the max")


LIMIT = ("h limit = runtime x attempts (the rule's retries + 1): a training job checkpoints before its time limit "
         "and its retry resumes there, so its hours may span attempts; a sampling job's may not")
MEMORY = ("GiB/GPU: peak memory per GPU of a job (mirage/memory.py): a training process's weights, gradients and "
          "optimizer states under rl.distributed, working copies, one micro-batch's activations with gradient "
          "checkpointing (an upper fit of H200 measurements, benchmarks/results/gpu_memory.json), the colocated "
          "vLLM's share and 2 GiB of overhead; a vLLM sampling job: its gpu_memory_utilization share")


class PlanGap(Exception):
    """A number the config cannot give; its message says which and why."""


@dataclass(frozen=True)
class DagJob:
    """One job of the dry run, as Snakemake will run it."""

    rule: str
    wildcards: dict
    params: dict
    gpus: int = 0
    runtime_min: int | None = None
    attempts: int = 1          # the rule's retries + 1


@dataclass
class Plan:
    label: str
    gpu: str
    jobs: pl.DataFrame         # one row per job
    rules: pl.DataFrame        # one row per rule, in the workflow's order
    details: list[str] = field(default_factory=list)   # what the numbers rest on
    notes: list[str] = field(default_factory=list)     # what is missing or above a limit

    @property
    def total_gpu_hours(self) -> float:
        return float(self.jobs["gpu_hours"].fill_null(0).sum())

    @property
    def unpriced_jobs(self) -> int:
        return int(self.rules["unpriced_jobs"].sum())


# -- the DAG -------------------------------------------------------------------------------

def dag_jobs(configfiles: list[Path], snakefile: Path = SNAKEFILE,
             overrides: dict | None = None) -> tuple[list[DagJob], dict, list[str]]:
    """Every job of the study, from Snakemake's dry run of ``snakefile`` with
    ``configfiles`` (overlaid as ``--configfile`` does: later files win, dicts
    merge) and ``overrides`` (``--config``), in an empty working directory that
    holds links to the study's own files (a file task's data, a local model
    folder: ``mirage.config.local_inputs``, relative to the current directory);
    also the config as the Snakefile validated it (defaults filled, sweeps
    expanded) and the rules in order."""
    files = [Path(f).resolve() for f in configfiles]
    inputs = local_inputs(load_config(files, overrides))  # raises ConfigError naming what is wrong
    # Snakemake's API (about 1 s to import) only where a DAG is built
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

    with tempfile.TemporaryDirectory() as work, SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        for name in inputs:
            if not Path(name).expanduser().is_absolute():
                link = Path(work) / name
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(Path(name).resolve())
        workflow_api = api.workflow(ResourceSettings(cores=1), ConfigSettings(configfiles=files, config=overrides or {}),
                                    snakefile=Path(snakefile), workdir=Path(work))
        environ = dict(os.environ)  # the Snakefile sets the jobs' environment (cpu_kernels, ...): not this process's
        try:
            workflow_api.dag(DAGSettings(forceall=True)).execute_workflow(executor="dryrun")
        except SystemExit as stop:  # the Snakefile refused the config (its one line is on stderr)
            raise PlanGap(f"the Snakefile refused the config {', '.join(map(str, configfiles))}") from stop
        finally:
            os.environ.clear()
            os.environ.update(environ)
        workflow = workflow_api._workflow  # the API's dry run keeps its DAG here
        jobs = [_dag_job(job) for job in workflow.dag.needrun_jobs(exclude_finished=False)]
        return jobs, dict(workflow.config), [rule.name for rule in workflow.rules]


def _dag_job(job) -> DagJob:
    runtime = job.resources.get("runtime")
    return DagJob(rule=job.rule.name, wildcards=dict(job.wildcards_dict), params=dict(job.params.items()),
                  gpus=int(job.resources.get("gpu", 0) or 0), runtime_min=runtime if isinstance(runtime, int) else None,
                  attempts=int(job.rule.restart_times or 0) + 1)


# -- tokens --------------------------------------------------------------------------------

def source_problems(entry: dict) -> int:
    """Problems of one hub source: min(expected_problems, limit, max_problems),
    those given (limit or max_problems alone: an upper bound)."""
    known = [entry[k] for k in ("expected_problems", "limit", "max_problems") if k in entry]
    if not known:
        raise PlanGap(f"dataset {entry['dataset']} has no expected_problems (nor limit, max_problems), "
                      "so its jobs' tokens are unknown")
    return min(known)


def task_problems(task: dict, split: str) -> int:
    """Problems of a task's split: a toy task's n_train / n_eval; a hub task's
    training source, or the sum over its evaluation sources."""
    n = "n_train" if split == "train" else "n_eval"
    if task["source"] in ("toy", "reasoning_gym") or (task["source"] == "file" and n in task):
        return task[n]
    if task["source"] == "file":
        entry = task["data" if "data" in task else split]
        return source_problems({"dataset": entry.get("path", entry.get("dataset")), **entry})
    entries = [task["train"]] if split == "train" else task["eval"]
    return sum(source_problems(e) for e in entries)


def expected_length(task: dict, max_tokens: int) -> float:
    """Mean completion tokens: the task's expected_tokens capped by the max, or half the max."""
    return min(task["expected_tokens"], max_tokens) if "expected_tokens" in task else max_tokens / 2


def sampling_tokens(task: dict, params: dict) -> float:
    sampler = params["sampler"]
    problems = task_problems(task, params["split"])
    if params.get("num_problems"):
        problems = min(problems, params["num_problems"])
    if params.get("shard"):  # every count-th problem from the index-th on (mirage.generation.sampling.shard_problems)
        index, count = params["shard"]
        problems = len(range(index, problems, count))
    return problems * sampler["n"] * expected_length(task, sampler["max_new_tokens"])


def generation_batches(grpo: GRPOSettings, claim: dict | None) -> int:
    """Generation batches per rollout batch at most: max_generation_batches with
    dynamic sampling, which the reference run (no claim) and RLVR-Decomposed's
    claims (polarity ``*_raw``) turn off, as mirage.training.runs does."""
    if claim is None or not grpo.dynamic_sampling.enabled or claim["polarity"].endswith("_raw"):
        return 1
    return grpo.dynamic_sampling.max_generation_batches


def rollout_tokens(grpo: GRPOSettings, task: dict, batches: int, per_prompt: int, generation_batch_count: int) -> float:
    return (batches * grpo.prompts_per_generation * per_prompt
            * expected_length(task, grpo.max_completion_length) * generation_batch_count)


def training_tokens(task: dict, params: dict) -> float:
    """A GRPO run's generated tokens: a claim's run (params ``claim``) for
    rl.grpo.steps rollout batches, or the One-Shot reference run for
    mirage.training.selection.reference_steps."""
    grpo, claim = GRPOSettings.from_dict(params["grpo"]), params.get("claim")
    if claim is None:
        return rollout_tokens(grpo, task, reference_steps(grpo, params["one_shot"]), grpo.num_generations, 1)
    per_prompt = grpo.num_generations
    if claim["reward"] == "majority_vote":  # the trainer samples the votes beyond the trained group too
        per_prompt = max(per_prompt, (params.get("settings") or {}).get("votes", per_prompt))
    return rollout_tokens(grpo, task, grpo.steps, per_prompt, generation_batches(grpo, claim))


def contamination_tokens(task: dict, params: dict) -> float:
    if "expected_question_tokens" not in task:
        raise PlanGap("no expected_question_tokens, so the contamination check's tokens are unknown")
    return task_problems(task, "eval") * task["expected_question_tokens"] * (1 - params["contamination"]["fraction"])


def job_tokens(job: DagJob, tasks: dict) -> tuple[float | None, str | None]:
    """(generated tokens, throughput kind "sample" / "train") of a job; (None,
    None) for a job that generates nothing. Raises PlanGap when unknown."""
    task = tasks.get(job.wildcards.get("task"), {})
    try:
        if "sampler" in job.params:
            return sampling_tokens(task, job.params), "sample"
        if "grpo" in job.params:
            return training_tokens(task, job.params), "train"
        if job.rule == "contamination_check":
            return contamination_tokens(task, job.params), "sample"
    except PlanGap as gap:
        raise PlanGap(f"tasks.{job.wildcards.get('task')}: {gap}") from None
    return None, None


# -- GPU-hours -----------------------------------------------------------------------------

def gpu_hours(tokens: float, tokens_per_s: float, gpus: int) -> float:
    """GPU-hours of a job of ``gpus`` GPUs that generates ``tokens``, each GPU
    at ``tokens_per_s``: its wall time, tokens / (tokens_per_s x gpus) / 3600
    hours, times its gpus (= tokens / tokens_per_s / 3600); 0 without a GPU."""
    if gpus == 0:
        return 0.0
    return tokens / (tokens_per_s * gpus) / 3600 * gpus


def throughput_row(plan: dict, params_b: float) -> dict | None:
    """The row of plan.gpu with the smallest params_b at or above the model's
    (a larger model is slower: the cost of a smaller one is overstated, never
    understated); None when there is none."""
    rows = [r for r in plan.get("throughput", []) if r["gpu"] == plan["gpu"] and r["params_b"] >= params_b]
    return min(rows, key=lambda r: r["params_b"], default=None)


def model_throughput(config: dict, model: str | None) -> dict:
    """The throughput row of a model; raises PlanGap naming the model and GPU."""
    plan, cfg = config["plan"], config["models"].get(model, {})
    if "params_b" not in cfg:
        raise PlanGap(f"model {model} has no params_b, so no throughput row on GPU {plan['gpu']}: "
                      "its GPU-hours are left empty")
    row = throughput_row(plan, cfg["params_b"])
    if row is None:
        raise PlanGap(f"no throughput row for model {model} ({cfg['params_b']}B) on GPU {plan['gpu']}: "
                      "its GPU-hours are left empty")
    return row


# -- the plan ------------------------------------------------------------------------------

def job_memory(job: DagJob, config: dict) -> float | None:
    """Peak GiB per GPU of a GPU job (``mirage.memory``): a GRPO job, or a vLLM sampling
    job; None without a GPU, a model shape or an estimate for its kind."""
    shape = memory.ModelShape.from_model(config["models"].get(job.wildcards.get("model"), {}))
    gpu_gib = config["plan"]["gpu_memory_gib"].get(config["plan"]["gpu"])
    if not job.gpus or shape is None or gpu_gib is None:
        return None
    if "grpo" in job.params:
        return memory.training_memory(shape, GRPOSettings.from_dict(job.params["grpo"]),
                                      job.params["distributed"], job.gpus, gpu_gib).peak
    sampler = job.params.get("sampler") or {}
    if sampler.get("backend") == "vllm":
        return memory.sampling_memory(shape, sampler, gpu_gib).share
    return None


def job_row(job: DagJob, config: dict) -> dict:
    """A job's plan: its tokens, GPU-hours, wall hours and memory per GPU, or the gap that leaves them empty."""
    row = {"rule": job.rule, "model": job.wildcards.get("model"), "task": job.wildcards.get("task"),
           "gpus": job.gpus, "runtime_min": job.runtime_min, "attempts": job.attempts, "tokens": None, "kind": None,
           "tokens_per_s": None, "gpu_hours": 0.0 if job.gpus == 0 else None, "wall_hours": None, "gap": None,
           "backend": (job.params.get("sampler") or {}).get("backend"), "mem_gib": job_memory(job, config)}
    try:
        tokens, kind = job_tokens(job, config["tasks"])
        row.update(tokens=None if tokens is None else round(tokens), kind=kind)
        if tokens is None and job.gpus:
            raise PlanGap(f"rule {job.rule} asks for GPUs but the plan cannot count its tokens: "
                          "its GPU-hours are left empty")
        if tokens is not None and job.gpus:
            speed = model_throughput(config, row["model"])[f"{kind}_tokens_per_s"]
            row.update(tokens_per_s=speed, gpu_hours=gpu_hours(tokens, speed, job.gpus),
                       wall_hours=tokens / (speed * job.gpus) / 3600)
    except PlanGap as gap:
        row["gap"] = str(gap)
    return row


JOB_SCHEMA = {"rule": pl.String, "model": pl.String, "task": pl.String, "gpus": pl.Int64, "runtime_min": pl.Int64,
              "attempts": pl.Int64, "tokens": pl.Int64, "kind": pl.String, "tokens_per_s": pl.Float64,
              "gpu_hours": pl.Float64, "wall_hours": pl.Float64, "gap": pl.String, "backend": pl.String,
              "mem_gib": pl.Float64}


def rule_table(jobs: pl.DataFrame, rule_order: list[str]) -> pl.DataFrame:
    """One row per rule: jobs, GPUs per job, generated tokens and GPU-hours of
    the jobs that have them, the jobs left without an estimate, and the longest
    job's wall hours."""
    order = {name: i for i, name in enumerate(rule_order)}
    return (jobs.group_by("rule", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("jobs"),
        pl.col("gpus").max().alias("gpus_per_job"),
        pl.col("tokens").sum().alias("tokens"),
        pl.col("tokens").is_not_null().any().alias("_generates"),
        pl.col("gpu_hours").sum().alias("gpu_hours"),
        pl.col("gpu_hours").is_null().sum().cast(pl.Int64).alias("unpriced_jobs"),
        pl.col("wall_hours").max().alias("hours_per_job"),
        pl.col("runtime_min").max().alias("runtime_min"),
        pl.col("attempts").min().alias("attempts"),
        pl.col("mem_gib").max().alias("mem_gib_per_gpu"),
        pl.col("kind").drop_nulls().first().alias("kind"),
    ).with_columns(
        tokens=pl.when(pl.col("_generates")).then(pl.col("tokens")),
        gpu_hours=pl.when(pl.col("unpriced_jobs") < pl.col("jobs")).then(pl.col("gpu_hours")),
    ).drop("_generates")
        .sort(pl.col("rule").replace_strict(order, default=len(order), return_dtype=pl.Int64)))


def plan_details(jobs: pl.DataFrame, config: dict) -> list[str]:
    """What the numbers rest on: each task's problems and completion lengths,
    the throughput row each model is priced with, and each row's source."""
    lines, rows = [], {}
    for name in sorted(jobs["task"].drop_nulls().unique()):
        task = config["tasks"][name]
        counts = []
        for split in ("train", "eval"):
            try:
                counts.append(f"{split} {task_problems(task, split):,} problems")
            except PlanGap as gap:
                counts.append(f"{split} unknown ({gap})")
        length = (f"expected_tokens {task['expected_tokens']:,} (capped by each max)" if "expected_tokens" in task
                  else "half of each max (no expected_tokens)")
        lines.append(f"tasks.{name}: {', '.join(counts)}; completion length: {length}")
    for model in sorted(jobs.filter(pl.col("gpus") > 0)["model"].drop_nulls().unique()):
        try:
            row = model_throughput(config, model)
        except PlanGap:
            continue  # said in the notes
        rows[(row["params_b"], row["gpu"])] = row
        lines.append(f"models.{model} ({config['models'][model]['params_b']}B): priced with the {row['params_b']}B "
                     f"row on {row['gpu']}")
    for (size, gpu), row in sorted(rows.items()):
        lines.append(f"throughput row {size}B on {gpu}: sampling {row['sample_tokens_per_s']:,} and training "
                     f"{row['train_tokens_per_s']:,} generated tokens/s per GPU; source: {row['source']}")
    return lines


def plan_notes(jobs: pl.DataFrame, rules: pl.DataFrame, config: dict) -> list[str]:
    """What is missing (one line per reason, with its jobs count), what exceeds
    a job's runtime resource, and what the estimate bounds rather than predicts."""
    gaps = jobs.filter(pl.col("gap").is_not_null()).group_by("gap").len()
    notes = [f"{gap} ({n} job{'s' * (n > 1)})" for gap, n in sorted(gaps.iter_rows())]
    notes += [note for row in rules.iter_rows(named=True) if (note := over_time(row))]
    gpu_gib = config["plan"]["gpu_memory_gib"].get(config["plan"]["gpu"])
    for row in rules.filter(pl.col("mem_gib_per_gpu").is_not_null()).iter_rows(named=True):
        if gpu_gib is not None and row["mem_gib_per_gpu"] > gpu_gib:
            notes.append(f"{row['rule']}: {row['mem_gib_per_gpu']:,.1f} GiB per GPU, more than the "
                         f"{gpu_gib:,.1f} GiB of {config['plan']['gpu']} (python -m mirage check-config says which setting)")
    if jobs.height and (jobs["gpus"] == 0).all():
        bound = jobs["runtime_min"].fill_null(0).sum() / 60
        notes.append(f"no job asks for a GPU: a CPU study, priced here at 0 GPU-hours; its {jobs.height} jobs may take "
                     f"at most {bound:,.1f} hours of their runtime resources one after another (the default toy study's "
                     "measured time: benchmarks/results/study_time_default.md)")
    return notes + caveats(jobs, config)


def over_time(row: dict) -> str | None:
    """A rule whose longest job cannot finish within its runtime x attempts, and what to change; None if it can."""
    hours, runtime, attempts = row["hours_per_job"], row["runtime_min"], row["attempts"] or 1
    if hours is None or runtime is None or hours * 60 <= runtime * attempts:
        return None
    need = -(-hours * 60 // runtime)
    what = ("a training job resumes from the checkpoint it writes before its time limit: raise "
            f"resources.train.retries to {int(need) - 1} or more, or runtime" if row["kind"] == "train" else
            "split it into more jobs (alignment.shards, for sample_base and sample_votes) or raise its runtime")
    return (f"{row['rule']}: up to {hours:,.1f} h per job at this throughput, more than its runtime "
            f"({runtime:,} min = {runtime / 60:,.1f} h) x {attempts} attempt{'s' * (attempts > 1)}: {what}")


def caveats(jobs: pl.DataFrame, config: dict) -> list[str]:
    priced = jobs.filter(pl.col("gpu_hours").is_not_null() & (pl.col("gpus") > 0))
    dynamic = GRPOSettings.from_dict(config["rl"]["grpo"]).dynamic_sampling
    notes = []
    if dynamic.enabled and (priced["rule"] == "train_claim").any():
        notes.append(f"training tokens count {dynamic.max_generation_batches} generation batches per "
                     "rollout batch (dynamic sampling's max_generation_batches): an upper bound")
    if (priced["rule"] == "contamination_check").any():
        notes.append("contamination_check generates with transformers (greedy), priced at the vLLM sampling rate")
    if priced.filter((pl.col("kind") == "sample") & (pl.col("backend") != "vllm")).height:
        notes.append("the sampling rates are vLLM's; some sampling jobs use another backend (sampler.backend)")
    return notes


def plan_from_jobs(jobs: list[DagJob], config: dict, rule_order: list[str], label: str) -> Plan:
    table = pl.DataFrame([job_row(j, config) for j in jobs], schema=JOB_SCHEMA)
    rules = rule_table(table, rule_order)
    return Plan(label=label, gpu=config["plan"]["gpu"], jobs=table, rules=rules,
                details=plan_details(table, config), notes=plan_notes(table, rules, config))


def make_plan(configfiles: list[Path] | None = None, snakefile: Path = SNAKEFILE, overrides: dict | None = None) -> Plan:
    """The plan of a study: ``configfiles`` overlaid (default: config/config.yaml)."""
    files = list(configfiles or [DEFAULT_CONFIG])
    jobs, config, rule_order = dag_jobs(files, snakefile, overrides)
    return plan_from_jobs(jobs, config, rule_order, " + ".join(_shown(f) for f in files))


def job_counts(configfiles: list[Path] | None = None, snakefile: Path = SNAKEFILE,
               overrides: dict | None = None) -> list[tuple[str, int]]:
    """(rule, jobs) for every rule with a job in the study's DAG, in the
    workflow's order (``python -m mirage check-config``)."""
    jobs, _, rule_order = dag_jobs(list(configfiles or [DEFAULT_CONFIG]), snakefile, overrides)
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.rule] = counts.get(job.rule, 0) + 1
    return [(rule, counts[rule]) for rule in rule_order if rule in counts]


def _shown(path: Path) -> str:
    """A config file as the plan names it: relative to the repository when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


# -- output --------------------------------------------------------------------------------

def _number(value, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def format_plan(plan: Plan) -> str:
    """The plan as text: the table per rule, its total, and what it rests on."""
    head = (f"{'rule':<24} {'jobs':>5} {'GPUs/job':>8} {'tokens':>19} {'GPU-hours':>12} {'h/job':>8} "
            f"{'h limit':>8} {'GiB/GPU':>8}  no estimate")
    lines = [f"Cost plan of {plan.label}, priced on {plan.gpu}",
             "Jobs: Snakemake's dry run of the whole study (every job, as from an empty results/).", "", head,
             "-" * len(head)]
    for r in plan.rules.iter_rows(named=True):
        limit = r["runtime_min"] * (r["attempts"] or 1) / 60 if r["runtime_min"] and r["gpus_per_job"] else None
        lines.append(f"{r['rule']:<24} {r['jobs']:>5} {r['gpus_per_job']:>8} {_number(r['tokens'], 0):>19} "
                     f"{_number(r['gpu_hours']):>12} {_number(r['hours_per_job']):>8} {_number(limit):>8} "
                     f"{_number(r['mem_gib_per_gpu']):>8}  {r['unpriced_jobs'] or '':>}")
    tokens = plan.jobs["tokens"].sum()
    missing = f" ({plan.unpriced_jobs} job(s) without an estimate, see the notes)" if plan.unpriced_jobs else ""
    total = f"{_number(tokens, 0):>19} {_number(plan.total_gpu_hours):>12}"
    lines += ["-" * len(head), f"{'total':<24} {plan.jobs.height:>5} {'':>8} {total}",
              "", f"total: {plan.total_gpu_hours:,.1f} GPU-hours on {plan.gpu}{missing}", "",
              TOKENS + ".", FORMULA + ".", LIMIT + ".", MEMORY + "."]
    lines += ["", "Based on:"] + [f"- {d}" for d in plan.details]
    if plan.notes:
        lines += ["", "Notes:"] + [f"- {n}" for n in plan.notes]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def budget_table(plan: Plan) -> str:
    """The paper-scale page's budget (docs/paper-scale.md) of a study's GPU rules, in markdown: jobs, hours per job
    against the rule's limit (runtime x attempts) and peak memory per GPU against the GPU's."""
    lines = [f"| rule ({plan.label}, {plan.gpu}) | jobs | GPUs/job | h/job | h limit | GiB/GPU |",
             "|---|---|---|---|---|---|"]
    for r in plan.rules.filter(pl.col("gpus_per_job") > 0).iter_rows(named=True):
        limit = r["runtime_min"] * (r["attempts"] or 1) / 60 if r["runtime_min"] else None
        lines.append(f"| `{r['rule']}` | {r['jobs']} | {r['gpus_per_job']} | {_number(r['hours_per_job'])} | "
                     f"{_number(limit)} | {_number(r['mem_gib_per_gpu'])} |")
    return "\n".join(lines) + "\n"


def write_parquet(plan: Plan, path: str | Path) -> None:
    """The table per rule: rule, jobs, gpus_per_job, tokens, gpu_hours, unpriced_jobs, hours_per_job, ..."""
    plan.rules.write_parquet(path)
