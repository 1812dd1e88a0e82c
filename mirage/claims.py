"""The registry of claims: every RL variant the study tests, as a small
declarative entry. One trainer serves them all; an entry only says which
reward, which training data and which sample polarity a run uses."""

from __future__ import annotations

from dataclasses import dataclass

REWARDS = ("ground_truth", "random", "incorrect", "format", "majority_vote", "entropy_min")
DATA = ("full", "one_shot", "few_shot")
SELECTIONS = ("variance", "random")
POLARITIES = ("both", "negative", "positive")


@dataclass(frozen=True)
class Claim:
    name: str
    question: str  # RQ1 reward signal, RQ2 data, RQ3 polarity, or the baseline
    reward: str = "ground_truth"
    data: str = "full"
    selection: str | None = None  # how one/few-shot examples are picked
    polarity: str = "both"  # which samples keep their advantage
    paper_regime_dependent: bool = True  # the paper finds it works only when aligned
    summary: str = ""

    def __post_init__(self):
        assert self.reward in REWARDS and self.data in DATA and self.polarity in POLARITIES
        assert (self.data == "full") == (self.selection is None) and (self.selection in (None, *SELECTIONS))

    @property
    def needs_wrong_labels(self) -> bool:
        """The incorrect-label reward needs the base model's samples on the training split."""
        return self.reward == "incorrect"

    @property
    def needs_reference_history(self) -> bool:
        """One-Shot RLVR picks its example by the ground-truth run's training history."""
        return self.selection == "variance"


_ENTRIES = [
    Claim("ground_truth", "baseline", paper_regime_dependent=False,
          summary="format x correctness against the gold answer; works in both regimes"),
    Claim("random", "RQ1", reward="random", summary="Bernoulli(p) reward, independent of the completion"),
    Claim("incorrect", "RQ1", reward="incorrect",
          summary="1 iff the answer equals a fixed wrong label (the base model's most frequent wrong answer)"),
    Claim("format", "RQ1", reward="format", summary="1 iff the completion is well formed"),
    Claim("majority_vote", "RQ1", reward="majority_vote",
          summary="TTRL: 1 iff the answer equals the majority answer of its group; never reads the gold answer"),
    Claim("entropy_min", "RQ1", reward="entropy_min",
          summary="mean token log-probability of the completion under the sampling policy; label-free"),
    Claim("one_shot", "RQ2", data="one_shot", selection="variance",
          summary="one example, picked by the variance of its training accuracy in the ground-truth run"),
    Claim("one_shot_random", "RQ2", data="one_shot", selection="random", paper_regime_dependent=False,
          summary="control: one example picked at random"),
    Claim("few_shot", "RQ2", data="few_shot", selection="variance", paper_regime_dependent=False,
          summary="k examples picked by training-accuracy variance"),
    Claim("nsr", "RQ3", polarity="negative", summary="keep the advantage only on samples with reward < 1"),
    Claim("psr", "RQ3", polarity="positive", paper_regime_dependent=False,
          summary="keep the advantage only on samples with reward > 0"),
]

CLAIMS: dict[str, Claim] = {c.name: c for c in _ENTRIES}


def get_claim(name: str) -> Claim:
    try:
        return CLAIMS[name]
    except KeyError:
        raise ValueError(f"unknown claim {name!r}; known: {', '.join(CLAIMS)}") from None
