"""Semantics of every claim: each test fails when its claim's semantics break."""

import inspect

import numpy as np
import polars as pl
import pytest
import torch

from mirage.training.claims import CLAIMS, get_claim, parse_run, run_names
from mirage.training.rewards import (
    FormatReleasedReward,
    FormatReward,
    GroundTruthReward,
    IncorrectLabelReward,
    IncorrectReward,
    MajorityVoteReward,
    RandomReleasedReward,
    RandomReward,
    RandomUngatedReward,
)
from mirage.training.selection import candidate_pool, chosen_examples, majority_labels, mark_chosen, rank_candidates
from mirage.training.trainer import select_by_polarity, training_rows

GOOD = "<think>S:1+2+0=3</think><answer>3</answer>"
WRONG = "<think>Q:1+2=4</think><answer>4</answer>"
BROKEN = "<answer>3</answer>"


def test_registry_covers_the_papers_claims():
    assert {"ground_truth", "random", "random_ungated", "incorrect", "incorrect_label", "format", "majority_vote",
            "entropy_min", "one_shot", "one_shot_random", "few_shot", "nsr", "psr"} <= set(CLAIMS)
    assert get_claim("nsr").polarity == "negative" and get_claim("psr").polarity == "positive"
    assert get_claim("incorrect_label").needs_wrong_labels and not get_claim("incorrect").needs_wrong_labels
    assert all(get_claim(c).needs_example_selection for c in ("one_shot", "one_shot_random", "few_shot"))
    assert not get_claim("ground_truth").needs_example_selection
    with pytest.raises(ValueError, match="unknown claim 'magic'"):
        get_claim("magic")


def test_ground_truth_is_format_times_correctness():
    r = GroundTruthReward()
    assert r(["p"] * 3, [GOOD, WRONG, BROKEN], answer=["3", "3", "3"]) == [1.0, 0.0, 0.0]
    # a newline inside the answer does not zero the reward (released code's missing DOTALL)
    assert r(["p"], ["<think>x</think><answer>\n3\n</answer>"], answer=["3"]) == [1.0]


def _random(cls, seed, completions, p=0.5):
    r = cls(seed=seed, p=p)
    return r(["p"] * len(completions), completions) + r(["p"] * len(completions), completions)


def test_released_random_reward_is_bernoulli_gated_by_the_format():
    a = _random(RandomReward, 3, [GOOD] * 64)
    assert a == _random(RandomReward, 3, [WRONG] * 64)  # independent of the answer
    assert a != _random(RandomReward, 4, [GOOD] * 64)  # but not of the seed
    assert 0.3 < sum(a) / len(a) < 0.7
    assert _random(RandomReward, 3, [BROKEN] * 64) == [0.0] * 128  # never paid without the format
    mixed = _random(RandomReward, 3, [GOOD, BROKEN] * 32)
    assert mixed == [x if i % 2 == 0 else 0.0 for i, x in enumerate(a)]  # the same draws, gated
    assert sum(RandomReward(seed=3, p=0.1)(["p"] * 1000, [GOOD] * 1000)) < 200


def test_ungated_random_reward_ignores_the_completion_entirely():
    a = _random(RandomUngatedReward, 3, [GOOD] * 64)
    assert a == _random(RandomUngatedReward, 3, [BROKEN] * 64) == _random(RandomReward, 3, [GOOD] * 64)
    assert sum(_random(RandomUngatedReward, 3, [BROKEN] * 64)) > 30


def test_inverted_incorrect_reward_pays_exactly_the_well_formed_wrong_answers():
    r = IncorrectReward()
    completions = [GOOD, WRONG, BROKEN, "<answer>4</answer>", "<think></think><answer></answer>"]
    assert r(["p"] * 5, completions, answer=["3"] * 5) == [0.0, 1.0, 0.0, 0.0, 1.0]
    # never the ground-truth reward (the released math file's second definition)
    gt = GroundTruthReward()(["p"] * 5, completions, answer=["3"] * 5)
    assert all(not (x and y) for x, y in zip(r(["p"] * 5, completions, answer=["3"] * 5), gt))


def test_incorrect_label_reward_pays_only_the_label():
    r = IncorrectLabelReward()
    out = r(["p"] * 3, [GOOD, WRONG, "<think></think><answer>5</answer>"], answer=["3"] * 3, wrong_label=["4"] * 3)
    assert out == [0.0, 1.0, 0.0]


