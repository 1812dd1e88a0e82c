"""Reward functions of the claims, in TRL's reward-function signature:
``f(prompts, completions, completion_ids, **dataset_columns) -> list[float]``.

TRL hands a reward function the whole generation batch, each prompt's
``num_generations`` completions adjacent.
"""

from __future__ import annotations

import numpy as np

from mirage.core.registry import Registry
from mirage.core.seeding import stable_seed
from mirage.training.logprobs import ScoringLayout, completion_mean_logprobs
from mirage.training.selection import majority_answer
from mirage.verifiers.base import is_well_formed_released
from mirage.verifiers.math_answers import boxed_or_tag_answer
from mirage.verifiers.registry import get_verifier


class RewardRecorder:
    """Keeps (step, problem_id, reward) of every scored completion, so that a
    run's training history can choose the one-shot example later."""

    def __init__(self):
        self.rows: list[dict] = []

    def record(self, step: int, problem_ids: list[str], rewards: list[float]) -> None:
        self.rows.extend({"step": step, "problem_id": p, "reward": float(r)} for p, r in zip(problem_ids, rewards))

    # a resumed run continues the history of the killed one (see mirage.core.checkpoints)
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

    def well_formed(self, completion) -> bool:
        """The format check a gated reward applies (``released_format``: the
        released regex, defect included: ``is_well_formed_released``)."""
        text = completion_text(completion)
        return is_well_formed_released(text) if self.released_format else self.verifier.grade(text, "").well_formed

    released_format = False

    # what a checkpoint must carry for a resumed run to score as the uninterrupted one
    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def completion_text(completion) -> str:
    """A completion as text: TRL hands a conversational run's completions over
    as a list of messages."""
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion)


class GroundTruthReward(Reward):
    """Well formed x correct, with the released code's defects fixed: the format
    check spans newlines, and answers are compared by the task's verifier, not
    as raw strings."""

    name = "ground_truth"
    label_column = "answer"  # the dataset column graded against

    def grades(self, completions, labels):
        return [self.verifier.grade(completion_text(c), label) for c, label in zip(completions, labels)]

    def score(self, prompts, completions, completion_ids, **kwargs):
        return [float(g.well_formed and g.correct) for g in self.grades(completions, kwargs[self.label_column])]


class IncorrectReward(GroundTruthReward):
    """The paper's inverted reward (released logic version): well formed x
    (1 - correct). The released math file defines it a second time so that it
    returns the ground-truth reward; that defect is not copied."""

    name = "incorrect"

    def score(self, prompts, completions, completion_ids, **kwargs):
        return [float(g.well_formed and not g.correct) for g in self.grades(completions, kwargs[self.label_column])]


class IncorrectLabelReward(GroundTruthReward):
    """Spurious Rewards' incorrect labels: the ground-truth reward graded
    against the base model's (wrong) majority answer instead of the gold one;
    only problems whose majority answer is wrong are trained on (see
    ``mirage.training.trainer.training_rows``). ``answers`` (``rl.claim_settings.incorrect_label``):
    ``answer_tag``, well formed x matches the label; ``spurious_rewards``, their
    rule: the last ``\\boxed{}`` (else the answer tag) matches the label, no
    format gate."""

    name = "incorrect_label"
    label_column = "wrong_label"

    def score(self, prompts, completions, completion_ids, **kwargs):
        if self.settings.get("answers", "answer_tag") != "spurious_rewards":
            return super().score(prompts, completions, completion_ids, **kwargs)
        rewards = []
        for completion, label in zip(completions, kwargs[self.label_column]):
            answer = boxed_or_tag_answer(self.verifier, completion_text(completion))
            rewards.append(float(answer is not None and self.verifier.equal(label, answer)))
        return rewards


