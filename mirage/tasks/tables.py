"""A task's table, whatever serves it: files read by their format, columns reached by a path
(keys, list items, JSON inside a string), checked for their type with errors that name the
file and the column, and the rows written in the problems schema. Shared by the paper's data
sets (mirage.tasks.hub) and a user's own files (mirage.tasks.files)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import polars as pl

from mirage.core.schemas import PROBLEMS
from mirage.generation.prompts import render_prompt
from mirage.tasks.hub_sources import JsonKey, Step

log = logging.getLogger(__name__)

TEXT_TYPES = (pl.String, pl.Null)
NUMBER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64,
                pl.Float32, pl.Float64)
READERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


class HubDataOffline(ConnectionError):
    """The hub is switched off (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) and the
    data set is not in the local cache."""


def problems_frame(fields: pl.DataFrame, task: str, split: str, benchmark: str, family: str,
                   verifier: str | list[str], prompt_template: str) -> pl.DataFrame:
    """A PROBLEMS table from the ``row``, ``question`` and ``answer`` of a source's
    usable rows. Ids are numbered by position in the source split, before any row is
    dropped, so that an id names the same problem whatever was dropped or cut off; the
    benchmark keeps ids distinct when one task is evaluated on several. ``verifier``:
    one name for every row, or one per row."""
    n = fields.height
    return pl.DataFrame({
        "problem_id": [f"{task}-{benchmark}-{split}-{row:05d}" for row in fields["row"]],
        "task": [task] * n,
        "split": [split] * n,
        "prompt": [render_prompt(prompt_template, q) for q in fields["question"]],
        "answer": fields["answer"],
        "question": fields["question"],
        "family": [family] * n,
        "benchmark": [benchmark] * n,
        "verifier": [verifier] * n if isinstance(verifier, str) else verifier,
    }, schema=PROBLEMS.columns)


def read_files(files: list[str], cache_dir: str | os.PathLike | None) -> pl.DataFrame:
    """Local copies go through the same ``datasets`` readers as the hub's files,
    so that they get the same column types."""
    readers = {READERS.get(Path(f).suffix.lower()) for f in files}
    if None in readers or len(readers) != 1:
        raise ValueError(f"{', '.join(files)}: expected JSON (.json, .jsonl), Parquet (.parquet) or CSV (.csv) files of one kind")
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise FileNotFoundError(f"{', '.join(missing)}: no such file")
    empty = [f for f in files if not Path(f).read_bytes().strip()]
    if empty:
        raise ValueError(f"{', '.join(empty)}: the file is empty (no rows)")
    import datasets  # a second to import: only when a data set is read

    try:
        ds = datasets.load_dataset(readers.pop(), data_files=files, split="train",
                                   cache_dir=None if cache_dir is None else str(cache_dir))
    except Exception as err:  # the readers' errors do not say which file broke, some say nothing
        cause = str(err) or getattr(err.__cause__, "args", [""])[0] or ""
        raise ValueError(f"{', '.join(files)}: could not be read: {type(err).__name__}"
                         f"{f': {cause}' if cause else ''}") from err
    return ds.to_polars()


def path_label(path: tuple[Step, ...]) -> str:
    """How a path reads in messages: prompt[0].content, extra_info.game_data_str->answer."""
    out = str(path[0])
    for step in path[1:]:
        if isinstance(step, int):
            out += f"[{step}]"
        elif isinstance(step, JsonKey):
            out += f"->{step.key}"
        else:
            out += f".{step}"
    return out


def walk_path(df: pl.DataFrame, path: tuple[Step, ...], where: str, by: str) -> tuple[pl.Expr, pl.DataType]:
    """The expression reading ``path`` from ``df`` and its type, after checking
    each step against the frame's schema, so that a changed schema fails here,
    by name, rather than as nulls further on."""
    head = path[0]
    if head not in df.columns:
        raise missing_column(where, head, by, df.columns)
    expr, dtype = pl.col(head), df.schema[head]
    for depth, step in enumerate(path[1:], start=1):
        seen = path_label(path[:depth])
        if isinstance(step, int):
            if not isinstance(dtype, (pl.List, pl.Array)):
                raise mistyped(where, seen, dtype, "a list", by)
            expr, dtype = expr.list.get(step, null_on_oob=True), dtype.inner
        elif isinstance(step, JsonKey):
            if dtype != pl.String:
                raise mistyped(where, seen, dtype, "JSON text", by)
            expr, dtype = expr.str.json_path_match(f"$.{step.key}"), pl.String
        else:
            if not isinstance(dtype, pl.Struct):
                raise mistyped(where, seen, dtype, f"a record with field {step!r}", by)
            names = [f.name for f in dtype.fields]
            if step not in names:
                raise missing_column(where, path_label(path[:depth + 1]), by, names, inside=seen)
            expr, dtype = expr.struct.field(step), dict(zip(names, (f.dtype for f in dtype.fields)))[step]
    return expr, dtype


def text_column(df: pl.DataFrame, path: tuple[Step, ...], field: str, where: str, by: str) -> pl.Expr:
    """The expression reading ``path`` from ``df`` as text (``walk_path``)."""
    expr, dtype = walk_path(df, path, where, by)
    label = path_label(path)
    if dtype in TEXT_TYPES:
        return expr.cast(pl.String).str.strip_chars().alias(field)
    if field == "answer" and dtype in NUMBER_TYPES:
        # AIME and AMC answers are numbers in some copies; 27.0 must read "27",
        # as the gold answer the verifiers compare against.
        whole = pl.when(expr == expr.floor()).then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        return pl.coalesce(whole, expr.cast(pl.String)).alias(field)
    expected = "text or a number" if field == "answer" else "text"
    mixed = mixed_examples(df.select(expr).to_series()) if isinstance(dtype, pl.BaseExtension) else None
    if mixed:
        raise ValueError(f"{where}: column {label!r} mixes types in its rows (e.g. {mixed[0]} and {mixed[1]}); "
                         f"expected {expected} in every row ({by})")
    raise mistyped(where, label, dtype, expected, by)


def mixed_examples(values: pl.Series) -> tuple[str, str] | None:
    """Two values of different JSON types in a column the reader kept as JSON
    text (a column that mixes strings and numbers), as they are written."""
    import json

    seen: dict[str, str] = {}
    for text in (v for v in values.head(1000).to_list() if v is not None):
        try:
            kind = type(json.loads(text)).__name__
        except ValueError:
            kind = "str"
        seen.setdefault(kind, text if text.startswith('"') else (text if kind != "str" else json.dumps(text)))
        if len(seen) == 2:
            return tuple(seen.values())
    return None


def missing_column(where: str, label: str, by: str, found, inside: str | None = None) -> ValueError:
    """``by``: who expects the column ("source 'math500'", "task 'riddles'")."""
    found_in = f"found in {inside!r}" if inside else "found"
    return ValueError(f"{where}: column {label!r} missing (expected by {by}; "
                      f"{found_in}: {', '.join(found)})")


def mistyped(where: str, label: str, dtype: pl.DataType, expected: str, by: str) -> ValueError:
    return ValueError(f"{where}: column {label!r} has type {dtype}, expected {expected} ({by})")


def subsample(table: pl.DataFrame, n: int | None, seed: int) -> pl.DataFrame:
    """``n`` rows of ``table`` drawn at random under ``seed``, in their order
    (all of them when it has no more): a subset spread over the whole source,
    where ``limit``'s first rows may all be of one kind (one SynLogic task type,
    if a source lists its rows by type)."""
    if n is None or table.height <= n:
        return table
    keep = np.sort(np.random.default_rng(seed).choice(table.height, size=n, replace=False))
    return table[keep.tolist()]