def test_incorrect_label_trains_only_where_the_base_majority_is_wrong():
    # p0: majority "7" (wrong) over the first 4 votes (the 5th sample is not a vote);
    # p1: majority "1" (right); p2: no answer wins
    samples = pl.DataFrame({
        "problem_id": ["p0"] * 5 + ["p1"] * 4 + ["p2"] * 4,
        "sample_idx": [0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 3],
        "extracted_answer": ["7", "07", "0", "8", "0", "1", "1", "5", "6", None, None, "3", None],
    })
    labels = majority_labels(samples, _problems(3), "integer", votes=4)
    assert labels.select("problem_id", "wrong_label", "majority_count", "majority_wrong").rows() == [
        ("p0", "7", 2, True), ("p1", "1", 2, False), ("p2", None, 3, False)]
    rows = training_rows(_problems(3), get_claim("incorrect_label"), min_rows=1, labels=labels)
    assert [(r["problem_id"], r["wrong_label"]) for r in rows] == [("p0", "7")]
    with pytest.raises(ValueError, match="fewer than votes"):
        majority_labels(samples, _problems(3), "integer", votes=5)


def test_incorrect_label_with_spurious_rewards_answers():
    """answers: spurious_rewards (paper config): votes read the last \\boxed{} (else the tag), missing
    answers are dropped before the majority; the reward needs no format, only the label's answer."""
    samples = pl.DataFrame({
        "problem_id": ["p0"] * 4, "sample_idx": [0, 1, 2, 3],
        "completion": ["no tags, \\boxed{7}", "nothing", "nothing", "<think>x</think><answer>8</answer>"],
        "extracted_answer": [None, None, None, "8"],
    })
    tagged = majority_labels(samples, _problems(1), "integer", votes=4)
    theirs = majority_labels(samples, _problems(1), "integer", votes=4, answers="spurious_rewards")
    assert tagged["wrong_label"].to_list() == [None]  # "no answer" wins
    assert theirs.select("wrong_label", "majority_count").rows() == [("7", 1)]  # 7 seen first among 7, 8
    r = IncorrectLabelReward(answers="spurious_rewards")
    out = r(["p"] * 3, ["\\boxed{7}", "<think>x</think><answer>7</answer>", WRONG], answer=["3"] * 3,
            wrong_label=["7"] * 3)
    assert out == [1.0, 1.0, 0.0]
    assert IncorrectLabelReward()(["p"], ["\\boxed{7}"], answer=["3"], wrong_label=["7"]) == [0.0]  # gated


def test_format_reward_ignores_the_answer():
    assert FormatReward()(["p"] * 3, [GOOD, WRONG, BROKEN]) == [1.0, 1.0, 0.0]


def test_majority_vote_with_ttrls_extraction_reads_boxed_answers_and_rewards_equivalents():
    """extraction: ttrl (the paper config): a vote is the last \\boxed{} anywhere (else the answer
    tag), and a completion is rewarded iff the math verifier finds it equivalent to the majority;
    with the answer-tag rule the untagged completions have no vote and 'no answer' wins."""
    group = ["<think>so</think> the answer is \\boxed{\\frac{1}{2}}", "thinking... \\boxed{0.5}",
             "<think>x</think><answer>1/2</answer>", "<think>x</think><answer>3</answer>",
             "no answer at all", "still nothing", "nothing", "<think>x</think><answer>\\boxed{2/4}</answer>"]
    ttrl = MajorityVoteReward(verifier="math", num_generations=8, votes=8, extraction="ttrl")
    assert ttrl(["p"] * 8, group) == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    tags = MajorityVoteReward(verifier="math", num_generations=8, votes=8)
    assert tags(["p"] * 8, group) == [0.0] * 8  # three missing answers out-vote the rest
    with pytest.raises(ValueError, match="extraction"):
        MajorityVoteReward(verifier="math", num_generations=8, votes=8, extraction="first")


MULTILINE_REASONING = "<think>step one\nstep two</think>\n<answer>3</answer>"
MULTILINE_ANSWER = "<think>x</think> <answer>\n3\n</answer>\n"


def test_released_format_variants_fail_any_newline_inside_the_tags():
    """format_released and random_released apply the released regex exactly (no DOTALL): a newline
    inside <think> or <answer> fails them, around the tags it does not; format and random do not
    copy that defect."""
    completions = [GOOD, MULTILINE_REASONING, MULTILINE_ANSWER, BROKEN]
    assert FormatReward()(["p"] * 4, completions) == [1.0, 1.0, 1.0, 0.0]
    assert FormatReleasedReward()(["p"] * 4, completions) == [1.0, 0.0, 0.0, 0.0]
    assert FormatReleasedReward()(["p"], ["\n<think>a b</think>\n\n<answer>3</answer>\n"]) == [1.0]
    draws = _random(RandomReward, 3, [GOOD] * 64)
    assert _random(RandomReleasedReward, 3, [GOOD] * 64) == draws  # the same draws under the same seed
    assert _random(RandomReleasedReward, 3, [MULTILINE_REASONING] * 64) == [0.0] * 128
    assert _random(RandomReward, 3, [MULTILINE_REASONING] * 64) == draws
    assert get_claim("format_released").reward == "format_released" and not get_claim("format_released").paper


