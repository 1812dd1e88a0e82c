"""The registry of the paper's data sets (``SOURCES``): where each lives, which
of its splits serves the study's ``train`` / ``eval`` split, and the path from
its own columns to ``question`` and ``answer``. Reading them is
``mirage.tasks.hub``'s (which re-exports these names); this module imports no
data library, so that config validation (on every Snakefile parse) and
``python -m mirage download`` can read the registry cheaply."""

from __future__ import annotations

from dataclasses import dataclass

from mirage.core.registry import Registry
from mirage.verifiers.names import KOR_SUBSETS

FAMILIES = ("math", "logic")


@dataclass(frozen=True)
class JsonKey:
    """Step into a JSON document held as text: SynLogic keeps each puzzle's data
    as a JSON string so that its verifiers can rebuild the puzzle from it."""

    key: str


# A field's path from a source row: a column name, then struct field names,
# list indices and JSON keys, e.g. ("prompt", 0, "content").
Step = str | int | JsonKey


@dataclass(frozen=True)
class RuleSidecar:
    """KOR-Bench states each rule once, in a file beside the questions; a question
    is unanswerable without its rule, so the rule is joined into the question."""

    file: str          # name of the rule file, in the directory of the question file
    join_on: str       # column of the question rows naming their rule
    key: str           # column of the rule rows that ``join_on`` refers to
    text: str          # column of the rule rows holding the rule
    layout: str = "{rule}\n\n{question}"


@dataclass(frozen=True)
class Source:
    hub_name: str | None          # None: no hub copy, read from released files only
    config: str | None            # the hub's config (subset) name
    splits: dict[str, str]        # study split -> the source's split
    question: tuple[Step, ...]
    answer: tuple[Step, ...]
    family: str                   # "math" or "logic"
    benchmark: str                # copies of one benchmark share its name
    verifier: str                 # a name of mirage.verifiers.registry.VERIFIERS (mirage.verifiers.names)
    files_hint: str = ""          # where to get local files when there is no hub copy
    rules: RuleSidecar | None = None
    # SynLogic: the column naming each row's task type. The answer path then
    # reads the puzzle's whole game data, kept as the gold (mirage.verifiers.synlogic.reading.make_gold),
    # and each row is graded by ``<verifier>:<task type>``.
    task_type: tuple[Step, ...] | None = None
    # KOR-Bench: the category whose official rules grade the rows; each row's gold is then its
    # answer with its ``rule_id`` and ``idx`` (mirage.verifiers.kor.make_gold), which those rules read
    kor_category: str | None = None

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r} is not one of {', '.join(FAMILIES)}")


def _korbench(category: str) -> Source:
    return Source(
        hub_name=None,
        config=None,
        # The release names its question file "sample" (data/<category>/sample.jsonl).
        splits={"eval": "sample"},
        question=("question",),
        answer=("answer",),
        family="logic",
        benchmark=f"korbench_{category}",
        verifier=f"kor:{category}",
        files_hint=f"data/{category}/sample.jsonl (with rule.jsonl beside it) of github.com/KOR-Bench/KOR-Bench",
        rules=RuleSidecar(file="rule.jsonl", join_on="rule_id", key="idx", text="rule_content"),
        kor_category=category,
    )


SOURCES: Registry[Source] = Registry("source", {
    "deepscaler": Source(
        hub_name="agentica-org/DeepScaleR-Preview-Dataset", config=None, splits={"train": "train"},
        question=("problem",), answer=("answer",), family="math", benchmark="deepscaler", verifier="math"),
    # SynLogic rows are verl records: a chat prompt, the puzzle's task type in data_source,
    # and the puzzle (question, answer, metadata) as JSON text in extra_info; each task
    # type has its own verifier, which reads the puzzle (mirage.verifiers.synlogic).
    "synlogic_easy": Source(
        hub_name="MiniMaxAI/SynLogic", config="easy", splits={"train": "train", "eval": "validation"},
        question=("prompt", 0, "content"), answer=("extra_info", "game_data_str"),
        family="logic", benchmark="synlogic_easy", verifier="synlogic", task_type=("data_source",)),
    # Two copies of AIME 2024; the H4 one has only a "train" split, used for evaluation.
    "aime24": Source(
        hub_name="HuggingFaceH4/aime_2024", config=None, splits={"eval": "train"},
        question=("problem",), answer=("answer",), family="math", benchmark="aime24", verifier="math"),
    "aime24_maxwell_jia": Source(
        hub_name="Maxwell-Jia/AIME_2024", config=None, splits={"eval": "train"},
        question=("Problem",), answer=("Answer",), family="math", benchmark="aime24", verifier="math"),
    "math500": Source(
        hub_name="HuggingFaceH4/MATH-500", config=None, splits={"eval": "test"},
        question=("problem",), answer=("answer",), family="math", benchmark="math500", verifier="math"),
    "amc23": Source(
        hub_name="math-ai/amc23", config=None, splits={"eval": "test"},
        question=("question",), answer=("answer",), family="math", benchmark="amc23", verifier="math"),
    **{f"korbench_{category}": _korbench(category) for category in KOR_SUBSETS},
})
