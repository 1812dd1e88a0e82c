"""A configured task's problems table, whatever its source (``tasks.<name>.source``):
``toy`` (a synthetic family, ``mirage.toy``), ``hub`` (the paper's data sets,
``mirage.tasks.hub``), ``file`` (a local file or hub data set named by column paths,
``mirage.tasks.files``), ``reasoning_gym`` (a generator, ``mirage.tasks.reasoning_gym``).

None of these modules imports a heavy library when it is loaded: ``datasets`` is imported
when a table is read, math-verify when an answer is graded, reasoning-gym when a
generator is built. A toy study never imports any of them."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from mirage.tasks.files import prepare_file_task
from mirage.tasks.hub import prepare_hub_task
from mirage.tasks.reasoning_gym import prepare_reasoning_gym_task
from mirage.toy.data import generate_task_splits
from mirage.toy.tasks import FAMILIES


def prepare_problems(task: str, cfg: dict, prompt_template: str, seed: int) -> pl.DataFrame:
    """Both splits of task ``task`` (its config ``cfg``) as a PROBLEMS table; its
    prompts from the task's own ``prompt_template`` where it has one (not a toy
    task: the schema refuses it there), else the study's ``prompt_template``."""
    source = cfg["source"]
    prompt_template = cfg.get("prompt_template", prompt_template)
    if source == "hub":
        return prepare_hub_task(task, cfg, prompt_template)
    if source == "file":
        return prepare_file_task(task, cfg, prompt_template)
    if source == "reasoning_gym":
        return prepare_reasoning_gym_task(task, cfg, prompt_template, seed)
    if source == "toy":
        return generate_task_splits(task=task, family=cfg["family"], family_params=cfg.get("params", {}),
                                    n_train=cfg["n_train"], n_eval=cfg["n_eval"], seed=seed,
                                    prompt_template=prompt_template, verifier=cfg["verifier"])
    raise ValueError(f"task {task!r}: unknown source {source!r} (known: toy, hub, file, reasoning_gym)")


def style_classifier(family: str | None) -> Callable[[str], str] | None:
    """The style classifier of a toy task family (``mirage.config.style_family``), None for None."""
    if family is None:
        return None
    return FAMILIES.lookup(family).classify_style