def test_majority_vote_never_touches_the_gold_answer():
    assert "answer" not in inspect.signature(MajorityVoteReward.score).parameters
    r = MajorityVoteReward(num_generations=4, votes=4)
    group1 = [WRONG, WRONG, GOOD, BROKEN]  # majority 4 (wrong!) is rewarded
    group2 = [GOOD, GOOD, GOOD, WRONG]
    # passing a gold answer changes nothing
    with_gold = r(["p"] * 8, group1 + group2, answer=["3"] * 8)
    without = r(["p"] * 8, group1 + group2)
    assert with_gold == without == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]


def test_majority_is_taken_over_all_votes_of_the_policy():
    """votes = 8 for groups of 4: four more samples per prompt from the policy
    (the trainer's sampler) join the count; the trained group is counted first."""
    asked = []

    def sampler(prompts, n):
        asked.append((list(prompts), n))
        extra = {"a": [GOOD] * 4, "b": [BROKEN, "<think></think><answer>9</answer>", "x", "y"]}
        return [c for p in prompts for c in extra[p]]

    r = MajorityVoteReward(num_generations=4, votes=8)
    r.bind_vote_sampler(sampler)
    group_a = [WRONG, WRONG, WRONG, GOOD]  # 3 x "4" in the group, but 5 x "3" over all 8 votes
    group_b = [WRONG, "<think></think><answer>9</answer>", "<answer>9</answer>", "z"]  # tie 4/9 inside the group
    out = r(["a"] * 4 + ["b"] * 4, group_a + group_b)
    assert asked == [(["a", "b"], 4)]
    # a: label 3; b: 9 appears 3 times (an ill-formed <answer>9</answer> counts: TTRL has no format part),
    # missing answers 3 times: 9 wins, seen before the missing answers
    assert out == [0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0]


def test_majority_vote_without_an_answer_as_the_winner_rewards_nothing():
    r = MajorityVoteReward(num_generations=4, votes=4)
    assert r(["p"] * 4, ["x", "y", WRONG, "z"]) == [0.0] * 4
    with pytest.raises(ValueError, match="at least num_generations"):
        MajorityVoteReward(num_generations=4, votes=2)
    with pytest.raises(RuntimeError, match="bind_vote_sampler"):
        MajorityVoteReward(num_generations=4, votes=8)(["p"] * 4, [GOOD] * 4)


def test_polarity_masks():
    adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert select_by_polarity(adv, rewards, "negative").tolist() == [0.0, -1.0, 0.0, -0.5]  # NSR: correct samples zeroed
    assert select_by_polarity(adv, rewards, "positive").tolist() == [1.0, 0.0, 0.5, 0.0]
    assert select_by_polarity(adv, rewards, "both").tolist() == adv.tolist()
    # RLVR-Decomposed: r - 1 / r on the kept samples, whatever the group-normalised advantage
    assert select_by_polarity(adv, rewards, "negative_raw").tolist() == [0.0, -1.0, 0.0, -1.0]
    assert select_by_polarity(adv, rewards, "positive_raw").tolist() == [1.0, 0.0, 1.0, 0.0]
    all_wrong = torch.zeros(4)  # group-normalised advantages are 0 here; the raw NSR still pushes down
    assert select_by_polarity(torch.zeros(4), all_wrong, "negative").tolist() == [0.0] * 4
    assert select_by_polarity(torch.zeros(4), all_wrong, "negative_raw").tolist() == [-1.0] * 4


def _problems(n=10):
    return pl.DataFrame({
        "problem_id": [f"p{i}" for i in range(n)], "prompt": [f"q{i}" for i in range(n)], "answer": [str(i) for i in range(n)],
    })


def _history():
    """Per-visit group accuracy of each candidate over 8 visits (4 samples a
    visit): p0 (the smallest id) is flat, p3 swings most, p5 swings less, p7
    swings most of all but was visited only 3 times."""
    visits = {"p0": [0.5] * 8, "p1": [1.0] * 8, "p3": [0, 1, 0, 1, 0, 1, 0, 1], "p5": [0.25, 0.75] * 4,
              "p7": [0, 1, 0]}
    rows = []
    for pid, accs in visits.items():
        for v, acc in enumerate(accs):
            hits = round(acc * 4)
            rows += [{"step": 2 * v, "problem_id": pid, "reward": float(i < hits)} for i in range(4)]
    return pl.DataFrame(rows)


