"""A task read from any table, given in the config alone: a local JSONL, JSON,
Parquet or CSV file, or a data set on the Hugging Face hub, with the question
and the answer named by column paths, optional filters on other columns, and a
verifier of ``mirage.verifiers.registry.VERIFIERS`` chosen by name (``tasks.<name>:
{source: file, ...}`` in the config).

A column path reads as it is written in messages: ``problem``,
``problem.text`` (a field of a record), ``answers[0]`` (an item of a list),
``extra_info.game_data_str->answer`` (a key of JSON held as text). The rows are
read by the same ``datasets`` readers and checked by the same steps as the
paper's hub sources (``mirage.tasks.hub``), so that a file that does not match
its config fails naming the file, the column path and what was found there
(the columns present, or the type found).

Splits: ``train`` and ``eval`` each name a table; or ``data`` names one table
that is split by a seeded shuffle into ``n_eval`` evaluation problems and
``n_train`` training ones (absent: the rest)."""

from __future__ import annotations

import logging
import os

import numpy as np
import polars as pl

from mirage.core.schemas import PROBLEMS
from mirage.core.seeding import stable_seed

# the config's checks (mirage.config runs them without reading data), re-exported
from mirage.tasks.checks import check_file_task, parse_path  # noqa: F401
from mirage.tasks.tables import (
    NUMBER_TYPES,
    TEXT_TYPES,
    HubDataOffline,
    mistyped,
    path_label,
    problems_frame,
    read_files,
    subsample,
    text_column,
    walk_path,
)

log = logging.getLogger(__name__)


def read_table(entry: dict, cache_dir: str | os.PathLike | None = None) -> tuple[pl.DataFrame, str]:
    """The rows of one split entry (``path`` or ``dataset``) and how messages name it."""
    if "path" in entry:
        files = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
        return read_files([str(f) for f in files], cache_dir), ", ".join(map(str, files))
    name, config, split, revision = entry["dataset"], entry.get("config"), entry.get("split", "train"), entry.get("revision")
    where = f"{name}@{revision or 'main'}{f' ({config})' if config else ''} split {split!r}"
    import datasets  # a second to import: only when a data set is read

    try:
        ds = datasets.load_dataset(name, config, split=split, revision=revision,
                                   cache_dir=None if cache_dir is None else str(cache_dir))
    except ConnectionError as err:
        if datasets.config.HF_HUB_OFFLINE or datasets.config.HF_DATASETS_OFFLINE:
            raise HubDataOffline(f"{where} is not in the local cache and the hub is offline (HF_HUB_OFFLINE / "
                                 "HF_DATASETS_OFFLINE); fill the cache once with network access, or use a local "
                                 "'path'") from err
        raise
    return ds.to_polars(), where


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _condition(df: pl.DataFrame, column: str, wanted, where: str, by: str) -> pl.Expr:
    """Rows whose ``column`` is one of ``wanted`` (a value or a list): text
    compared as text (stripped), numbers as numbers, booleans as booleans."""
    path = parse_path(column)
    expr, dtype = walk_path(df, path, where, by)
    values = wanted if isinstance(wanted, list) else [wanted]
    label = path_label(path)
    if dtype in TEXT_TYPES:
        return expr.cast(pl.String).str.strip_chars().is_in([str(v).strip() for v in values])
    if dtype in NUMBER_TYPES:
        odd = [v for v in values if not _is_number(v)]
        if odd:
            raise ValueError(f"{where}: column {label!r} holds numbers ({dtype}); filter value {odd[0]!r} "
                             f"is not a number ({by})")
        return expr.cast(pl.Float64).is_in([float(v) for v in values])
    if dtype == pl.Boolean:
        odd = [v for v in values if not isinstance(v, bool)]
        if odd:
            raise ValueError(f"{where}: column {label!r} holds booleans; filter value {odd[0]!r} is not true "
                             f"or false ({by})")
        return expr.is_in(values)
    raise mistyped(where, label, dtype, "text, a number or a boolean to filter on", by)


