"""Command line: ``python -m mirage <command>`` (``--help`` on each).

init            start a study of your own model and task: the template config in a folder of its own
check-config    validate a study's config and print the job count per rule of the DAG it would run
plan            the cost of a study before it is submitted: jobs, GPUs, tokens, GPU-hours per rule
download        fill the Hugging Face cache with every model and data set of a config, at its pinned revisions
passk           pass@k of any model on a configured task, sampled without the workflow (a quick look)
provenance      print the provenance stored in a table or figure
readme-table    rewrite the README's verdict table (or docs/results.md's default-study table) from a claims table
verdict-tables  rewrite a study's thresholds and paper-comparison tables (and .md) from its claims table
docs            rewrite every generated block of README.md, docs/*.md and config/README.md from its source
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys
from pathlib import Path

from mirage.analysis.verdicts import claims_block, read_claims, write_verdict_tables
from mirage.config import DEFAULT_CONFIG, ConfigError, load_config, parse_overrides
from mirage.core import provenance
from mirage.generation.sampling import PasskRequest, quick_passk
from mirage.plan import PlanGap, format_plan, job_counts, make_plan, write_parquet
from mirage.tasks.download import download as fetch_all

START, END = "<!-- verdict-table:start -->", "<!-- verdict-table:end -->"
REPO = Path(__file__).resolve().parents[1]
# each verdict block: the doc it lives in and the study its status line names
BLOCK_DOCS = {"verdict-table": ("README.md", "the full toy study"), "default-study": ("docs/results.md", "the default study")}


def markers(block: str) -> tuple[str, str]:
    """The README's markers of a generated block (``verdict-table``: the full toy study's)."""
    return f"<!-- {block}:start -->", f"<!-- {block}:end -->"


def readme_with_table(readme: str, table_md: str, block: str = "verdict-table") -> str:
    """``readme`` with the text between the block's markers replaced."""
    start, end = markers(block)
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"the doc has no '{start}' ... '{end}' markers")
    return pattern.sub(lambda _: f"{start}\n{table_md}{end}", readme, count=1)


def readme_table(claims_path: str, readme_path: str | None, check: bool, block: str = "verdict-table") -> int:
    """The claims table is read by ``read_claims``: one written before issue 14
    (the recorded one-seed studies: no p-values, ``regime`` for ``regime_rule``)
    is upgraded, and the table is rendered under today's rules, after the study's
    status line for a block of ``BLOCK_DOCS``. ``readme_path``: default, the block's doc."""
    doc, study = BLOCK_DOCS.get(block, ("README.md", None))
    readme_path = readme_path or doc
    table_md = claims_block(claims_path, study)
    readme = Path(readme_path).read_text()
    updated = readme_with_table(readme, table_md, block)
    if check:
        if updated != readme:
            print(f"{readme_path}: the {block} block differs from {claims_path}; run python -m mirage readme-table",
                  file=sys.stderr)
            return 1
        return 0
    Path(readme_path).write_text(updated)
    return 0


