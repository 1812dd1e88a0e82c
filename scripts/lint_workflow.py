"""``snakemake --lint`` on the workflow (the default config), failing on any finding but the
waived ones below, each with why. Run by ``make lint``."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (file, the start of the finding) -> why it is waived
WAIVED = {
    ("Snakefile", "Environment variable PYTHONPATH used but not asserted with envvars directive"):
        "the Snakefile sets PYTHONPATH (the checkout, for every job) and requires nothing of the user's; "
        "an envvars directive would demand that the user export it",
}


def findings(output: str) -> list[tuple[str, str]]:
    """(file relative to the repository, first line of the finding) of each lint."""
    found, current = [], None
    for line in output.splitlines():
        head = re.match(r"Lints for (?:snakefile|rule) (.+?):?$", line.strip())
        if head:
            current = head.group(1)
            continue
        item = re.match(r"\s*\* (.+)", line)
        if item and current:
            where = current
            if where.startswith(str(REPO)):
                where = str(Path(where).relative_to(REPO))
            found.append((where, item.group(1)))
    return found


def unwaived(lints: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The findings no entry of WAIVED covers."""
    return [(f, text) for f, text in lints if not any(f == wf and text.startswith(start) for wf, start in WAIVED)]


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        proc = subprocess.run([str(Path(sys.executable).with_name("snakemake")), "-s", str(REPO / "Snakefile"),
                               "--configfile", str(REPO / "config" / "config.yaml"), "--directory", work, "--lint"],
                              capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    lints = findings(output)
    if proc.returncode and not lints:
        print(output, file=sys.stderr)
        return proc.returncode
    left = unwaived(lints)
    for f, text in lints:
        print(f"{'waived' if (f, text) not in left else 'LINT'}: {f}: {text}")
    if left:
        print(output, file=sys.stderr)
        return 1
    print(f"snakemake --lint: {len(lints)} finding(s), all waived (scripts/lint_workflow.py says why)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
