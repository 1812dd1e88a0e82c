"""Semantics of every claim: each test fails when its claim's semantics break."""

import inspect

import polars as pl
import pytest
import torch

from mirage.claims import CLAIMS, get_claim
from mirage.rewards import (
    EntropyMinReward,
    FormatReward,
    GroundTruthReward,
    IncorrectLabelReward,
    MajorityVoteReward,
    RandomReward,
    make_reward,
)
from mirage.rl import select_by_polarity, select_examples, training_rows, wrong_labels

GOOD = "<think>S:1+2+0=3</think><answer>3</answer>"
WRONG = "<think>Q:1+2=4</think><answer>4</answer>"
BROKEN = "<answer>3</answer>"


def test_registry_covers_the_papers_claims():
    assert {"ground_truth", "random", "incorrect", "format", "majority_vote", "entropy_min",
            "one_shot", "few_shot", "nsr", "psr"} <= set(CLAIMS)
    assert get_claim("nsr").polarity == "negative" and get_claim("psr").polarity == "positive"
    assert get_claim("one_shot").needs_reference_history and get_claim("incorrect").needs_wrong_labels
    with pytest.raises(ValueError, match="unknown claim 'magic'"):
        get_claim("magic")


def test_ground_truth_is_format_times_correctness():
    r = GroundTruthReward()
    assert r(["p"] * 3, [GOOD, WRONG, BROKEN], answer=["3", "3", "3"]) == [1.0, 0.0, 0.0]
    # a newline inside the answer does not zero the reward (released code's missing DOTALL)
    assert r(["p"], ["<think>x</think><answer>\n3\n</answer>"], answer=["3"]) == [1.0]


def test_random_reward_ignores_the_completion_and_repeats_under_the_seed():
    def draws(seed, completions):
        r = RandomReward(seed=seed, p=0.5)
        return r(["p"] * 64, completions) + r(["p"] * 64, completions)

    a = draws(3, [GOOD] * 64)
    assert a == draws(3, [WRONG] * 64) == draws(3, [BROKEN] * 64)  # independent of the completion
    assert a != draws(4, [GOOD] * 64)  # but not of the seed
    assert 0.3 < sum(a) / len(a) < 0.7
    assert sum(RandomReward(seed=3, p=0.1)(["p"] * 1000, [GOOD] * 1000)) < 200


def test_incorrect_reward_pays_only_the_fixed_wrong_label():
    r = IncorrectLabelReward()
    out = r(["p"] * 3, [GOOD, WRONG, "<think></think><answer>5</answer>"], answer=["3"] * 3, wrong_label=["4"] * 3)
    assert out == [0.0, 1.0, 0.0]


def test_format_reward_ignores_the_answer():
    assert FormatReward()(["p"] * 3, [GOOD, WRONG, BROKEN]) == [1.0, 1.0, 0.0]


def test_majority_vote_never_touches_the_gold_answer():
    assert "answer" not in inspect.signature(MajorityVoteReward.score).parameters
    r = MajorityVoteReward(num_generations=4)
    group1 = [WRONG, WRONG, GOOD, BROKEN]  # majority 4 (wrong!) is rewarded
    group2 = [GOOD, GOOD, GOOD, WRONG]
    # passing a gold answer changes nothing
    with_gold = r(["p"] * 8, group1 + group2, answer=["3"] * 8)
    without = r(["p"] * 8, group1 + group2)
    assert with_gold == without == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]


class TinyLM(torch.nn.Module):
    """A bigram model: enough to check log-probabilities by hand."""

    def __init__(self, vocab=7):
        super().__init__()
        torch.manual_seed(0)
        self.table = torch.nn.Parameter(torch.randn(vocab, vocab))

    def forward(self, input_ids, attention_mask=None):
        return type("Out", (), {"logits": self.table[input_ids]})()


class TinyTokenizer:
    pad_token_id = 0

    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [int(ch) for ch in text]}


