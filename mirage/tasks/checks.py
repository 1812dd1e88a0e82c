"""What config validation checks of a ``file`` task and of a ``reasoning_gym``
task, without reading data: a file task's splits and column paths
(``mirage.tasks.files`` reads the tables), and that a reasoning-gym generator
exists and takes the configured settings (``mirage.tasks.reasoning_gym``
generates the problems). No data library is imported here: ``mirage.config``
runs these checks on every Snakefile parse (reasoning-gym itself is imported
only when a config has a reasoning-gym task)."""

from __future__ import annotations

import dataclasses
import difflib
import re

from mirage.tasks.hub_sources import JsonKey, Step

_NAME = r"(?:(?!->)[^.\[\]])+"
_STEP = re.compile(rf"\.({_NAME})|\[(\d+)\]|->({_NAME})")
_HEAD = re.compile(_NAME)


def parse_path(text: str) -> tuple[Step, ...]:
    """``"prompt[0].content"`` -> ``("prompt", 0, "content")``; ``"a->b"`` reads
    key ``b`` of the JSON text in column ``a``. Raises ValueError on a path that
    does not read."""
    head = _HEAD.match(text)
    if head is None:
        raise ValueError(f"column path {text!r} does not start with a column name")
    path: list[Step] = [head.group(0).strip()]
    pos = head.end()
    while pos < len(text):
        step = _STEP.match(text, pos)
        if step is None:
            raise ValueError(f"column path {text!r} does not read at {text[pos:]!r} "
                             "(expected .field, [index] or ->json_key)")
        field, index, key = step.groups()
        path.append(field.strip() if field is not None else int(index) if index is not None else JsonKey(key.strip()))
        pos = step.end()
    return tuple(path)


def check_file_task(name: str, task: dict) -> None:
    """What the schema cannot say about a file task: its splits and its column
    paths. Raises ValueError naming the key."""
    key = f"tasks.{name}"
    if "data" in task:
        for other in ("train", "eval"):
            if other in task:
                raise ValueError(f"'{key}' has both 'data' and '{other}': give one table to split (data, "
                                 "n_eval, n_train) or a table per split (train, eval)")
        if "n_eval" not in task:
            raise ValueError(f"'{key}' needs 'n_eval': the evaluation problems drawn from 'data'")
    else:
        missing = [s for s in ("train", "eval") if s not in task]
        if missing:
            raise ValueError(f"'{key}' needs 'data' (one table to split) or both 'train' and 'eval'; "
                             f"'{missing[0]}' is missing")
        for n in ("n_train", "n_eval"):
            if n in task:
                raise ValueError(f"'{key}.{n}' splits 'data', which this task has not; use "
                                 f"'{'train' if n == 'n_train' else 'eval'}.max_problems'")
    for split in ("data", "train", "eval"):
        entry = task.get(split)
        if entry is not None and ("path" in entry) == ("dataset" in entry):
            raise ValueError(f"'{key}.{split}' needs exactly one of 'path' (a local file) and 'dataset' (a hub data set)")
    for field in ("question", "answer"):
        try:
            parse_path(task[field])
        except ValueError as err:
            raise ValueError(f"'{key}.{field}': {err}") from None
    for column, values in task.get("filters", {}).items():
        try:
            parse_path(column)
        except ValueError as err:
            raise ValueError(f"'{key}.filters': {err}") from None
        if isinstance(values, list) and not values:
            raise ValueError(f"'{key}.filters.{column}' is an empty list: no row would pass")


def reasoning_gym_generators() -> dict:
    """reasoning-gym's generators: name -> (data set class, config class)."""
    try:
        from reasoning_gym.factory import DATASETS
    except ImportError as err:
        raise ImportError("a reasoning_gym task needs the reasoning-gym package (pip install reasoning-gym)") from err
    return DATASETS


def check_generator(generator: str, settings: dict) -> None:
    """That ``generator`` exists and takes ``settings``; ValueError otherwise."""
    datasets = reasoning_gym_generators()
    if generator not in datasets:
        close = difflib.get_close_matches(generator, list(datasets), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"e.g. {', '.join(sorted(datasets)[:5])}"
        raise ValueError(f"unknown reasoning-gym generator {generator!r} ({len(datasets)} known; {hint})")
    _, config_cls = datasets[generator]
    own = sorted({"size", "seed"} & set(settings))
    if own:
        raise ValueError(f"{' and '.join(own)} cannot be set here: mirage draws n_train and n_eval problems "
                         "under seeds derived from the task's seed")
    if dataclasses.is_dataclass(config_cls):
        known = [f.name for f in dataclasses.fields(config_cls) if f.name not in ("size", "seed")]
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(f"generator {generator!r} does not take these settings: {', '.join(unknown)} "
                             f"(its settings: {', '.join(known)})")
    try:
        config = config_cls(**{**settings, "size": 1, "seed": 0})
        if hasattr(config, "validate"):
            config.validate()
    except TypeError as err:  # an unknown setting
        raise ValueError(f"generator {generator!r} does not take these settings: {err}") from None
    except (AssertionError, ValueError) as err:
        raise ValueError(f"generator {generator!r} refuses these settings: {err or 'invalid value'}") from None
