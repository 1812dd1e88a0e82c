"""The registry of claims: every RL variant the study tests, as a small
declarative entry. One trainer serves them all; an entry only says which
reward, which training data and which sample polarity a run uses."""

from __future__ import annotations

from dataclasses import dataclass

REWARDS = ("ground_truth", "random", "incorrect", "format", "majority_vote", "entropy_min")
DATA = ("full", "one_shot", "few_shot")
SELECTIONS = ("variance", "random")
POLARITIES = ("both", "negative", "positive")

# What the paper reports per alignment regime (../shared/paper.md, "Verdicts"):
# "works", or "no gain" (falls below the base, stays flat, or gives little or nothing).
WORKS, NO_GAIN = "works", "no gain"
REGIME_DEPENDENT = (("strong", WORKS), ("weak", NO_GAIN))


@dataclass(frozen=True)
class Claim:
    name: str
    question: str  # RQ1 reward signal, RQ2 data, RQ3 polarity, or the baseline
    reward: str = "ground_truth"
    data: str = "full"
    selection: str | None = None  # how one/few-shot examples are picked
    polarity: str = "both"  # which samples keep their advantage
    paper: tuple[tuple[str, str], ...] = ()  # (regime, what the paper reports) pairs; () = not reported
    summary: str = ""

    def __post_init__(self):
        assert self.reward in REWARDS and self.data in DATA and self.polarity in POLARITIES
        assert (self.data == "full") == (self.selection is None) and (self.selection in (None, *SELECTIONS))
        assert all(r in ("strong", "weak") and v in (WORKS, NO_GAIN) for r, v in self.paper)

    @property
    def paper_regime_dependent(self) -> bool:
        """The paper finds that it works only when the model is aligned with the task."""
        return self.paper == REGIME_DEPENDENT

    @property
    def needs_wrong_labels(self) -> bool:
        """The incorrect-label reward needs the base model's samples on the training split."""
        return self.reward == "incorrect"

    @property
    def needs_reference_history(self) -> bool:
        """One-Shot RLVR picks its example by the ground-truth run's training history."""
        return self.selection == "variance"


_ENTRIES = [
    Claim("ground_truth", "baseline", paper=(("strong", WORKS), ("weak", WORKS)),
          summary="format x correctness against the gold answer; works in both regimes"),
    Claim("random", "RQ1", reward="random", paper=REGIME_DEPENDENT, summary="Bernoulli(p) reward, independent of the completion"),
    Claim("incorrect", "RQ1", reward="incorrect", paper=REGIME_DEPENDENT,
          summary="1 iff the answer equals a fixed wrong label (the base model's most frequent wrong answer)"),
    Claim("format", "RQ1", reward="format", paper=REGIME_DEPENDENT, summary="1 iff the completion is well formed"),
    Claim("majority_vote", "RQ1", reward="majority_vote", paper=REGIME_DEPENDENT,
          summary="TTRL: 1 iff the answer equals the majority answer of its group; never reads the gold answer"),
    Claim("entropy_min", "RQ1", reward="entropy_min",
          summary="mean token log-probability of the completion under the sampling policy; label-free"),
    Claim("one_shot", "RQ2", data="one_shot", selection="variance", paper=REGIME_DEPENDENT,
          summary="one example, picked by the variance of its training accuracy in the ground-truth run"),
    Claim("one_shot_random", "RQ2", data="one_shot", selection="random",
          summary="control: one example picked at random"),
    Claim("few_shot", "RQ2", data="few_shot", selection="variance",
          summary="k examples picked by training-accuracy variance"),
    Claim("nsr", "RQ3", polarity="negative", paper=REGIME_DEPENDENT, summary="keep the advantage only on samples with reward < 1"),
    Claim("psr", "RQ3", polarity="positive", paper=(("weak", WORKS),),
          summary="keep the advantage only on samples with reward > 0"),
]

CLAIMS: dict[str, Claim] = {c.name: c for c in _ENTRIES}


def get_claim(name: str) -> Claim:
    try:
        return CLAIMS[name]
    except KeyError:
        raise ValueError(f"unknown claim {name!r}; known: {', '.join(CLAIMS)}") from None
