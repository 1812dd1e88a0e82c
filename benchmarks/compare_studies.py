"""Compare the results of two study directories file by file: are they the
same study? Usage:

    python benchmarks/compare_studies.py DIR_A DIR_B [--json OUT]

Every file under ``results/`` of either directory is compared:

- Parquet tables: the data and the schema (with its metadata) exactly, and the
  provenance except the code version (``git_commit``, ``git_dirty``), which
  names the commit that wrote the file and so differs between two commits (and,
  with ``--ignore-machine``, except the CPU and kernel settings it names);
- PNG figures: the decoded pixels and every text chunk, the provenance as above;
  SVG figures: the text with the provenance comment's code version removed;
- a model folder's ``run.json`` and ``pretrain_summary.json``: every entry but the
  wall-clock ones (``train_seconds``, ``train_runtime``, ...);
- every other file (weights, tokenizers, configs, JSON): byte for byte.

Prints one line per differing file and a summary; exit status 1 if any differ.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mirage.core import provenance  # noqa: E402

CODE_VERSION = ("git_commit", "git_dirty")
# what provenance says about the machine (mirage.core.kernels.machine): left out with --ignore-machine
MACHINE = ("cpu_model", "cpu_flags", "machine", "aten_cpu_capability", "torch_threads")
IGNORED = list(CODE_VERSION)


def _ignored(key: str) -> bool:
    return key in IGNORED or ("env." in IGNORED and key.startswith("env."))


def _stamp(info: dict) -> dict:
    return {k: v for k, v in info.items() if not _ignored(k)}


def same_parquet(a: Path, b: Path) -> str | None:
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    meta_a = {k: v for k, v in (ta.schema.metadata or {}).items() if k != provenance.KEY.encode()}
    meta_b = {k: v for k, v in (tb.schema.metadata or {}).items() if k != provenance.KEY.encode()}
    if _ipc_bytes(ta) != _ipc_bytes(tb):  # bit for bit: a NaN equals a NaN, as equals() would not say
        return "table data differ"
    if meta_a != meta_b or ta.schema.remove_metadata() != tb.schema.remove_metadata():
        return "schema differs"
    if _stamp(provenance.read(a)) != _stamp(provenance.read(b)):
        return f"provenance differs: {_stamp(provenance.read(a))} vs {_stamp(provenance.read(b))}"
    return None


def _ipc_bytes(table) -> bytes:
    import pyarrow as pa

    table = table.replace_schema_metadata(None).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def same_png(a: Path, b: Path) -> str | None:
    import numpy as np
    from PIL import Image

    with Image.open(a) as ia, Image.open(b) as ib:
        if ia.size != ib.size or not np.array_equal(np.asarray(ia), np.asarray(ib)):
            return "pixels differ"
        info_a = {k: v for k, v in ia.info.items() if k != provenance.KEY}
        info_b = {k: v for k, v in ib.info.items() if k != provenance.KEY}
    if info_a != info_b:
        return "PNG chunks differ"
    if _stamp(provenance.read(a)) != _stamp(provenance.read(b)):
        return "provenance differs"
    return None


def same_svg(a: Path, b: Path) -> str | None:
    def body(path: Path) -> str:  # the text without its provenance comment
        text = path.read_text()
        start = text.find(f"<!-- {provenance.KEY} ")
        return text if start < 0 else text[:start] + text[text.index(" -->", start) + 4:]

    if body(a) != body(b):
        return "SVG text differs"
    if _stamp(provenance.read(a)) != _stamp(provenance.read(b)):
        return "provenance differs"
    return None


# wall-clock entries of a training summary (run.json, pretrain_summary.json and its log history)
TIMINGS = ("train_seconds", "train_runtime", "train_samples_per_second", "train_steps_per_second")


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def same_summary(a: Path, b: Path) -> str | None:
    ja, jb = (_without_timings(json.loads(p.read_text())) for p in (a, b))
    return None if ja == jb else f"{a.name} differs beyond its wall-clock entries"


def compare(dir_a: Path, dir_b: Path, ignore_machine: bool = False) -> dict:
    """``ignore_machine``: provenance's machine entries (the CPU, the kernel
    settings) are left out: two machines' studies compared by what they computed."""
    IGNORED[:] = [*CODE_VERSION, *((*MACHINE, "env.") if ignore_machine else ())]
    files_a = {p.relative_to(dir_a) for p in (dir_a / "results").rglob("*") if p.is_file()}
    files_b = {p.relative_to(dir_b) for p in (dir_b / "results").rglob("*") if p.is_file()}
    differ = {str(p): "only in A" for p in files_a - files_b}
    differ.update({str(p): "only in B" for p in files_b - files_a})
    kinds: dict[str, int] = {}
    for rel in sorted(files_a & files_b):
        a, b = dir_a / rel, dir_b / rel
        if rel.suffix == ".parquet":
            why, kind = same_parquet(a, b), "parquet"
        elif rel.suffix == ".png":
            why, kind = same_png(a, b), "png"
        elif rel.suffix == ".svg":
            why, kind = same_svg(a, b), "svg"
        elif rel.name in ("run.json", "pretrain_summary.json"):
            why, kind = same_summary(a, b), "training summary"
        else:
            why, kind = (None if a.read_bytes() == b.read_bytes() else "bytes differ"), "bytes"
        kinds[kind] = kinds.get(kind, 0) + 1
        if why:
            differ[str(rel)] = why
    return {"compared": len(files_a & files_b), "by_kind": kinds, "differ": differ}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--ignore-machine", action="store_true",
                    help="leave the machine's entries (CPU, kernel settings) out of the provenance compared")
    args = ap.parse_args(argv)
    result = compare(args.a, args.b, args.ignore_machine)
    for path, why in sorted(result["differ"].items()):
        print(f"DIFFER {path}: {why}")
    print(f"{result['compared']} files compared ({result['by_kind']}); {len(result['differ'])} differ")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, sort_keys=True))
    return 1 if result["differ"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