def test_variance_rule_picks_the_highest_variance_candidate_visited_often_enough():
    pool = ["p0", "p1", "p3", "p5", "p7"]
    ranking = rank_candidates(_history(), pool, min_visits=8, seed=0)
    by_id = {r["problem_id"]: r for r in ranking.to_dicts()}
    assert by_id["p3"]["rank"] == 1 and by_id["p3"]["accuracy_std"] == pytest.approx(0.5)
    assert by_id["p3"]["visits"] == 8 and by_id["p3"]["mean_accuracy"] == pytest.approx(0.5)
    assert by_id["p5"]["rank"] == 2 and by_id["p0"]["accuracy_std"] == 0.0
    assert by_id["p7"]["rank"] is None and by_id["p7"]["visits"] == 3  # too few visits: never ranked
    # distinct stds decide ranks 1 and 2; p0 and p1 never varied (std 0): their order is a tie
    assert [by_id[p]["rank_tied"] for p in ("p3", "p5", "p0", "p1", "p7")] == [False, False, True, True, None]
    assert chosen_examples(ranking, "one_shot") == ["p3"] != ["p0"]  # not the smallest id
    assert chosen_examples(ranking, "few_shot", 2) == ["p3", "p5"]
    chosen = {r["problem_id"]: r["chosen"] for r in mark_chosen(ranking, 2).to_dicts()}
    assert chosen["p3"].split(",")[:2] == ["one_shot", "few_shot"] and chosen["p5"].startswith("few_shot")
    assert not {"one_shot", "few_shot"} & set((chosen["p7"] or "").split(","))
    with pytest.raises(ValueError, match="4 candidates visited often enough to be ranked, 5 needed"):
        chosen_examples(ranking, "few_shot", 5)
    with pytest.raises(ValueError, match="no candidate was visited >= 9 times"):
        rank_candidates(_history(), pool, min_visits=9, seed=0)


def test_random_example_is_drawn_from_the_same_pool_under_the_seed():
    pool = candidate_pool([f"p{i}" for i in range(100)], 8, seed=5)
    assert pool == candidate_pool([f"p{i}" for i in range(100)], 8, seed=5) and len(set(pool)) == 8
    history = pl.DataFrame([{"step": 2 * v, "problem_id": p, "reward": float((v + i) % 2)}
                            for p in pool for v in range(4) for i in range(2)])
    picks = {s: chosen_examples(rank_candidates(history, pool, 4, seed=s), "one_shot_random") for s in range(20)}
    assert all(len(p) == 1 and p[0] in pool for p in picks.values()) and len({p[0] for p in picks.values()}) > 1
    assert picks[3] == chosen_examples(rank_candidates(history, pool, 4, seed=3), "one_shot_random")


def test_several_examples_a_cell_are_distinct_and_in_rank_order():
    ranking = rank_candidates(_history(), ["p0", "p1", "p3", "p5", "p7"], min_visits=8, seed=0)
    assert [chosen_examples(ranking, "one_shot", example=e) for e in (1, 2)] == [["p3"], ["p5"]]
    # the random order: a permutation of the pool, its first pick the single draw of before
    order = ranking.sort("random_rank")["problem_id"].to_list()
    assert sorted(order) == ["p0", "p1", "p3", "p5", "p7"] and ranking["random_rank"].sort().to_list() == [1, 2, 3, 4, 5]
    pool = sorted(["p0", "p1", "p3", "p5", "p7"])
    assert order[0] == pool[int(np.random.default_rng(0).integers(len(pool)))]
    randoms = [chosen_examples(ranking, "one_shot_random", example=e)[0] for e in (1, 2, 3)]
    assert randoms == order[:3]
    chosen = {r["problem_id"]: (r["chosen"] or "").split(",") for r in mark_chosen(ranking, 1, examples=2).to_dicts()}
    assert [p for p, c in chosen.items() if "one_shot" in c] == ["p3", "p5"]
    assert sorted(p for p, c in chosen.items() if "one_shot_random" in c) == sorted(order[:2])
    # p7 was visited 3 times: 4 candidates are ranked, a fifth example does not exist
    with pytest.raises(ValueError, match="example 5 asked for, 4 candidates visited often enough"):
        chosen_examples(ranking, "one_shot", example=5)
    rows = training_rows(_problems(), get_claim("one_shot"), min_rows=32, selection=ranking, example=2)
    assert {r["problem_id"] for r in rows} == {"p5"}


