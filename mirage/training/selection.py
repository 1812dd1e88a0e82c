"""Which problems a claim trains on, and with which labels, decided from the base
model's samples and the One-Shot reference run's reward history before any claim
trains: Spurious Rewards' incorrect labels (the base model's majority answer) and
One-Shot RLVR's example ranking. Tables only: no model is loaded here (the rules run in
the light analysis environment)."""

from __future__ import annotations

import logging
from collections import Counter

import numpy as np
import polars as pl

from mirage.core.schemas import CANDIDATE_RANKING, PROBLEMS, REWARD_HISTORY, WRONG_LABELS
from mirage.core.seeding import stable_seed
from mirage.core.settings import GRPOSettings
from mirage.verifiers.math_answers import last_boxed
from mirage.verifiers.registry import get_verifier

log = logging.getLogger(__name__)


def reference_seed(study_seed: int, model: str, task: str) -> int:
    """The seed of a cell's One-Shot reference run, which draws the run's candidate pool: the
    run (rule one_shot_reference) and the ranking of its candidates (select_examples) read the
    same pool through it."""
    return stable_seed(study_seed, "one-shot-reference", model, task)


def majority_answer(answers: list[str | None]) -> str | None:
    """TTRL's pseudo-label: the most frequent answer, ties to the one seen
    first (``Counter.most_common``). A missing answer (None) is a candidate
    like any other, as TTRL counts its empty extraction; if it wins, there is
    no label and every sample's reward is 0."""
    return Counter(answers).most_common(1)[0][0] if answers else None


def majority_labels(train_samples: pl.DataFrame, problems: pl.DataFrame, verifier_name: str,
                    votes: int, answers: str = "answer_tag") -> pl.DataFrame:
    """Spurious Rewards' incorrect labels: per training problem, the base
    model's majority answer over its first ``votes`` samples (ties: the answer
    seen first), and whether that majority is wrong. Only problems whose
    majority answer is a wrong answer are trained on by ``incorrect_label``.
    ``answers``: ``answer_tag``, each sample's extracted answer, a missing one a
    candidate like any other; ``spurious_rewards``, their rule: the last
    ``\\boxed{}`` of the completion (else the extracted answer), missing answers
    dropped before the majority is counted."""
    verifier = get_verifier(verifier_name)
    samples = train_samples.filter(pl.col("sample_idx") < votes).sort("problem_id", "sample_idx")
    by_problem: dict[str, list] = {}
    completions = samples["completion"] if answers == "spurious_rewards" else [None] * samples.height
    for pid, completion, answer in zip(samples["problem_id"], completions, samples["extracted_answer"]):
        boxed = last_boxed(completion) if completion is not None else None
        answer = boxed if boxed is not None else answer
        by_problem.setdefault(pid, []).append(verifier.canonical(answer) if answer is not None else None)
    rows = []
    for pid, gold in zip(problems["problem_id"], problems["answer"]):
        answers_of = by_problem.get(pid, [])
        if len(answers_of) < votes:
            raise ValueError(f"incorrect_label: problem {pid} has {len(answers_of)} base-model samples, "
                             f"fewer than votes ({votes})")
        counted = [a for a in answers_of if a is not None] if answers == "spurious_rewards" else answers_of
        label = majority_answer(counted)
        rows.append({"problem_id": pid, "wrong_label": label, "votes": votes,
                     "majority_count": counted.count(label),
                     "majority_wrong": label is not None and not verifier.equal(gold, label)})
    return WRONG_LABELS.frame(rows)


def candidate_pool(problem_ids: list[str], size: int, seed: int) -> list[str]:
    """The One-Shot reference run's candidates: ``size`` training problems
    drawn without replacement under ``seed``."""
    ids = sorted(problem_ids)
    if size > len(ids):
        raise ValueError(f"one_shot.candidates ({size}) exceeds the {len(ids)} training problems")
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(ids, size=size, replace=False).tolist())


def visit_accuracy(history: pl.DataFrame) -> pl.DataFrame:
    """Per problem and visit (a generation batch in which it was sampled): the
    share of its group's completions rewarded."""
    return history.group_by("problem_id", "step").agg(pl.col("reward").mean().alias("accuracy"))


