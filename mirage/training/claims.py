"""The registry of claims: every RL variant the study tests, as a small
declarative entry. One trainer serves them all; an entry only says which
reward, which training data and which sample polarity a run uses."""

from __future__ import annotations

from dataclasses import dataclass

from mirage.core.registry import Registry

REWARDS = ("ground_truth", "random", "random_ungated", "random_released", "incorrect", "incorrect_label", "format",
           "format_released", "majority_vote", "entropy_min")
DATA = ("full", "one_shot", "few_shot")
SELECTIONS = ("variance", "random")
# "negative" / "positive": the released code keeps the group-normalised advantage on one
# polarity; the "_raw" variants are RLVR-Decomposed's (A = r - 1 on negative samples, A = r on
# positive ones, no group normalisation: an all-wrong group still gets a gradient)
POLARITIES = ("both", "negative", "positive", "negative_raw", "positive_raw")

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
        """The incorrect-label reward (Spurious Rewards) needs the base model's
        majority answers on the training split."""
        return self.reward == "incorrect_label"

    @property
    def needs_example_selection(self) -> bool:
        """One- and few-shot runs train on examples chosen from the One-Shot
        reference run's candidate pool (``example_selection``)."""
        return self.data != "full"


_ENTRIES = [
    Claim("ground_truth", "baseline", paper=(("strong", WORKS), ("weak", WORKS)),
          summary="well formed x correct against the gold answer; works in both regimes"),
    Claim("random", "RQ1", reward="random", paper=REGIME_DEPENDENT,
          summary="released: well formed x Bernoulli(p), the draw independent of the answer"),
    Claim("random_ungated", "RQ1", reward="random_ungated",
          summary="Spurious Rewards: Bernoulli(p), independent of the completion (no format gate)"),
    Claim("incorrect", "RQ1", reward="incorrect", paper=REGIME_DEPENDENT,
          summary="released (inverted): well formed x (1 - correct)"),
    Claim("incorrect_label", "RQ1", reward="incorrect_label",
          summary="Spurious Rewards: graded against the base model's majority answer, "
                  "trained only on problems where that majority is wrong"),
    Claim("format", "RQ1", reward="format", paper=REGIME_DEPENDENT, summary="1 iff the completion is well formed"),
    # the released format check exactly (its regex lacks DOTALL: a newline in the reasoning or the
    # answer fails it), beside the fixed one: which of the two the paper's verdicts came from is a
    # question a study can answer; no paper entry of their own (the paper's are format's and random's)
    Claim("format_released", "RQ1", reward="format_released",
          summary="released format reward exactly: 1 iff the reasoning and the answer are each on one line"),
    Claim("random_released", "RQ1", reward="random_released",
          summary="released random reward exactly: Bernoulli(p) gated by the one-line format check"),
    Claim("majority_vote", "RQ1", reward="majority_vote", paper=REGIME_DEPENDENT,
          summary="TTRL: 1 iff the answer equals the majority answer over `votes` samples of the current "
                  "policy; never reads the gold answer"),
    Claim("entropy_min", "RQ1", reward="entropy_min",
          summary="mean token log-probability of the completion under the sampling policy; label-free"),
    Claim("one_shot", "RQ2", data="one_shot", selection="variance", paper=REGIME_DEPENDENT,
          summary="one example, the candidate whose training accuracy varied most in the One-Shot reference run"),
    Claim("one_shot_random", "RQ2", data="one_shot", selection="random",
          summary="control: one example drawn at random from the same candidate pool"),
    Claim("few_shot", "RQ2", data="few_shot", selection="variance",
          summary="k examples picked by training-accuracy variance"),
    Claim("nsr", "RQ3", polarity="negative", paper=REGIME_DEPENDENT, summary="keep the advantage only on samples with reward < 1"),
    Claim("psr", "RQ3", polarity="positive", paper=(("weak", WORKS),),
          summary="keep the advantage only on samples with reward > 0"),
    Claim("nsr_decomposed", "RQ3", polarity="negative_raw",
          summary="RLVR-Decomposed's NSR: advantage r - 1 on samples with reward < 1, not group-normalised"),
    Claim("psr_decomposed", "RQ3", polarity="positive_raw",
          summary="RLVR-Decomposed's PSR: advantage r on samples with reward > 0, not group-normalised"),
]

CLAIMS: Registry[Claim] = Registry("claim", {c.name: c for c in _ENTRIES})


def get_claim(name: str) -> Claim:
    return CLAIMS.lookup(name)


# -- runs: a claim's runs in a cell -----------------------------------------------------------
# A run is named by its seed; a one-shot claim (one_shot, one_shot_random) with
# rl.claim_settings.one_shot.examples = E > 1 trains each seed on each of the cell's E selected
# examples, one run each: "<seed>-example<e>", e = 1..E in the selection's order (rank, or the
# random draw's order). With E = 1 its runs keep the plain seed name and train on example 1.
EXAMPLE_SEP = "-example"
RUN_PATTERN = "[0-9]+(-example[0-9]+)?"  # the runs' wildcard in the workflow


def run_names(claim_name: str, seeds: list[int], examples: int = 1) -> list[str]:
    """The runs of a claim in a cell (``examples``: ``rl.claim_settings.one_shot.examples``)."""
    if get_claim(claim_name).data == "one_shot" and examples > 1:
        return [f"{s}{EXAMPLE_SEP}{e}" for s in seeds for e in range(1, examples + 1)]
    return [str(s) for s in seeds]


def parse_run(claim_name: str, run: str | int) -> tuple[int, int | None]:
    """A run's (seed, example): the example a one-shot claim's run trains on
    (1..E), None for every other claim."""
    seed, sep, example = str(run).partition(EXAMPLE_SEP)
    if not seed.isdigit() or (sep and not example.isdigit()):
        raise ValueError(f"run {run!r} of {claim_name}: expected <seed> or <seed>{EXAMPLE_SEP}<n>")
    one_shot = get_claim(claim_name).data == "one_shot"
    if example and not one_shot:
        raise ValueError(f"run {run!r}: {claim_name} trains on no selected example")
    return int(seed), (int(example or 1) if one_shot else None)
