"""Reward functions of the claims, in TRL's reward-function signature:
``f(prompts, completions, completion_ids, **dataset_columns) -> list[float]``.

TRL hands a reward function the whole generation batch, each prompt's
``num_generations`` completions adjacent.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from mirage.seeding import stable_seed
from mirage.verify import get_verifier


class RewardRecorder:
    """Keeps (step, problem_id, reward) of every scored completion, so that a
    run's training history can choose the one-shot example later."""

    def __init__(self):
        self.rows: list[dict] = []

    def record(self, step: int, problem_ids: list[str], rewards: list[float]) -> None:
        self.rows.extend({"step": step, "problem_id": p, "reward": float(r)} for p, r in zip(problem_ids, rewards))

    # a resumed run continues the history of the killed one (see mirage.checkpoints)
    def state_dict(self) -> dict:
        return {"rows": self.rows}

    def load_state_dict(self, state: dict) -> None:
        self.rows = list(state["rows"])


class Reward:
    """Base class: subclasses implement :meth:`score`."""

    name = "reward"

    def __init__(self, verifier: str = "integer", seed: int = 0, recorder: RewardRecorder | None = None,
                 num_generations: int = 8, temperature: float = 1.0, **settings):
        self.verifier = get_verifier(verifier)
        self.seed = seed
        self.recorder = recorder
        self.group_size = num_generations
        self.temperature = temperature
        self.settings = settings
        self.__name__ = self.name  # TRL names the logged metric after the function

    def __call__(self, prompts, completions, completion_ids=None, **kwargs) -> list[float]:
        rewards = [float(r) for r in self.score(prompts, completions, completion_ids, **kwargs)]
        if self.recorder is not None:
            state = kwargs.get("trainer_state")
            self.recorder.record(state.global_step if state else 0, kwargs.get("problem_id", [""] * len(rewards)), rewards)
        return rewards

    def score(self, prompts, completions, completion_ids, **kwargs):
        raise NotImplementedError

    # what a checkpoint must carry for a resumed run to score as the uninterrupted one
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


class GroundTruthReward(Reward):
    """Format x correctness, with the released code's defects fixed: the format
    check spans newlines, and answers are compared by the task's verifier, not
    as raw strings."""

    name = "ground_truth"
    label_column = "answer"  # the dataset column graded against

    def score(self, prompts, completions, completion_ids, **kwargs):
        grades = (self.verifier.grade(c, label) for c, label in zip(completions, kwargs[self.label_column]))
        return [float(g.well_formed and g.correct) for g in grades]


class RandomReward(Reward):
    """Bernoulli(p), independent of the completion; the same draws under the same seed."""

    name = "random"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.p = float(self.settings.get("p", 0.5))
        self.rng = np.random.default_rng(stable_seed(self.seed, "random-reward"))

    def score(self, prompts, completions, completion_ids, **kwargs):
        return (self.rng.random(len(completions)) < self.p).astype(float).tolist()

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


class IncorrectLabelReward(GroundTruthReward):
    """The ground-truth reward graded against the problem's fixed wrong label
    (Spurious Rewards) instead of the gold answer."""

    name = "incorrect"
    label_column = "wrong_label"


class FormatReward(Reward):
    name = "format"

    def score(self, prompts, completions, completion_ids, **kwargs):
        return [float(self.verifier.grade(c, "").well_formed) for c in completions]


def majority_answers(answers: list[str | None], group_size: int) -> list[str | None]:
    """The most frequent non-empty answer of each group of ``group_size`` adjacent
    answers (ties broken by first appearance), repeated for each member."""
    out = []
    for start in range(0, len(answers), group_size):
        group = [a for a in answers[start:start + group_size] if a is not None]
        winner = Counter(group).most_common(1)[0][0] if group else None
        out.extend([winner] * len(answers[start:start + group_size]))
    return out


class MajorityVoteReward(Reward):
    """TTRL: the pseudo-label of a group is its majority answer. Deliberately
    takes no ``answer`` argument: it cannot read the gold answer."""

    name = "majority_vote"

    def score(self, prompts, completions, completion_ids, **kwargs):
        grades = [self.verifier.grade(c, "") for c in completions]
        answers = [g.extracted_answer if g.well_formed else None for g in grades]
        canon = [self.verifier.canonical(a) if a is not None else None for a in answers]
        majority = majority_answers(canon, self.group_size)
        return [float(a is not None and a == m) for a, m in zip(canon, majority)]


class EntropyMinReward(Reward):
    """Mean token log-probability of the completion under the policy that
    sampled it (the weights at scoring time are the sampling weights). Computed
    here, before the optimizer moves: the released code read log-probs that
    were computed only after the reward step."""

    name = "entropy_min"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.model = None
        self.tokenizer = None

    def bind(self, model, tokenizer) -> None:
        self.model, self.tokenizer = model, tokenizer

    def score(self, prompts, completions, completion_ids, **kwargs):
        if self.model is None:
            raise RuntimeError("EntropyMinReward needs bind(model, tokenizer) before training")
        prompt_ids = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        return mean_completion_logprobs(self.model, prompt_ids, completion_ids, self.temperature,
                                        self.tokenizer.pad_token_id)


def mean_completion_logprobs(model, prompt_ids, completion_ids, temperature, pad_id) -> list[float]:
    """Mean over completion tokens of log p(token | prefix), with logits divided
    by the sampling temperature; one forward pass over the right-padded batch."""
    import torch

    seqs = [list(p) + list(c) for p, c in zip(prompt_ids, completion_ids)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    attn = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        attn[i, : len(s)] = 1
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=attn.to(device)).logits.float() / temperature
    model.train(was_training)
    logps = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
    out = []
    for i, (p, c) in enumerate(zip(prompt_ids, completion_ids)):
        if len(c) == 0:
            out.append(0.0)
            continue
        start = len(p) - 1  # logps[j] scores token j + 1
        out.append(float(logps[i, start:start + len(c)].mean()))
    return out


REWARD_CLASSES = {
    cls.name: cls
    for cls in (GroundTruthReward, RandomReward, IncorrectLabelReward, FormatReward, MajorityVoteReward, EntropyMinReward)
}


def make_reward(name: str, **kwargs) -> Reward:
    try:
        cls = REWARD_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; known: {sorted(REWARD_CLASSES)}") from None
    return cls(**kwargs)