class RandomReward(Reward):
    """The released random reward: well formed x Bernoulli(p), the draw
    independent of the completion; the same draws under the same seed (one per
    completion, whatever its format)."""

    name = "random"
    gated = True  # by the format check

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.p = float(self.settings.get("p", 0.5))
        self.rng = np.random.default_rng(stable_seed(self.seed, "random-reward"))

    def score(self, prompts, completions, completion_ids, **kwargs):
        draws = self.rng.random(len(completions)) < self.p
        if not self.gated:
            return draws.astype(float).tolist()
        formed = [self.well_formed(c) for c in completions]
        return [float(d and f) for d, f in zip(draws, formed)]

    def state_dict(self) -> dict:
        return {"bit_generator": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["bit_generator"]


class RandomReleasedReward(RandomReward):
    """The released random reward with the released format check exactly: a
    newline in the reasoning or the answer fails the gate (``random`` fixes it)."""

    name = "random_released"
    released_format = True


class RandomUngatedReward(RandomReward):
    """Spurious Rewards' random reward: Bernoulli(p), not gated by the format."""

    name = "random_ungated"
    gated = False


class FormatReward(Reward):
    name = "format"

    def score(self, prompts, completions, completion_ids, **kwargs):
        return [float(self.well_formed(c)) for c in completions]


class FormatReleasedReward(FormatReward):
    """The released format reward exactly: 1 iff the reasoning and the answer
    are each on one line (the released regex lacks DOTALL)."""

    name = "format_released"
    released_format = True


class MajorityVoteReward(Reward):
    """TTRL: the pseudo-label of a prompt is the majority answer over ``votes``
    samples of the current policy: the trained group (``num_generations``
    completions, first in the count) plus ``votes - num_generations`` more,
    sampled by the trainer with the same weights and sampling settings (TTRL:
    64 votes, 32 of them trained on). Reward 1 iff a completion's answer equals
    the label; no format component, as in TTRL. Deliberately takes no
    ``answer`` argument: it cannot read the gold answer."""

    name = "majority_vote"

    EXTRACTIONS = ("answer_tag", "ttrl")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.votes = int(self.settings.get("votes", self.group_size))
        if self.votes < self.group_size:
            raise ValueError(f"majority_vote: votes ({self.votes}) must be at least num_generations ({self.group_size})")
        # rl.claim_settings.majority_vote.extraction (the schema's default: answer_tag)
        self.extraction = self.settings.get("extraction", "answer_tag")
        if self.extraction not in self.EXTRACTIONS:
            raise ValueError(f"majority_vote: extraction {self.extraction!r} is not one of {self.EXTRACTIONS}")
        self.vote_sampler = None  # (prompts, n) -> n completions per prompt, adjacent

    def bind_vote_sampler(self, sampler) -> None:
        self.vote_sampler = sampler

    def answer(self, completion) -> str | None:
        """A completion's vote: ``answer_tag``, the task's own rule (the answer
        tag); ``ttrl``, TTRL's: the last ``\\boxed{}`` anywhere in the
        completion, else the answer tag's content; written in the verifier's
        canonical form, so that equal answers vote together."""
        text = completion_text(completion)
        extracted = boxed_or_tag_answer(self.verifier, text) if self.extraction == "ttrl" else self.verifier.extract(text)
        return self.verifier.canonical(extracted) if extracted is not None else None

    def rewarded(self, label: str | None, answer: str | None) -> bool:
        """``ttrl``: the answer is equivalent to the label by the task's verifier
        (TTRL grades each vote against the majority by math equivalence);
        ``answer_tag``: the canonical forms are equal."""
        if label is None or answer is None:
            return False
        return self.verifier.equal(label, answer) if self.extraction == "ttrl" else answer == label

    def score(self, prompts, completions, completion_ids, **kwargs):
        g = self.group_size
        firsts = prompts[::g]
        extra_n = self.votes - g
        extra: list = []
        if extra_n > 0:
            if self.vote_sampler is None:
                raise RuntimeError("MajorityVoteReward with votes > num_generations needs bind_vote_sampler() first")
            extra = self.vote_sampler(firsts, extra_n)
        answers = [self.answer(c) for c in completions]
        extra_answers = [self.answer(c) for c in extra]
        rewards = []
        for i in range(len(firsts)):
            group = answers[i * g:(i + 1) * g]
            label = majority_answer(group + extra_answers[i * extra_n:(i + 1) * extra_n])
            rewards.extend(float(self.rewarded(label, a)) for a in group)
        return rewards


class EntropyMinReward(Reward):
    """Mean token log-probability of the completion under the policy that
    sampled it (the weights at scoring time are the sampling weights), on
    exactly the tokens TRL trained on: the prompt ids TRL generated from (BOS or
    chat template included, handed over by ``mirage.training.logprobs.PromptIdsMixin``)
    and TRL's own way of computing log-probs, in memory-bounded chunks
    (``mirage.training.logprobs``). Computed here, before the optimizer moves: the
    released code read log-probs that were computed only after the reward step."""

    name = "entropy_min"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.model = self.tokenizer = self.autocast = None
        self.batch_size = 4

    def bind(self, model, tokenizer, batch_size: int = 4, autocast=None) -> None:
        self.model, self.tokenizer, self.batch_size, self.autocast = model, tokenizer, batch_size, autocast

    def score(self, prompts, completions, completion_ids, prompt_ids=None, **kwargs):
        if self.model is None or prompt_ids is None:
            raise RuntimeError("EntropyMinReward needs bind(model, tokenizer) and a trainer with PromptIdsMixin")
        return completion_mean_logprobs(self.model, prompt_ids, completion_ids, self.temperature,
                                        self.tokenizer.pad_token_id,
                                        layout=ScoringLayout(batch_size=self.batch_size, autocast=self.autocast))


REWARD_CLASSES: Registry[type[Reward]] = Registry("reward", {
    cls.name: cls
    for cls in (GroundTruthReward, RandomReward, RandomUngatedReward, RandomReleasedReward, IncorrectReward,
                IncorrectLabelReward, FormatReward, FormatReleasedReward, MajorityVoteReward, EntropyMinReward)
})


def make_reward(name: str, **kwargs) -> Reward:
    return REWARD_CLASSES.lookup(name)(**kwargs)
