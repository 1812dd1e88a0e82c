"""The paper's data sets (DeepScaleR, SynLogic, AIME24, MATH-500, AMC23, KOR-Bench),
read from the Hugging Face hub or from local copies and written in the study's
common problem schema, the same table the toy tasks produce.

Each source is one declarative entry of ``SOURCES`` (``mirage.tasks.hub_sources``):
where it lives, which of its splits serves the study's
``train`` / ``eval`` split, and the path from its own columns to ``question``
and ``answer``. A changed upstream schema is then a
one-line fix in the registry, and a schema that no longer matches fails loudly,
naming the file (or hub name and revision) and the column.

A task from any other table needs no entry here: ``source: file`` in the
config (mirage.tasks.files) names its file or hub data set, its column paths,
filters and verifier, and is read by the same steps."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl

from mirage.core.schemas import PROBLEMS
from mirage.core.seeding import stable_seed

# the registry and its types (mirage.tasks.hub_sources imports no data library)
from mirage.tasks.hub_sources import SOURCES, RuleSidecar, Source
from mirage.tasks.tables import (
    NUMBER_TYPES,
    HubDataOffline,
    missing_column,
    mistyped,
    problems_frame,
    read_files,
    subsample,
    text_column,
)
from mirage.verifiers.kor import make_gold as kor_gold
from mirage.verifiers.synlogic.reading import make_gold, read_gold
from mirage.verifiers.synlogic.rules import RULES, missing_fields

log = logging.getLogger(__name__)

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
        raw = read_files(files, cache_dir)
    else:
        where = _hub_label(source, revision, split)
        raw = _read_hub(source, source_name, revision, split, cache_dir, where)

    by = f"source {source_name!r}"
    fields = pl.DataFrame({
        "row": pl.int_range(raw.height, dtype=pl.Int64, eager=True),
        "question": raw.select(text_column(raw, source.question, "question", where, by)).to_series(),
        "answer": raw.select(text_column(raw, source.answer, "answer", where, by)).to_series(),
    })
    verifiers = None
    if source.task_type is not None:
        task_types = raw.select(text_column(raw, source.task_type, "task_type", where, by)).to_series()
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

def _game_golds(fields: pl.DataFrame, task_types: pl.Series, source: Source, where: str,
                source_name: str) -> tuple[pl.DataFrame, dict[int, str]]:
    """SynLogic: each row's gold is its game data tagged with its task type, and
    its verifier ``<verifier>:<task type>``. A task type without a verifier, or
    game data its verifier cannot read, stops here, by name; a row without game
    data keeps a null answer and is dropped as empty."""
    unknown = sorted({t for t, g in zip(task_types, fields["answer"]) if g and t not in RULES}, key=str)
    if unknown:
        raise ValueError(f"{where}: no SynLogic verifier for task type {', '.join(map(repr, unknown))} "
                         f"(source {source_name!r}; mirage.verifiers.synlogic.rules.RULES has {len(RULES)} task types)")
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

def _kor_golds(fields: pl.DataFrame, raw: pl.DataFrame, category: str, where: str, by: str) -> pl.DataFrame:
    """KOR-Bench: each row's gold is its answer with its rule and question number,
    which the official rules read (``mirage.verifiers.kor``)."""
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
    table = read_files([rule_file], cache_dir)
    by = f"source {source_name!r}"
    rule_ids = raw.select(_key(raw, rules.join_on, where, by)).to_series()
    rule_text = table.select(
        _key(table, rules.key, rule_file, by).alias("rule_id"),
        text_column(table, (rules.text,), "rule", rule_file, by),
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
        raise missing_column(where, column, by, df.columns)
    if df.schema[column] not in (pl.String, *NUMBER_TYPES):
        raise mistyped(where, column, df.schema[column], "text or a number", by)
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
