"""reasoning-gym (``pip install reasoning-gym``) as a task source: procedurally
generated problems, no download, each graded by its generator's own
``score_answer`` (``tasks.<name>: {source: reasoning_gym, generator: ...}``).

Generation. The ``train`` and ``eval`` splits are drawn from the generator
under two seeds derived from the task's ``seed`` (absent: the study's), so
that the same config gives the same problems; a training problem whose
question is also an evaluation question is skipped (a small generator repeats
itself), and the next one taken instead. Problems are graded by regenerating
them (below), so a generator whose items do not follow from its seed alone is
refused when the task is prepared (the first evaluation items are generated
twice and compared).

The gold. A problem's ``answer`` column says where the problem comes from and
what it is, as JSON: ``{"reasoning_gym": <generator>, "config": <settings>,
"seed", "size", "index", "entry": {"question", "answer", "metadata"}}``. The
verifier ``reasoning_gym`` rebuilds the generator from name, settings, seed and
size (once per split), regenerates item ``index`` (the generator's own record,
with its Python types: ARC's grids are tuples, which a JSON copy would turn
into lists and its scorer would then refuse), checks that its question is the
stored one, and calls ``score_answer(answer, item)`` on the content of the
answer tag. A gold without ``index`` is scored on its stored entry. The gold
is read with ``json`` only, never evaluated. A gold that is not such an
object is a *label* (the incorrect-label reward's wrong labels): an answer
matches it when their texts, spaces collapsed, are equal.
The verifier ``reasoning_gym`` (mirage.verifiers.reasoning_gym) scores answers.
"""
from __future__ import annotations

import json
import logging

import polars as pl

from mirage.core.schemas import PROBLEMS
from mirage.core.seeding import stable_seed
from mirage.generation.prompts import render_prompt
from mirage.tasks.checks import check_generator

log = logging.getLogger(__name__)

GOLD_KEY = "reasoning_gym"
REPRODUCIBILITY_CHECKS = 64  # evaluation items generated twice when a task is prepared


def generator_dataset(generator: str, settings: dict, size: int, seed: int):
    import reasoning_gym

    return reasoning_gym.create_dataset(generator, **{**settings, "size": size, "seed": seed})


def make_gold(generator: str, settings: dict, entry: dict, origin: dict | None = None) -> str:
    """The gold of ``entry``; ``origin`` (seed, size, index) says how to regenerate it."""
    record = {"question": entry["question"], "answer": entry["answer"], "metadata": entry.get("metadata") or {}}
    return json.dumps({GOLD_KEY: generator, "config": settings, **(origin or {}), "entry": record},
                      ensure_ascii=False, default=str)


def read_gold(gold: str) -> dict | None:
    """The gold's record, or None when ``gold`` is a label."""
    text = gold.strip()
    if not text.startswith("{") or f'"{GOLD_KEY}"' not in text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(record, dict) and isinstance(record.get(GOLD_KEY), str)
            and isinstance(record.get("config"), dict) and isinstance(record.get("entry"), dict)):
        return None
    return record


def split_seeds(task_seed: int, generator: str) -> dict[str, int]:
    return {split: stable_seed("reasoning_gym", generator, task_seed, split) % 2**31 for split in ("train", "eval")}


def generate(generator: str, settings: dict, n_train: int, n_eval: int, seed: int) -> dict[str, list[tuple[dict, dict]]]:
    """``n_eval`` evaluation entries and ``n_train`` training entries whose
    questions are not evaluation questions, each with its origin (seed, size,
    index: how to regenerate it)."""
    seeds = split_seeds(seed, generator)
    evaluation = [(e, {"seed": seeds["eval"], "size": n_eval, "index": i})
                  for i, e in enumerate(generator_dataset(generator, settings, n_eval, seeds["eval"]))]
    # graded in other processes, each problem is regenerated from (seed, index): a generator that
    # draws from anything but its seed (list_functions in 0.1.25) is refused here, not mid-run
    again = generator_dataset(generator, settings, n_eval, seeds["eval"])
    for i in range(min(n_eval, REPRODUCIBILITY_CHECKS)):
        if again[i]["question"] != evaluation[i][0]["question"]:
            raise ValueError(f"reasoning-gym generator {generator!r} is not reproducible from its seed (item {i} "
                             "came out differently twice); its problems could not be regenerated to grade them")
    held_out = {e["question"] for e, _ in evaluation}
    # a generator's item i depends on (seed, i) only: a larger size draws more of the same sequence
    budget = 4 * n_train + 100
    train, skipped = [], 0
    for i, entry in enumerate(generator_dataset(generator, settings, budget, seeds["train"])):
        if entry["question"] in held_out:
            skipped += 1
            continue
        train.append((entry, {"seed": seeds["train"], "size": budget, "index": i}))
        if len(train) == n_train:
            break
    if len(train) < n_train:
        raise ValueError(f"reasoning-gym generator {generator!r} with config {settings} gave {len(train)} training "
                         f"questions that are not evaluation questions in {budget} draws, fewer than n_train "
                         f"({n_train}); widen its settings or lower n_train")
    if skipped:
        log.info("%s: skipped %d training questions that are evaluation questions", generator, skipped)
    return {"train": train, "eval": evaluation}


def prepare_reasoning_gym_task(task: str, cfg: dict, prompt_template: str, study_seed: int) -> pl.DataFrame:
    generator, settings = cfg["generator"], dict(cfg.get("config", {}))
    check_generator(generator, settings)
    seed = cfg.get("seed", study_seed)
    splits = generate(generator, settings, cfg["n_train"], cfg["n_eval"], seed)
    rows = []
    for split, entries in splits.items():
        for i, (entry, origin) in enumerate(entries):
            rows.append({
                "problem_id": f"{task}-{generator}-{split}-{i:05d}",
                "task": task,
                "split": split,
                "prompt": render_prompt(prompt_template, entry["question"]),
                "answer": make_gold(generator, settings, entry, origin),
                "question": entry["question"],
                "family": generator,
                "benchmark": cfg.get("benchmark", generator),
                "verifier": cfg.get("verifier", "reasoning_gym"),
            })
    return PROBLEMS.check(PROBLEMS.frame(rows), f"task {task!r}").sort("split", "problem_id")
