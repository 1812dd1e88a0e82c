"""Command line: ``python -m mirage <command>``.

readme-table  rewrite the README's verdict table from a claims table
provenance    print the provenance stored in a table or figure
plan          the cost of a study before it is submitted: jobs, GPUs, tokens, GPU-hours per rule
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

START, END = "<!-- verdict-table:start -->", "<!-- verdict-table:end -->"


def readme_with_table(readme: str, table_md: str) -> str:
    """``readme`` with the text between the verdict-table markers replaced."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"the README has no '{START}' ... '{END}' markers")
    return pattern.sub(lambda _: f"{START}\n{table_md}{END}", readme, count=1)


def readme_table(claims_path: str, readme_path: str, check: bool) -> int:
    from mirage.schemas import CLAIMS_TABLE
    from mirage.verdicts import comparison_markdown, paper_comparison

    table_md = comparison_markdown(paper_comparison(CLAIMS_TABLE.read(claims_path)), claims_path)
    readme = Path(readme_path).read_text()
    updated = readme_with_table(readme, table_md)
    if check:
        if updated != readme:
            print(f"{readme_path}: the verdict table differs from {claims_path}; run python -m mirage readme-table",
                  file=sys.stderr)
            return 1
        return 0
    Path(readme_path).write_text(updated)
    return 0


def plan(configfiles: list[str] | None, fmt: str, output: str | None) -> int:
    # imported here: mirage.plan loads Snakemake and torch (seconds), which the other commands do not need
    from mirage.plan import PlanGap, format_plan, make_plan, write_parquet

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mirage")
    sub = parser.add_subparsers(dest="command", required=True)
    table = sub.add_parser("readme-table", help="rewrite the README's verdict table from a claims table")
    table.add_argument("--claims", default="results/tables/claims.parquet")
    table.add_argument("--readme", default="README.md")
    table.add_argument("--check", action="store_true", help="exit 1 if the README's table differs")
    prov = sub.add_parser("provenance", help="print the provenance stored in a Parquet table, PNG or SVG figure")
    prov.add_argument("file")
    cost = sub.add_parser("plan", help="the cost of a study: jobs, GPUs per job, generated tokens and GPU-hours "
                          "per rule")
    cost.add_argument("--configfile", nargs="+", help="config files, overlaid as by snakemake --configfile "
                      "(later files win, dicts merge); default: config/config.yaml")
    cost.add_argument("--format", choices=["text", "parquet"], default="text")
    cost.add_argument("--output", help="write here (needed for --format parquet); default: print")
    args = parser.parse_args(argv)
    if args.command == "plan" and args.format == "parquet" and not args.output:
        parser.error("--format parquet needs --output")
    if args.command == "readme-table":
        return readme_table(args.claims, args.readme, args.check)
    if args.command == "plan":
        return plan(args.configfile, args.format, args.output)
    if args.command == "provenance":
        from mirage.provenance import read

        info = read(args.file)
        if not info:
            print(f"{args.file}: no provenance recorded", file=sys.stderr)
            return 1
        for key, value in sorted(info.items()):
            print(f"{key}: {value}")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
