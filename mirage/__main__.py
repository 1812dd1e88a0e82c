"""Command line: ``python -m mirage <command>``.

readme-table    rewrite the README's verdict table from a claims table
verdict-tables  rewrite a study's thresholds and paper-comparison tables (and .md) from its claims table
provenance      print the provenance stored in a table or figure
plan            the cost of a study before it is submitted: jobs, GPUs, tokens, GPU-hours per rule
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from mirage import provenance
from mirage.verdicts import comparison_markdown, paper_comparison, read_claims, write_verdict_tables

START, END = "<!-- verdict-table:start -->", "<!-- verdict-table:end -->"


def readme_with_table(readme: str, table_md: str) -> str:
    """``readme`` with the text between the verdict-table markers replaced."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError(f"the README has no '{START}' ... '{END}' markers")
    return pattern.sub(lambda _: f"{START}\n{table_md}{END}", readme, count=1)


def readme_table(claims_path: str, readme_path: str, check: bool) -> int:
    """The claims table is read by ``read_claims``: one written before issue 14
    (the recorded one-seed studies: no p-values, ``regime`` for ``regime_rule``)
    is upgraded, and the table is rendered under today's rules."""
    claims = read_claims(claims_path)
    table_md = comparison_markdown(paper_comparison(claims), claims, claims_path)
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


def verdict_tables(claims_path: str, out_dir: str | None, min_gain: float) -> int:
    """Rewrite thresholds.parquet, paper_comparison.parquet and .md beside a
    claims table (or in ``out_dir``) under today's rules, as rule
    ``verdict_tables`` does: for a recorded study, whose claims table is read as
    ``readme_table`` reads it. The claims table itself is left as it is."""
    claims = read_claims(claims_path)
    out = Path(out_dir) if out_dir else Path(claims_path).parent
    write_verdict_tables(claims, min_gain, out / "thresholds.parquet", out / "paper_comparison.parquet",
                         out / "paper_comparison.md", claims_path)
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
    tables = sub.add_parser("verdict-tables", help="rewrite a study's thresholds and paper-comparison tables from "
                            "its claims table (a recorded pre-issue-14 table is upgraded as readme-table does)")
    tables.add_argument("--claims", required=True)
    tables.add_argument("--out-dir", help="default: the claims table's folder")
    tables.add_argument("--min-gain", type=float, default=0.02,
                        help="the study's analysis.verdict.min_gain (default 0.02, as in every shipped config)")
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