def test_one_shot_runs_are_named_by_seed_and_example():
    assert run_names("one_shot", [1, 2], examples=1) == ["1", "2"]
    assert run_names("one_shot_random", [1, 2], examples=2) == ["1-example1", "1-example2", "2-example1", "2-example2"]
    assert run_names("ground_truth", [1, 2], examples=3) == run_names("few_shot", [1, 2], examples=3) == ["1", "2"]
    assert parse_run("one_shot", "2-example3") == (2, 3) and parse_run("one_shot", "2") == (2, 1)
    assert parse_run("nsr", 7) == (7, None)
    for claim, run in (("nsr", "1-example2"), ("one_shot", "1-example"), ("one_shot", "x")):
        with pytest.raises(ValueError, match=f"run {run!r}"):
            parse_run(claim, run)


def test_one_shot_batches_hold_only_the_chosen_example():
    ranking = rank_candidates(_history(), ["p0", "p1", "p3", "p5", "p7"], min_visits=8, seed=0)
    rows = training_rows(_problems(), get_claim("one_shot"), min_rows=32, selection=ranking)
    assert len(rows) >= 32 and {r["problem_id"] for r in rows} == {"p3"}
    few = training_rows(_problems(), get_claim("few_shot"), min_rows=32, selection=ranking, few_shot_k=2)
    assert {r["problem_id"] for r in few} == {"p3", "p5"}


def test_default_grpo_config_is_off_policy(tmp_path):
    """Two optimizer steps per generation batch with no gradient accumulation:
    TRL would silently train on-policy if the two were equal."""
    import yaml
    from conftest import REPO

    from mirage.core.checkpoints import CheckpointDir
    from mirage.core.settings import GRPOSettings
    from mirage.training.trainer import grpo_config

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    rl = config["rl"]["grpo"]
    args = grpo_config(GRPOSettings.from_dict(rl), CheckpointDir(tmp_path, config["checkpoints"]["rl_every"]), seed=1,
                       use_cpu=True)
    assert args.steps_per_generation == 2 and args.gradient_accumulation_steps == 1
    assert args.generation_batch_size == rl["prompts_per_generation"] * rl["num_generations"]
    assert args.beta == 0.0 and args.epsilon == 0.2 and args.epsilon_high == 0.28
    assert args.loss_type == "dapo" and not args.bf16 and args.use_cpu
    # steps, warm-up and checkpoints count rollout batches (verl's steps); TRL counts optimizer steps
    assert args.max_steps == 2 * rl["steps"] and args.warmup_steps == 2 * rl["warmup_steps"]
    assert args.save_strategy == "steps" and args.save_steps == 2 * config["checkpoints"]["rl_every"]
    assert args.output_dir == str(tmp_path)
    assert args.vllm_importance_sampling_correction is False  # verl as released has none
    # TRL defaults that equal the released run's, stated explicitly
    assert (args.top_k, args.min_p, args.repetition_penalty) == (0, None, 1.0)
    assert args.importance_sampling_level == "token" and args.top_entropy_quantile == 1.0
    assert args.entropy_coef == 0.0 and args.shuffle_dataset and not args.cast_lm_head_to_fp32


def test_candidates_whose_accuracies_are_the_same_multiset_tie_exactly():
    # per-visit accuracies 0.25, 0.5, 0.75, 1.0 (groups of 4) in two visit orders: the same std to
    # the last bit whatever order a sum runs in, so the rank between them is a tie (by problem id)
    order = {"pa": [1, 2, 3, 4, 1, 2, 3, 4], "pb": [4, 3, 2, 1, 4, 1, 3, 2], "pc": [0, 4, 0, 4, 0, 4, 0, 4]}
    history = pl.DataFrame([{"step": 2 * v, "problem_id": p, "reward": float(i < hits)}
                            for p, seq in order.items() for v, hits in enumerate(seq) for i in range(4)])
    ranking = rank_candidates(history, list(order), min_visits=8, seed=0)
    by_id = {r["problem_id"]: r for r in ranking.to_dicts()}
    assert by_id["pa"]["accuracy_std"] == by_id["pb"]["accuracy_std"] < by_id["pc"]["accuracy_std"]
    assert (by_id["pc"]["rank"], by_id["pa"]["rank"], by_id["pb"]["rank"]) == (1, 2, 3)
    assert (by_id["pc"]["rank_tied"], by_id["pa"]["rank_tied"], by_id["pb"]["rank_tied"]) == (False, True, True)