def _filtered(raw: pl.DataFrame, filters: dict, where: str, by: str) -> tuple[pl.DataFrame, pl.Series]:
    """The rows that pass every filter, and their positions in ``raw``."""
    kept, rows = raw, pl.int_range(raw.height, dtype=pl.Int64, eager=True).alias("row")
    for column, wanted in filters.items():
        mask = kept.select(_condition(kept, column, wanted, where, by).fill_null(False)).to_series()
        passed, rows = kept.filter(mask), rows.filter(mask)
        if passed.height == 0:
            expr, _ = walk_path(kept, parse_path(column), where, by)
            found = kept.select(expr.cast(pl.String).alias("v"))["v"].unique(maintain_order=True)
            shown = ", ".join(map(repr, found.head(10).to_list())) + (", ..." if found.len() > 10 else "")
            raise ValueError(f"{where}: no row has column {column!r} in {wanted!r} ({by}; found: {shown})")
        log.info("%s: filter %s in %r keeps %d of %d rows", where, column, wanted, passed.height, kept.height)
        kept = passed
    return kept, rows


def read_problems(entry: dict, task: str, cfg: dict, cache_dir=None) -> tuple[pl.DataFrame, str]:
    """One table's usable rows: ``row`` (the position in the table, before any
    filter or drop), ``question`` and ``answer`` as text."""
    raw, where = read_table(entry, cache_dir)
    by = f"task {task!r}"
    raw, rows = _filtered(raw, cfg.get("filters", {}), where, by)
    fields = raw.select(
        pl.lit(rows).alias("row"),
        text_column(raw, parse_path(cfg["question"]), "question", where, by),
        text_column(raw, parse_path(cfg["answer"]), "answer", where, by),
    )
    for field in ("answer", "question"):
        empty = fields[field].fill_null("") == ""
        if empty.any():
            log.warning("%s: dropped %d of %d rows with an empty %s (column %r)", where, int(empty.sum()),
                        fields.height, field, cfg[field])
            fields = fields.filter(~empty)
    if fields.height == 0:
        raise ValueError(f"{where}: no row has both a question (column {cfg['question']!r}) and an answer "
                         f"(column {cfg['answer']!r}) ({by})")
    if entry.get("limit") is not None:
        fields = fields.head(entry["limit"])
    return fields, where


def _table(fields: pl.DataFrame, task: str, split: str, cfg: dict, prompt_template: str) -> pl.DataFrame:
    benchmark = cfg.get("benchmark", task)
    return problems_frame(fields, task, split, benchmark, cfg.get("family", benchmark), cfg["verifier"],
                          prompt_template)


def prepare_file_task(task: str, cfg: dict, prompt_template: str, cache_dir=None) -> pl.DataFrame:
    """A file task's problem table (``train`` and ``eval`` splits)."""
    if "data" in cfg:
        fields, where = read_problems(cfg["data"], task, cfg, cache_dir)
        n_eval, n_train = cfg["n_eval"], cfg.get("n_train")
        wanted = n_eval + (n_train or 1)
        if fields.height < wanted:
            raise ValueError(f"{where}: {fields.height} usable rows (after filters and empty rows), fewer than "
                             f"n_eval ({n_eval}) + {f'n_train ({n_train})' if n_train else 'one training problem'} "
                             f"(task {task!r})")
        order = np.random.default_rng(stable_seed("file_task", task)).permutation(fields.height)
        eval_rows = np.sort(order[:n_eval]).tolist()
        train_rows = np.sort(order[n_eval:n_eval + n_train] if n_train else order[n_eval:]).tolist()
        parts = [_table(fields[train_rows], task, "train", cfg, prompt_template),
                 _table(fields[eval_rows], task, "eval", cfg, prompt_template)]
    else:
        parts = []
        for split in ("train", "eval"):
            entry = cfg[split]
            fields, where = read_problems(entry, task, cfg, cache_dir)
            table = _table(fields, task, split, cfg, prompt_template)
            parts.append(subsample(table, entry.get("max_problems"), stable_seed("max_problems", task, split)))
    return PROBLEMS.check(pl.concat(parts), f"task {task!r}").sort("split", "problem_id")