def test_entropy_reward_equals_an_independent_log_probability():
    model = TinyLM()
    r = EntropyMinReward(temperature=0.5)
    r.bind(model, TinyTokenizer())
    prompts, completions = ["12", "3"], [[4, 5, 6], [1]]
    got = r(prompts, ["x", "y"], completion_ids=completions)
    for prompt, comp, value in zip(prompts, completions, got):
        seq = [int(c) for c in prompt] + comp
        logps = []
        for pos in range(len(prompt), len(seq)):
            logits = model.table[seq[pos - 1]] / 0.5
            logps.append(torch.log_softmax(logits, -1)[seq[pos]].item())
        assert value == pytest.approx(sum(logps) / len(logps), abs=1e-5)


def test_polarity_masks():
    adv = torch.tensor([1.0, -1.0, 0.5, -0.5])
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert select_by_polarity(adv, rewards, "negative").tolist() == [0.0, -1.0, 0.0, -0.5]  # NSR: correct samples zeroed
    assert select_by_polarity(adv, rewards, "positive").tolist() == [1.0, 0.0, 0.5, 0.0]
    assert select_by_polarity(adv, rewards, "both").tolist() == adv.tolist()


def _problems(n=10):
    return pl.DataFrame({
        "problem_id": [f"p{i}" for i in range(n)], "prompt": [f"q{i}" for i in range(n)], "answer": [str(i) for i in range(n)],
    })


def test_one_shot_batches_hold_only_the_chosen_example():
    # p3's accuracy swings between steps; the others are flat
    history = pl.DataFrame({
        "step": [0, 0, 2, 2, 0, 2, 4, 4],
        "problem_id": ["p3", "p3", "p3", "p3", "p1", "p1", "p3", "p3"],
        "reward": [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0],
    })
    rows = training_rows(_problems(), get_claim("one_shot"), {}, seed=0, min_rows=32, history=history)
    assert len(rows) >= 32 and {r["problem_id"] for r in rows} == {"p3"}
    few = training_rows(_problems(), get_claim("few_shot"), {"k": 2}, seed=0, min_rows=32, history=history)
    assert {r["problem_id"] for r in few} == {"p3", "p1"}
    rand = [training_rows(_problems(), get_claim("one_shot_random"), {}, seed=s, min_rows=8) for s in (0, 0, 1, 2, 3)]
    assert rand[0] == rand[1]  # seeded
    assert len({r[0]["problem_id"] for r in rand}) > 1
    assert all(len({x["problem_id"] for x in r}) == 1 for r in rand)


def test_variance_selection_needs_a_history():
    with pytest.raises(ValueError, match="history"):
        select_examples(_problems(), 1, "variance", seed=0, history=None)


def test_wrong_labels_are_the_most_frequent_wrong_answer_with_a_fallback():
    samples = pl.DataFrame({
        "problem_id": ["p0"] * 5 + ["p1"] * 2,
        "extracted_answer": ["7", "07", "8", "0", None, "1", "1"],
        "correct": [False, False, False, True, False, True, True],
    })
    labels = wrong_labels(samples, _problems(2), "integer")
    assert labels.rows() == [("p0", "7", True), ("p1", "2", False)]


def test_default_grpo_config_is_off_policy(tmp_path):
    """Two optimizer steps per generation batch with no gradient accumulation:
    TRL would silently train on-policy if the two were equal."""
    import yaml

    from conftest import REPO
    from mirage.checkpoints import CheckpointDir
    from mirage.rl import grpo_config

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    rl = config["rl"]["grpo"]
    args = grpo_config(rl, CheckpointDir(tmp_path, config["checkpoints"]["rl_every"]), seed=1, use_cpu=True)
    assert args.steps_per_generation == 2 and args.gradient_accumulation_steps == 1
    assert args.generation_batch_size == rl["prompts_per_generation"] * rl["num_generations"]
    assert args.beta == 0.0 and args.epsilon == 0.2 and args.epsilon_high == 0.28
    assert args.loss_type == "dapo" and not args.bf16 and args.use_cpu
    assert args.save_strategy == "steps" and args.save_steps == 10 and args.output_dir == str(tmp_path)
    with pytest.raises(ValueError, match="rl_every must be a multiple of rl.grpo.steps_per_generation"):
        grpo_config(rl, CheckpointDir(tmp_path, 3), seed=1, use_cpu=True)