def rank_candidates(history: pl.DataFrame, candidates: list[str], min_visits: int, seed: int) -> pl.DataFrame:
    """One-Shot RLVR's rule: rank the candidates by the standard deviation of
    their per-visit training accuracy in the reference run (population std,
    highest first; ties by problem id); only candidates visited at least
    ``min_visits`` times are ranked (``rank`` null otherwise). ``random_rank``
    orders the whole pool at random under ``seed``: ``one_shot_random`` trains on
    the first ``examples`` of that order. The first is the one drawn uniformly
    from the pool; the rest follow from the same generator."""
    # per problem, its visits' accuracies sorted, reduced by numpy and rounded: a
    # multithreaded group_by sums in an order of its own, and two candidates whose accuracies
    # are the same multiset must get the same std (a tie), not two that differ in the last bit
    visits = visit_accuracy(history.filter(pl.col("problem_id").is_in(candidates))).sort("problem_id", "step")
    rows = []
    for (pid,), group in visits.group_by("problem_id", maintain_order=True):
        acc = np.sort(group["accuracy"].to_numpy())
        rows.append({"problem_id": pid, "visits": len(acc), "mean_accuracy": round(float(acc.mean()), 12),
                     "accuracy_std": round(float(acc.std()), 12)})
    stats = pl.DataFrame(rows, schema={"problem_id": pl.String, "visits": pl.UInt32, "mean_accuracy": pl.Float64,
                                       "accuracy_std": pl.Float64})
    table = (
        pl.DataFrame({"problem_id": sorted(candidates)})
        .join(stats, on="problem_id", how="left")
        .with_columns(pl.col("visits").fill_null(0).cast(pl.Int64))
        .sort(["accuracy_std", "problem_id"], descending=[True, False], nulls_last=True)
    )
    eligible = table.filter(pl.col("visits") >= min_visits)["problem_id"].to_list()
    if not eligible:
        raise ValueError(f"example selection: no candidate was visited >= {min_visits} times in the reference run")
    rank = {pid: i + 1 for i, pid in enumerate(eligible)}
    pool = sorted(candidates)
    rng = np.random.default_rng(seed)
    first = pool.pop(int(rng.integers(len(pool))))
    random_rank = {pid: i + 1 for i, pid in enumerate([first, *rng.permutation(pool).tolist()])}
    # a rank the variance rule did not decide: another ranked candidate has the same std, and the
    # tie went by problem id (all of them where no accuracy varied: the rule had nothing to go on)
    stds = table.filter(pl.col("visits") >= min_visits)["accuracy_std"].to_list()
    tied = {pid: stds.count(std) > 1 for pid, std in zip(eligible, stds)}
    if all(std == 0 for std in stds):
        log.warning("example selection: no ranked candidate's accuracy varied in the reference run (all std 0): "
                    "the ranking is a tie, broken by problem id")
    return table.with_columns(pl.Series("rank", [rank.get(p) for p in table["problem_id"]], dtype=pl.Int64),
                              pl.Series("rank_tied", [tied.get(p) for p in table["problem_id"]], dtype=pl.Boolean),
                              pl.Series("random_rank", [random_rank[p] for p in table["problem_id"]],
                                        dtype=pl.Int64))


def reference_steps(grpo: GRPOSettings, one_shot: dict) -> int:
    """Rollout batches of the One-Shot reference run: the configured budget, or
    just enough for every candidate to be visited ``min_visits`` times (one
    epoch over the pool visits each candidate once)."""
    per_epoch = one_shot["candidates"] // grpo.prompts_per_generation
    return one_shot.get("steps") or per_epoch * one_shot["min_visits"]


def chosen_examples(ranking: pl.DataFrame, claim_name: str, few_shot_k: int | None = None,
                    example: int = 1) -> list[str]:
    """The problems a one/few-shot claim's run trains on: rank ``example``
    (``one_shot``; 1 = the top-ranked), ranks 1..k (``few_shot``, k =
    ``rl.claim_settings.few_shot.k``), the ``example``-th random pick
    (``one_shot_random``)."""
    if claim_name == "few_shot" and few_shot_k is None:
        raise ValueError("few_shot: no k given (rl.claim_settings.few_shot.k)")
    if claim_name == "one_shot_random":
        ids = ranking.filter(pl.col("random_rank") == example)["problem_id"].to_list()
        if not ids:
            raise ValueError(f"one_shot_random: example {example} of a pool of {ranking.height} candidates")
    elif claim_name == "few_shot":
        ids = ranking.filter(pl.col("rank") <= few_shot_k)["problem_id"].to_list()
        if len(ids) < few_shot_k:
            raise ValueError(f"few_shot: {len(ids)} candidates visited often enough to be ranked, {few_shot_k} needed")
    else:
        ids = ranking.filter(pl.col("rank") == example)["problem_id"].to_list()
        if not ids:
            ranked = ranking["rank"].count()
            raise ValueError(f"{claim_name}: example {example} asked for, {ranked} candidates visited often enough "
                             "to be ranked ('rl.claim_settings.one_shot.examples' at most that)")
    return sorted(ids)


def mark_chosen(ranking: pl.DataFrame, few_shot_k: int, examples: int = 1) -> pl.DataFrame:
    """``chosen``: the claims each candidate is chosen for (comma-joined; null if
    none); ``examples``: the one-shot claims' examples per cell."""
    names = {"one_shot": {p for e in range(1, examples + 1) for p in chosen_examples(ranking, "one_shot", example=e)},
             "few_shot": set(chosen_examples(ranking, "few_shot", few_shot_k)),
             "one_shot_random": {p for e in range(1, examples + 1)
                                 for p in chosen_examples(ranking, "one_shot_random", example=e)}}
    chosen = [",".join(c for c, ids in names.items() if pid in ids) or None for pid in ranking["problem_id"]]
    return ranking.with_columns(pl.Series("chosen", chosen, dtype=pl.String))


def rank_cell_candidates(history_path: str, problems_path: str, one_shot: dict, seed: int) -> pl.DataFrame:
    """``rank_candidates`` over the reference run of one cell (``seed``: that
    run's seed, which drew its candidate pool)."""
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == "train")
    pool = candidate_pool(problems["problem_id"].to_list(), one_shot["candidates"], stable_seed(seed, "one-shot-pool"))
    return rank_candidates(REWARD_HISTORY.read(history_path), pool, one_shot["min_visits"],
                           stable_seed(seed, "one-shot-random"))


def example_selection_table(cells: list[tuple[str, str]], paths: list[str], few_shot_k: int,
                            examples: int = 1) -> pl.DataFrame:
    """Every cell's ranking with the claims each candidate is chosen for."""
    frames = [mark_chosen(CANDIDATE_RANKING.read(path), few_shot_k, examples)
              .select(pl.lit(m).alias("model"), pl.lit(t).alias("task"), pl.all())
              for (m, t), path in zip(cells, paths)]
    return pl.concat(frames)