def docs(check: bool, files: list[str] | None) -> int:
    """Every generated block of the docs from its source (scripts/generate_docs.py, a
    checkout's tool: it reads benchmarks/results/ and the configs)."""
    spec = importlib.util.spec_from_file_location("generate_docs", REPO / "scripts" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run([Path(f) for f in files] if files else None, check)


def verdict_tables(claims_path: str, out_dir: str | None, min_gain: float) -> int:
    """Rewrite thresholds.parquet, paper_comparison.parquet and .md beside a
    claims table (or in ``out_dir``) under today's rules, as rule
    ``verdict_tables`` does: for a recorded study, whose claims table is read as
    ``readme_table`` reads it. The claims table itself is left as it is."""
    claims = read_claims(claims_path)
    out = Path(out_dir) if out_dir else Path(claims_path).parent
    write_verdict_tables(claims, min_gain, out / "thresholds.parquet", out / "paper_comparison.parquet",
                         out / "paper_comparison.md", claims_path, "`python -m mirage verdict-tables`")
    return 0


def plan(configfiles: list[str] | None, fmt: str, output: str | None) -> int:
    try:
        study = make_plan([Path(f) for f in configfiles] if configfiles else None)
    except PlanGap as error:
        print(f"mirage plan: {error}", file=sys.stderr)
        return 1
    if fmt == "parquet":
        write_parquet(study, output)
    elif output:
        Path(output).write_text(format_plan(study))
    else:
        print(format_plan(study), end="")
    return 0


CONFIGFILE_HELP = ("config files, overlaid as by snakemake --configfile (later files win, dicts merge); "
                   "default: config/config.yaml")


TEMPLATE = Path(__file__).resolve().parents[1] / "config" / "templates" / "study.yaml"


def init(folder: str) -> int:
    """A study folder with the template config (config/templates/study.yaml)."""
    study = Path(folder)
    config = study / "config.yaml"
    if config.exists():
        print(f"mirage init: {config} exists; nothing written", file=sys.stderr)
        return 1
    (study / "data").mkdir(parents=True, exist_ok=True)
    config.write_text(TEMPLATE.read_text())
    print(f"{config}: the template study. Next:\n"
          f"  1. your model folder (config.json, weights, tokenizer) at {study / 'model'}\n"
          f"  2. your problems, one JSON object a line with 'question' and 'answer', at {study / 'data' / 'problems.jsonl'}\n"
          f"  3. edit {config} (tasks, models, claims, the verdict rule), then\n"
          f"     python -m mirage check-config --directory {study} --configfile {config}\n"
          f"     snakemake --directory {study} --configfile {config} --cores 2")
    return 0


def check_config(configfiles: list[str] | None, config_entries: list[str] | None = None,
                 directory: str | None = None) -> int:
    """One line per error, as the Snakefile prints them; else the DAG's jobs per rule.
    ``directory``: the study's folder (snakemake --directory), which the config's
    relative paths are read from."""
    if directory:
        configfiles = [str(Path(f).resolve()) for f in configfiles or [DEFAULT_CONFIG]]
        if not Path(directory).is_dir():
            print(f"mirage check-config: --directory {directory}: no such folder", file=sys.stderr)
            return 1
        os.chdir(directory)
    try:
        overrides = parse_overrides(config_entries)
        load_config(configfiles, overrides)
        counts = job_counts([Path(f) for f in configfiles] if configfiles else None, overrides=overrides)
    except (ConfigError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    except PlanGap as error:
        print(f"mirage check-config: {error}", file=sys.stderr)
        return 1
    label = " + ".join(configfiles) if configfiles else "config/config.yaml"
    if directory:
        label = f"{directory}: {label}"
    if config_entries:
        label += " --config " + " ".join(config_entries)
    width = max(len(rule) for rule, _ in counts)
    print(f"{label}: valid; {sum(n for _, n in counts)} jobs")
    for rule, n in counts:
        print(f"  {rule:<{width}}  {n}")
    return 0


def download(configfiles: list[str] | None, dry_run: bool) -> int:
    try:
        config = load_config(configfiles)
    except (ConfigError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    return fetch_all(config, dry_run)


def passk(args) -> int:
    try:
        config = load_config(args.configfile)
    except (ConfigError, FileNotFoundError) as error:
        print(error, file=sys.stderr)
        return 1
    load = {"revision": args.revision, "dtype": args.dtype, "trust_remote_code": args.trust_remote_code or None}
    try:
        table = quick_passk(config, PasskRequest(args.model, args.task, n=args.n, ks=args.k,
                                                 max_problems=args.max_problems, prompt_format=args.prompt_format,
                                                 load=load, threads=args.threads))
    except (ValueError, OSError) as error:
        print(f"mirage passk: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    print(table.select("benchmark", "k", "n", "num_problems", "pass_at_k")
          .to_pandas().to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive integer")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mirage",
        description="mirage's command line: check, price and prepare a study, take a quick look at a model, "
                    "and maintain its tables. Each command has its own --help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = sub.add_parser("init", help="start a study of your own model and task in a folder of its own",
                           description="Write the template study (config/templates/study.yaml) as FOLDER/config.yaml "
                                       "and say where your model and data go. Nothing is overwritten.")
    start.add_argument("folder", help="the study's folder (created if needed)")

    check = sub.add_parser("check-config", help="validate a study's config and print the job count per rule of the "
                           "DAG it would run", description="Validate the config as the Snakefile does (one line per "
                           "error, exit 1), then print how many jobs each rule of its DAG would run (a dry run in an "
                           "empty folder: every job, as on a fresh clone).")
    check.add_argument("--configfile", nargs="+", metavar="FILE", help=CONFIGFILE_HELP)
    check.add_argument("--directory", metavar="DIR", help="the study's folder, as snakemake --directory: the "
                       "config's relative paths (data files, model folders) are read from it")
    check.add_argument("--config", nargs="+", metavar="KEY=VALUE", dest="config_entries",
                       help="overrides, as snakemake --config takes them (a nested key in YAML form: "
                            "'rl={grpo: {steps: 2}}')")

    cost = sub.add_parser("plan", help="the cost of a study: jobs, GPUs per job, generated tokens and GPU-hours "
                          "per rule", description="The cost of a study before it is submitted, from Snakemake's "
                          "dry run of its DAG and the config's plan section (mirage/plan.py).")
    cost.add_argument("--configfile", nargs="+", metavar="FILE", help=CONFIGFILE_HELP)
    cost.add_argument("--format", choices=["text", "parquet"], default="text",
                      help="text: a table per rule and the notes (default); parquet: one row per job")
    cost.add_argument("--output", metavar="FILE", help="write here (needed for --format parquet); default: print")

    down = sub.add_parser("download", help="fill the Hugging Face cache with every model and data set of a config, "
                          "at its pinned revisions", description="Fetch every pretrained model whose path is a hub "
                          "id (snapshot_download at models.<name>.revision) and every hub data set of the tasks "
                          "(load_dataset at its revision, as the data job reads it) into the Hugging Face cache "
                          "(HF_HOME), on a machine with network; the jobs then read them offline. Local data_files "
                          "are listed, not fetched. A fetch that fails (no network, offline mode, gated repository) "
                          "ends the command with one line naming it.")
    down.add_argument("--configfile", nargs="+", metavar="FILE", help=CONFIGFILE_HELP)
    down.add_argument("--dry-run", action="store_true", help="print what would be fetched (kind, hub id@revision, "
                      "subset and split, the config keys naming it) and fetch nothing")

    quick = sub.add_parser("passk", help="pass@k of any model on a configured task, sampled without the workflow "
                           "(a quick look)", description="Sample a model on the eval split of a configured task with "
                           "the config's alignment sampler and print its pass@k per benchmark. Nothing is written and "
                           "no Snakemake job runs; the numbers are the workflow's only with the same sampler, n and "
                           "problems.")
    quick.add_argument("--model", required=True, metavar="NAME_OR_PATH",
                       help="a model of the config (its path, revision, dtype and prompt format), a local model "
                       "folder, or a hub id (from the Hugging Face cache, which python -m mirage download fills; from "
                       "the hub where there is network and HF_HUB_OFFLINE is not set)")
    quick.add_argument("--task", required=True, metavar="NAME", help="a task of the config (tasks.<name>); its "
                       "problems are built as the data job builds them")
    quick.add_argument("--configfile", nargs="+", metavar="FILE", help=CONFIGFILE_HELP)
    quick.add_argument("--n", type=positive, metavar="N", help="samples per problem (default: the config's sampler.n)")
    quick.add_argument("--k", type=positive, nargs="+", metavar="K", help="the k of the table, each at most n "
                       "(default: 1, 2, 4, ... n)")
    quick.add_argument("--max-problems", type=positive, metavar="M", help="a seeded subset of M problems of the eval "
                       "split (default: all)")
    quick.add_argument("--prompt-format", choices=["plain", "chat"], help="how a prompt is fed to the model "
                       "(default: the configured model's, else plain)")
    quick.add_argument("--revision", help="hub revision of a hub id (default: the configured model's, else main)")
    quick.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"],
                       help="dtype of the weights (default: the configured model's, else auto)")
    quick.add_argument("--trust-remote-code", action="store_true",
                       help="run the model's own code from the hub (default: off, unless the configured model sets it)")
    quick.add_argument("--threads", type=positive, default=1, metavar="T", help="CPU threads of torch (default 1)")

    prov = sub.add_parser("provenance", help="print the provenance stored in a Parquet table, PNG or SVG figure",
                          description="Print the provenance (code version, rule, params, inputs) that the workflow "
                          "stored in a table or figure it wrote.")
    prov.add_argument("file", help="a Parquet table, PNG or SVG figure written by the workflow")

    table = sub.add_parser("readme-table", help="rewrite the README's verdict table from a claims table",
                           description="Rewrite the table between a doc's verdict-table markers from a claims "
                           "table (a recorded pre-issue-14 table is upgraded), after the study's status line.")
    table.add_argument("--claims", default="results/tables/claims.parquet",
                       help="the claims table (default: results/tables/claims.parquet)")
    table.add_argument("--readme", help="the doc to rewrite (default: the block's: README.md for verdict-table, "
                       "docs/results.md for default-study)")
    table.add_argument("--check", action="store_true", help="change nothing; exit 1 if the doc's table differs")
    table.add_argument("--block", default="verdict-table",
                       help="the markers to write between: <!-- BLOCK:start --> ... <!-- BLOCK:end --> "
                            "(default: verdict-table, the full toy study's; default-study: the default study's)")

    gen = sub.add_parser("docs", help="rewrite every generated block of the docs from its source",
                         description="Rewrite every generated block of README.md, docs/*.md and config/README.md "
                         "(between <!-- NAME:start --> and <!-- NAME:end -->, or a budget's markers) from its source: "
                         "the recorded tables under benchmarks/results/, the configs and their plans.")
    gen.add_argument("--check", action="store_true", help="change nothing; exit 1 if any block differs")
    gen.add_argument("files", nargs="*", help="the docs to rewrite (default: all of them)")

    tables = sub.add_parser("verdict-tables", help="rewrite a study's thresholds and paper-comparison tables from "
                            "its claims table (a recorded pre-issue-14 table is upgraded as readme-table does)",
                            description="Rewrite thresholds.parquet, paper_comparison.parquet and .md from a claims "
                            "table under today's rules, as rule verdict_tables does.")
    tables.add_argument("--claims", required=True, help="the claims table")
    tables.add_argument("--out-dir", help="where to write (default: the claims table's folder)")
    tables.add_argument("--min-gain", type=float, default=0.02,
                        help="the study's analysis.verdict.min_gain (default 0.02, as in every shipped config)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "plan" and args.format == "parquet" and not args.output:
        parser.error("--format parquet needs --output")
    if args.command == "check-config":
        return check_config(args.configfile, args.config_entries, args.directory)
    if args.command == "init":
        return init(args.folder)
    if args.command == "download":
        return download(args.configfile, args.dry_run)
    if args.command == "passk":
        return passk(args)
    if args.command == "readme-table":
        return readme_table(args.claims, args.readme, args.check, args.block)
    if args.command == "docs":
        return docs(args.check, args.files)
    if args.command == "verdict-tables":
        return verdict_tables(args.claims, args.out_dir, args.min_gain)
    if args.command == "plan":
        return plan(args.configfile, args.format, args.output)
    if args.command == "provenance":
        info = provenance.read(args.file)
        if not info:
            print(f"{args.file}: no provenance recorded", file=sys.stderr)
            return 1
        for key, value in sorted(info.items()):
            print(f"{key}: {value}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
