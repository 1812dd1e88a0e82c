"""The paper's data sets (DeepScaleR, SynLogic, AIME24, MATH-500, AMC23, KOR-Bench),
read from the Hugging Face hub or from local copies and written in the study's
common problem schema, the same table the toy tasks produce.

Each source is one declarative entry of ``SOURCES`` (``mirage.hub_sources``,
re-exported here): where it lives, which of its splits serves the study's
``train`` / ``eval`` split, and the path from its own columns to ``question``
and ``answer``. A changed upstream schema is then a
one-line fix in the registry, and a schema that no longer matches fails loudly,
naming the file (or hub name and revision) and the column.

A task from any other table needs no entry here: ``source: file`` in the
config (mirage.file_tasks) names its file or hub data set, its column paths,
filters and verifier, and is read by the same steps."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import polars as pl

# the registry and its types (mirage.hub_sources imports no data library)
from mirage.hub_sources import SOURCES, JsonKey, RuleSidecar, Source, Step
from mirage.kor import make_gold as kor_gold
from mirage.prompts import render_prompt
from mirage.schemas import PROBLEMS
from mirage.seeding import stable_seed
from mirage.synlogic import RULES, make_gold, missing_fields, read_gold

log = logging.getLogger(__name__)

TEXT_TYPES = (pl.String, pl.Null)
NUMBER_TYPES = (pl.Int8, pl.Int16, pl.Int32, pl.Int64, pl.UInt8, pl.UInt16, pl.UInt32, pl.UInt64,
                pl.Float32, pl.Float64)
READERS = {".json": "json", ".jsonl": "json", ".parquet": "parquet", ".csv": "csv"}


class HubDataOffline(ConnectionError):
    """The hub is switched off (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE) and the
    data set is not in the local cache."""


def load_source(
    source_name: str,
    *,
    revision: str | None,
    split: str,
    prompt_template: str,
    task: str,
    data_files: str | os.PathLike | list[str | os.PathLike] | None = None,
    cache_dir: str | os.PathLike | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """The problems of one source's ``split`` ("train" or "eval") as a PROBLEMS
    table for ``task``. Read from the hub at ``revision`` (only the local cache
    when the hub is offline), or from ``data_files`` (JSON, JSONL or Parquet, in
    the source's own schema) when given. Rows with an empty question or answer
    are dropped; ``limit`` keeps the first ``limit`` rows that remain."""
    source = SOURCES.lookup(source_name)
    if split not in source.splits:
        raise ValueError(f"source {source_name!r} has no {split!r} split; it serves: {', '.join(source.splits)}")
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be a positive number of rows, got {limit}")

    if data_files is not None:
        files = [str(f) for f in (data_files if isinstance(data_files, list) else [data_files])]
        where = ", ".join(files)
        raw = _read_files(files, cache_dir)
    else:
        where = _hub_label(source, revision, split)
        raw = _read_hub(source, source_name, revision, split, cache_dir, where)

    by = f"source {source_name!r}"
    fields = pl.DataFrame({
        "row": pl.int_range(raw.height, dtype=pl.Int64, eager=True),
        "question": raw.select(_text(raw, source.question, "question", where, by)).to_series(),
        "answer": raw.select(_text(raw, source.answer, "answer", where, by)).to_series(),
    })
    verifiers = None
    if source.task_type is not None:
        task_types = raw.select(_text(raw, source.task_type, "task_type", where, by)).to_series()
        fields, verifiers = _game_golds(fields, task_types, source, where, source_name)
    if source.kor_category is not None:
        fields = _kor_golds(fields, raw, source.kor_category, where, by)
    if source.rules is not None:
        if data_files is None:
            raise ValueError(f"source {source_name!r}: its rules are read from a file beside the questions; "
                             f"pass data_files ({source.files_hint})")
        fields = _join_rules(fields, raw, source.rules, files, cache_dir, where, source_name)

    fields = _drop_empty(fields, where)
    if limit is not None:
        fields = fields.head(limit)
    verifier = source.verifier if verifiers is None else [verifiers[row] for row in fields["row"]]
    return PROBLEMS.check(problems_frame(fields, task, split, source.benchmark, source.family, verifier,
                                         prompt_template), where)


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


def _game_golds(fields: pl.DataFrame, task_types: pl.Series, source: Source, where: str,
                source_name: str) -> tuple[pl.DataFrame, dict[int, str]]:
    """SynLogic: each row's gold is its game data tagged with its task type, and
    its verifier ``<verifier>:<task type>``. A task type without a verifier, or
    game data its verifier cannot read, stops here, by name; a row without game
    data keeps a null answer and is dropped as empty."""
    unknown = sorted({t for t, g in zip(task_types, fields["answer"]) if g and t not in RULES}, key=str)
    if unknown:
        raise ValueError(f"{where}: no SynLogic verifier for task type {', '.join(map(repr, unknown))} "
                         f"(source {source_name!r}; mirage.synlogic.RULES has {len(RULES)} task types)")
    golds, verifiers = [], {}
    for row, task_type, game_data in zip(fields["row"], task_types, fields["answer"]):
        if not game_data:
            golds.append(None)
            continue
        try:
            gold = make_gold(task_type, game_data)
        except ValueError as err:
            raise ValueError(f"{where}: row {row} ({task_type}): game data is not a JSON object: {err}") from None
        missing = missing_fields(task_type, read_gold(gold))
        if missing:
            raise ValueError(f"{where}: row {row} ({task_type}): game data lacks {', '.join(missing)}, "
                             f"which its verifier reads (source {source_name!r})")
        golds.append(gold)
        verifiers[row] = f"{source.verifier}:{task_type}"
    return fields.with_columns(answer=pl.Series(golds, dtype=pl.String)), verifiers


def _hub_label(source: Source, revision: str | None, split: str) -> str:
    config = f" ({source.config})" if source.config else ""
    return f"{source.hub_name}@{revision or 'main'}{config} split {source.splits[split]!r}"


def _read_hub(source: Source, source_name: str, revision: str | None, split: str,
              cache_dir: str | os.PathLike | None, where: str) -> pl.DataFrame:
    if source.hub_name is None:
        raise ValueError(f"source {source_name!r} has no hub copy; pass data_files ({source.files_hint})")
    import datasets  # a second to import: only when a data set is read

    try:
        ds = datasets.load_dataset(source.hub_name, source.config, split=source.splits[split], revision=revision,
                                   cache_dir=None if cache_dir is None else str(cache_dir))
    except ConnectionError as err:
        if datasets.config.HF_HUB_OFFLINE or datasets.config.HF_DATASETS_OFFLINE:
            raise HubDataOffline(
                f"source {source_name!r}: {where} is not in the local cache"
                f"{f' {cache_dir}' if cache_dir else ''} and the hub is offline (HF_HUB_OFFLINE / "
                "HF_DATASETS_OFFLINE); fill the cache once with network access, or pass data_files"
            ) from err
        raise
    return ds.to_polars()


def _read_files(files: list[str], cache_dir: str | os.PathLike | None) -> pl.DataFrame:
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


def _label(path: tuple[Step, ...]) -> str:
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


def _walk(df: pl.DataFrame, path: tuple[Step, ...], where: str, by: str) -> tuple[pl.Expr, pl.DataType]:
    """The expression reading ``path`` from ``df`` and its type, after checking
    each step against the frame's schema, so that a changed schema fails here,
    by name, rather than as nulls further on."""
    head = path[0]
    if head not in df.columns:
        raise _missing(where, head, by, df.columns)
    expr, dtype = pl.col(head), df.schema[head]
    for depth, step in enumerate(path[1:], start=1):
        seen = _label(path[:depth])
        if isinstance(step, int):
            if not isinstance(dtype, (pl.List, pl.Array)):
                raise _mistyped(where, seen, dtype, "a list", by)
            expr, dtype = expr.list.get(step, null_on_oob=True), dtype.inner
        elif isinstance(step, JsonKey):
            if dtype != pl.String:
                raise _mistyped(where, seen, dtype, "JSON text", by)
            expr, dtype = expr.str.json_path_match(f"$.{step.key}"), pl.String
        else:
            if not isinstance(dtype, pl.Struct):
                raise _mistyped(where, seen, dtype, f"a record with field {step!r}", by)
            names = [f.name for f in dtype.fields]
            if step not in names:
                raise _missing(where, _label(path[:depth + 1]), by, names, inside=seen)
            expr, dtype = expr.struct.field(step), dict(zip(names, (f.dtype for f in dtype.fields)))[step]
    return expr, dtype


def _text(df: pl.DataFrame, path: tuple[Step, ...], field: str, where: str, by: str) -> pl.Expr:
    """The expression reading ``path`` from ``df`` as text (``_walk``)."""
    expr, dtype = _walk(df, path, where, by)
    label = _label(path)
    if dtype in TEXT_TYPES:
        return expr.cast(pl.String).str.strip_chars().alias(field)
    if field == "answer" and dtype in NUMBER_TYPES:
        # AIME and AMC answers are numbers in some copies; 27.0 must read "27",
        # as the gold answer the verifiers compare against.
        whole = pl.when(expr == expr.floor()).then(expr.cast(pl.Int64, strict=False).cast(pl.String))
        return pl.coalesce(whole, expr.cast(pl.String)).alias(field)
    expected = "text or a number" if field == "answer" else "text"
    mixed = _mixed_examples(df.select(expr).to_series()) if isinstance(dtype, pl.BaseExtension) else None
    if mixed:
        raise ValueError(f"{where}: column {label!r} mixes types in its rows (e.g. {mixed[0]} and {mixed[1]}); "
                         f"expected {expected} in every row ({by})")
    raise _mistyped(where, label, dtype, expected, by)


def _mixed_examples(values: pl.Series) -> tuple[str, str] | None:
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


def _missing(where: str, label: str, by: str, found, inside: str | None = None) -> ValueError:
    """``by``: who expects the column ("source 'math500'", "task 'riddles'")."""
    found_in = f"found in {inside!r}" if inside else "found"
    return ValueError(f"{where}: column {label!r} missing (expected by {by}; "
                      f"{found_in}: {', '.join(found)})")


def _mistyped(where: str, label: str, dtype: pl.DataType, expected: str, by: str) -> ValueError:
    return ValueError(f"{where}: column {label!r} has type {dtype}, expected {expected} ({by})")


def _kor_golds(fields: pl.DataFrame, raw: pl.DataFrame, category: str, where: str, by: str) -> pl.DataFrame:
    """KOR-Bench: each row's gold is its answer with its rule and question number,
    which the official rules read (``mirage.kor``)."""
    rule_ids = raw.select(_key(raw, "rule_id", where, by)).to_series()
    idxs = raw.select(_key(raw, "idx", where, by)).to_series()
    golds = [kor_gold(category, answer, rule_id, idx) if answer else answer
             for answer, rule_id, idx in zip(fields["answer"], rule_ids, idxs)]
    return fields.with_columns(answer=pl.Series(golds, dtype=pl.String))


def _join_rules(fields: pl.DataFrame, raw: pl.DataFrame, rules: RuleSidecar, files: list[str],
                cache_dir: str | os.PathLike | None, where: str, source_name: str) -> pl.DataFrame:
    if len(files) != 1:
        raise ValueError(f"{where}: source {source_name!r} reads one question file at a time, "
                         f"with its {rules.file} beside it")
    rule_file = str(Path(files[0]).with_name(rules.file))
    table = _read_files([rule_file], cache_dir)
    by = f"source {source_name!r}"
    rule_ids = raw.select(_key(raw, rules.join_on, where, by)).to_series()
    rule_text = table.select(
        _key(table, rules.key, rule_file, by).alias("rule_id"),
        _text(table, (rules.text,), "rule", rule_file, by),
    ).unique("rule_id", keep="first", maintain_order=True)
    joined = fields.with_columns(rule_id=rule_ids).join(rule_text, on="rule_id", how="left", maintain_order="left")
    orphans = joined.filter(pl.col("rule").is_null())["rule_id"].unique(maintain_order=True).to_list()
    if orphans:
        raise ValueError(f"{where}: rule_id {', '.join(map(str, orphans))} not found in {rule_file} "
                         f"(source {source_name!r})")
    questions = [rules.layout.format(rule=rule, question=question) if question else question
                 for rule, question in zip(joined["rule"], joined["question"])]
    return joined.with_columns(question=pl.Series(questions, dtype=pl.String)).select(fields.columns)


def _key(df: pl.DataFrame, column: str, where: str, by: str) -> pl.Expr:
    """Rule ids are text in some copies and numbers in others; compare them as text."""
    if column not in df.columns:
        raise _missing(where, column, by, df.columns)
    if df.schema[column] not in (pl.String, *NUMBER_TYPES):
        raise _mistyped(where, column, df.schema[column], "text or a number", by)
    return pl.col(column).cast(pl.String).str.strip_chars()


def _drop_empty(fields: pl.DataFrame, where: str) -> pl.DataFrame:
    kept = fields
    for field in ("answer", "question"):
        empty = kept[field].fill_null("") == ""
        if empty.any():
            log.warning("%s: dropped %d of %d rows with an empty %s", where, int(empty.sum()), kept.height, field)
            kept = kept.filter(~empty)
    if kept.height == 0:
        raise ValueError(f"{where}: no row has both a question and an answer")
    return kept


def prepare_hub_task(task: str, cfg: dict, prompt_template: str, cache_dir: str | os.PathLike | None = None) -> pl.DataFrame:
    """A paper-scale task's problem table: its training source as the ``train``
    split and each of its evaluation benchmarks in the ``eval`` split."""
    parts = [_load_entry(cfg["train"], "train", task, prompt_template, cache_dir)]
    parts += [_load_entry(entry, "eval", task, prompt_template, cache_dir) for entry in cfg["eval"]]
    return PROBLEMS.check(pl.concat(parts)).sort("split", "problem_id")


def _load_entry(entry: dict, split: str, task: str, prompt_template: str, cache_dir) -> pl.DataFrame:
    table = load_source(entry["dataset"], revision=entry.get("revision"), split=split, prompt_template=prompt_template,
                        task=task, data_files=entry.get("data_files"), cache_dir=cache_dir, limit=entry.get("limit"))
    return subsample(table, entry.get("max_problems"), stable_seed("max_problems", task, entry["dataset"], split))


def subsample(table: pl.DataFrame, n: int | None, seed: int) -> pl.DataFrame:
    """``n`` rows of ``table`` drawn at random under ``seed``, in their order
    (all of them when it has no more): a subset spread over the whole source,
    where ``limit``'s first rows may all be of one kind (one SynLogic task type,
    if a source lists its rows by type)."""
    if n is None or table.height <= n:
        return table
    keep = np.sort(np.random.default_rng(seed).choice(table.height, size=n, replace=False))
    return table[keep.tolist()]
