"""Loaders of the paper's data sets, run on small fixtures in each source's own
schema (tests/fixtures/hub/), never on the hub: the hub is switched off, and any
attempt to open a connection fails the test.

Fixtures, in the format each source ships: deepscaler.json (one JSON array, as
deepscaler.json), synlogic_easy_{train,validation}.parquet (verl records, as
synlogic_easy/*.parquet), aime24.parquet (HuggingFaceH4/aime_2024, text answers),
aime24_maxwell_jia.parquet (integer answers), math500.jsonl (test.jsonl),
amc23.parquet (float answers), korbench/<category>/{sample,rule}.jsonl (the
KOR-Bench release's layout); math500_missing_answer.jsonl and
math500_mistyped_answer.jsonl are broken on purpose."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import json
import logging
import socket
from pathlib import Path

import datasets
import huggingface_hub
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mirage.core.schemas import PROBLEMS
from mirage.tasks.hub import load_source
from mirage.tasks.hub_sources import FAMILIES, SOURCES, Source
from mirage.tasks.tables import HubDataOffline
from mirage.verifiers.registry import VERIFIERS

FIXTURES = Path(__file__).parent / "fixtures" / "hub"
TEMPLATE = "{question} -> <think> <answer>\n"

# (source, study split, fixture, gold answers in order, after empty ones are dropped)
CASES = [
    ("deepscaler", "train", "deepscaler.json", ["35", "9", "56", "9"]),
    # SynLogic: the answer of the game data each gold carries (see test_synlogic_*)
    ("synlogic_easy", "train", "synlogic_easy_train.parquet",
     ["8/(3-8/3)", "True", "apple, cherry, mango, pear", "([{<>}])"]),
    ("synlogic_easy", "eval", "synlogic_easy_validation.parquet", ["4", "1*2*3*4", "True"]),
    ("aime24", "eval", "aime24.parquet", ["204", "025", "809"]),
    ("aime24_maxwell_jia", "eval", "aime24_maxwell_jia.parquet", ["204", "25", "809"]),
    ("math500", "eval", "math500.jsonl", ["\\left( 3, \\frac{\\pi}{2} \\right)", "\\frac{14}{3}", "9", "27"]),
    ("amc23", "eval", "amc23.parquet", ["27", "36", "45", "3159"]),
    ("korbench_operation", "eval", "korbench/operation/sample.jsonl", ["[[10]]", "[[11]]", "[[7]]"]),
    ("korbench_counterfactual", "eval", "korbench/counterfactual/sample.jsonl", ["[[B]]", "[[A]]", "[[B]]"]),
    ("korbench_puzzle", "eval", "korbench/puzzle/sample.jsonl", ["[[1 2 3 4]]", "[[4 3 2 1]]", "[[2 4 1 3]]"]),
    ("korbench_cipher", "eval", "korbench/cipher/sample.jsonl", ["[[KHOOR]]", "[[ABC]]", "[[CAT]]"]),
    ("korbench_logic", "eval", "korbench/logic/sample.jsonl", ["[[F]]", "[[T]]", "[[T]]"]),
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Record, and refuse, every attempt to open a connection."""
    attempts = []

    def refuse(sock, address):
        attempts.append(address)
        raise OSError(f"test_hub_data: network access to {address} refused")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == [], f"tried to reach the network: {attempts}"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("hf_cache"))


def load(source, split, data_files, cache, **kw):
    kw.setdefault("task", source)
    return load_source(source, revision=None, split=split, data_files=data_files, cache_dir=cache,
                       prompt_template=TEMPLATE, **kw)


@pytest.mark.parametrize("source,split,fixture,answers", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_source_loads_from_its_fixture(source, split, fixture, answers, cache):
    df = load(source, split, str(FIXTURES / fixture), cache, task="t1")
    assert PROBLEMS.check(df, fixture).columns == list(PROBLEMS.columns)
    assert df.schema == pl.Schema(PROBLEMS.columns)
    golds = df["answer"].to_list()
    if SOURCES[source].task_type is not None or SOURCES[source].kor_category is not None:
        # SynLogic: the gold is the game data; KOR-Bench: the answer with its rule and question number
        golds = [json.loads(gold)["answer"] for gold in golds]
    assert golds == answers
    if SOURCES[source].kor_category is not None:
        parts = [json.loads(gold) for gold in df["answer"]]
        assert all(p["korbench"] == SOURCES[source].kor_category and p["rule_id"] and p["idx"] for p in parts)
    assert df["problem_id"].n_unique() == df.height
    assert all(pid.startswith(f"t1-{df['benchmark'][0]}-{split}-") for pid in df["problem_id"])
    assert set(df["task"]) == {"t1"} and set(df["split"]) == {split}
    assert set(df["family"]) == {SOURCES[source].family}
    assert set(df["benchmark"]) == {SOURCES[source].benchmark}
    if SOURCES[source].task_type is None:
        assert set(df["verifier"]) == {SOURCES[source].verifier}
    else:
        assert all(v.startswith(f"{SOURCES[source].verifier}:") and v in VERIFIERS for v in df["verifier"])
    assert all(q.strip() and q == q.strip() for q in df["question"])
    assert df["prompt"].to_list() == [f"{q} -> <think> <answer>\n" for q in df["question"]]


def test_the_cases_cover_every_source_and_split():
    covered = {(source, split) for source, split, _, _ in CASES}
    assert covered == {(name, split) for name, src in SOURCES.items() for split in src.splits}


def test_every_source_names_a_known_family_and_verifier():
    assert {src.family for src in SOURCES.values()} == set(FAMILIES)
    assert {src.verifier for src in SOURCES.values()} <= set(VERIFIERS)
    assert {src.verifier for name, src in SOURCES.items() if src.family == "math"} == {"math"}
    # two copies of one benchmark are one benchmark
    assert SOURCES["aime24"].benchmark == SOURCES["aime24_maxwell_jia"].benchmark == "aime24"
    with pytest.raises(ValueError, match="family 'chess' is not one of math, logic"):
        Source("x/y", None, {"eval": "test"}, question=("q",), answer=("a",), family="chess",
               benchmark="x", verifier="math")


def test_numeric_answers_are_written_as_integers_not_floats(cache):
    # Maxwell-Jia stores int64 answers and amc23 float64 ones; "27.0" would never
    # match a model's "27" under an exact-match verifier.
    assert pq.read_schema(FIXTURES / "amc23.parquet").field("answer").type == pa.float64()
    assert pq.read_schema(FIXTURES / "aime24_maxwell_jia.parquet").field("Answer").type == pa.int64()
    amc = load("amc23", "eval", str(FIXTURES / "amc23.parquet"), cache)
    assert amc["answer"].to_list() == ["27", "36", "45", "3159"]
    assert load("aime24_maxwell_jia", "eval", str(FIXTURES / "aime24_maxwell_jia.parquet"), cache)[
        "answer"].to_list() == ["204", "25", "809"]


def test_synlogic_reads_the_chat_prompt_and_the_puzzle_json(cache):
    df = load("synlogic_easy", "eval", str(FIXTURES / "synlogic_easy_validation.parquet"), cache)
    raw = pq.read_table(FIXTURES / "synlogic_easy_validation.parquet").to_pylist()
    assert df["question"].to_list() == [r["prompt"][0]["content"] for r in raw]
    # the gold is the whole game data, tagged with the row's task type
    golds = [json.loads(gold) for gold in df["answer"]]
    for gold, r in zip(golds, raw):
        game = json.loads(r["extra_info"]["game_data_str"])
        assert gold == {"synlogic": r["data_source"], "question": game["question"], "answer": game["answer"],
                        "metadata": game["metadata"]}
    assert df["verifier"].to_list() == [f"synlogic:{r['data_source']}" for r in raw]
    assert df["family"].unique().to_list() == ["logic"]


def test_synlogic_golds_grade_by_their_task_type(cache):
    from mirage.verifiers.registry import get_verifier

    df = load("synlogic_easy", "train", str(FIXTURES / "synlogic_easy_train.parquet"), cache)
    answers = ["(8 / (3 - 8 / 3))", "\\boxed{True}", "\\boxed{apple, cherry, mango, pear}", "( [ { < > } ] )"]
    for gold, verifier, answer in zip(df["answer"], df["verifier"], answers):
        completion = f"<think>t</think><answer>{answer}</answer>"
        assert get_verifier(verifier).grade(completion, gold).correct, verifier
        assert get_verifier("synlogic").grade(completion, gold).correct, verifier  # the task's dispatcher
    # Game of 24 computes: another expression that makes 24 is right, one that does not is wrong
    assert get_verifier("synlogic:game_of_24").equal(df["answer"][0], "8/(3-8/3)")
    assert not get_verifier("synlogic:game_of_24").equal(df["answer"][0], "8*3+3-8")


def test_synlogic_task_type_without_a_verifier_stops_preparation(tmp_path, cache):
    odd = _synlogic_variant(tmp_path, "odd.parquet",
                            lambda r: {**r, "data_source": "chess_endgame"} if r["data_source"] == "word_sorting" else r)
    with pytest.raises(ValueError) as err:
        load("synlogic_easy", "train", odd, cache)
    message = str(err.value)
    assert "\n" not in message and "'chess_endgame'" in message and message.startswith(f"{odd}: no SynLogic verifier")


def test_synlogic_game_data_missing_what_its_verifier_reads_stops_preparation(tmp_path, cache):
    def strip_metadata(r):
        if r["data_source"] != "game_of_24":
            return r
        game = json.loads(r["extra_info"]["game_data_str"])
        game["metadata"] = {"numbers": game["metadata"]["numbers"]}
        return {**r, "extra_info": {**r["extra_info"], "game_data_str": json.dumps(game)}}

    with pytest.raises(ValueError, match=r"row 0 \(game_of_24\): game data lacks result"):
        load("synlogic_easy", "train", _synlogic_variant(tmp_path, "bare.parquet", strip_metadata), cache)


def test_synlogic_rows_without_game_data_are_dropped(tmp_path, cache, caplog):
    def blank(r):
        if r["data_source"] != "boolean_expressions":
            return r
        return {**r, "extra_info": {**r["extra_info"], "game_data_str": None}}

    with caplog.at_level(logging.WARNING):
        df = load("synlogic_easy", "train", _synlogic_variant(tmp_path, "blank.parquet", blank), cache)
    assert df.height == 3 and "synlogic:boolean_expressions" not in df["verifier"].to_list()
    assert "dropped 1 of 4 rows with an empty answer" in caplog.text


def test_korbench_questions_carry_their_rule(cache):
    df = load("korbench_operation", "eval", str(FIXTURES / "korbench/operation/sample.jsonl"), cache)
    first, _, third = df["question"].to_list()
    assert first == "Define an operation △ such that a△b = 2a + b, where a and b are integers.\n\nCompute 3△4.\n" \
                    "Please provide your answer in the format [[ ]]."
    assert third.startswith("Define an operation ◇") and "Compute 5◇3." in third


def test_korbench_fails_on_a_question_whose_rule_is_missing(tmp_path, cache):
    (tmp_path / "sample.jsonl").write_text(json.dumps({"idx": "1", "rule_id": "9", "question": "Q?", "answer": "A"}) + "\n")
    (tmp_path / "rule.jsonl").write_text(json.dumps({"idx": "1", "rule_content": "R."}) + "\n")
    with pytest.raises(ValueError, match=r"sample\.jsonl: rule_id 9 not found in .*rule\.jsonl"):
        load("korbench_cipher", "eval", str(tmp_path / "sample.jsonl"), cache)


def test_rows_with_an_empty_answer_are_dropped_and_counted(cache, caplog):
    with caplog.at_level(logging.WARNING, logger="mirage.tasks.hub"):
        df = load("deepscaler", "train", str(FIXTURES / "deepscaler.json"), cache)
    assert "dropped 1 of 5 rows with an empty answer" in caplog.text
    assert "deepscaler.json" in caplog.text
    assert df.height == 4 and "Prove that" not in " ".join(df["question"])
    # ids keep the source's row numbers, so that a dropped row renumbers nothing
    assert df["problem_id"].to_list() == [f"deepscaler-deepscaler-train-{i:05d}" for i in range(4)]


def test_limit_keeps_the_first_rows(cache):
    full = load("math500", "eval", str(FIXTURES / "math500.jsonl"), cache)
    head = load("math500", "eval", str(FIXTURES / "math500.jsonl"), cache, limit=2)
    assert head.equals(full.head(2))
    assert head.equals(load("math500", "eval", str(FIXTURES / "math500.jsonl"), cache, limit=2))
    with pytest.raises(ValueError, match="limit must be a positive"):
        load("math500", "eval", str(FIXTURES / "math500.jsonl"), cache, limit=0)


def test_max_problems_keeps_a_seeded_random_subset_in_source_order(cache):
    from mirage.tasks.hub import prepare_hub_task
    from mirage.tasks.tables import subsample

    def prepare(**entry):
        cfg = {"train": {"dataset": "deepscaler", "data_files": str(FIXTURES / "deepscaler.json"), **entry},
               "eval": [{"dataset": "math500", "data_files": str(FIXTURES / "math500.jsonl")}]}
        return prepare_hub_task("math", cfg, TEMPLATE, cache_dir=cache).filter(pl.col("split") == "train")

    full, some = prepare(), prepare(max_problems=2)
    assert some.height == 2 and set(some["problem_id"]) <= set(full["problem_id"])
    assert some.equals(prepare(max_problems=2))                 # the same subset every time
    assert prepare(max_problems=10).equals(full)                # no more than the source has
    table = pl.DataFrame({"row": list(range(100))})
    drawn = subsample(table, 10, seed=1)["row"].to_list()
    assert drawn == sorted(drawn) and drawn != list(range(10))  # spread over the source, in its order
    assert drawn != subsample(table, 10, seed=2)["row"].to_list()


@pytest.mark.parametrize("fixture,message", [
    ("math500_missing_answer.jsonl",
     "column 'answer' missing (expected by source 'math500'; found: problem, solution, subject, level, unique_id)"),
    ("math500_mistyped_answer.jsonl",
     "column 'answer' has type List(String), expected text or a number (source 'math500')"),
])
def test_a_missing_or_mistyped_column_names_the_file_and_the_column(cache, fixture, message):
    path = str(FIXTURES / fixture)
    with pytest.raises(ValueError) as err:
        load("math500", "eval", path, cache)
    assert str(err.value) == f"{path}: {message}"


def _synlogic_variant(tmp_path, name, change):
    rows = pq.read_table(FIXTURES / "synlogic_easy_train.parquet").to_pylist()
    path = tmp_path / name
    pq.write_table(pa.Table.from_pylist([change(dict(r)) for r in rows]), path)
    return str(path)


def test_nested_columns_are_checked_step_by_step(tmp_path, cache):
    flat = _synlogic_variant(tmp_path, "flat.parquet", lambda r: {**r, "prompt": r["prompt"][0]["content"]})
    with pytest.raises(ValueError, match=r"flat\.parquet: column 'prompt' has type String, expected a list"):
        load("synlogic_easy", "train", flat, cache)
    moved = _synlogic_variant(tmp_path, "moved.parquet",
                              lambda r: {**r, "extra_info": {"game_data": r["extra_info"]["game_data_str"]}})
    with pytest.raises(ValueError, match=r"moved\.parquet: column 'extra_info\.game_data_str' missing "
                                         r"\(expected by source 'synlogic_easy'; found in 'extra_info': game_data\)"):
        load("synlogic_easy", "train", moved, cache)


def test_a_file_of_unknown_kind_or_with_no_usable_row_is_refused(tmp_path, cache):
    text = tmp_path / "math500.txt"
    text.write_text("problem,answer\n1+1,2\n")
    with pytest.raises(ValueError, match=r"math500\.txt: expected JSON .*, Parquet .* or CSV"):
        load("math500", "eval", str(text), cache)
    empty = tmp_path / "empty_answers.jsonl"
    empty.write_text(json.dumps({"problem": "1+1?", "answer": " "}) + "\n")
    with pytest.raises(ValueError, match=r"empty_answers\.jsonl: no row has both a question and an answer"):
        load("math500", "eval", str(empty), cache)


def test_unknown_sources_and_splits_are_refused(cache):
    with pytest.raises(ValueError, match="unknown source 'gsm8k'; known: aime24"):
        load("gsm8k", "eval", str(FIXTURES / "math500.jsonl"), cache)
    with pytest.raises(ValueError, match="source 'math500' has no 'train' split; it serves: eval"):
        load("math500", "train", str(FIXTURES / "math500.jsonl"), cache)
    with pytest.raises(ValueError, match=r"source 'korbench_puzzle' has no hub copy; pass data_files \(data/puzzle"):
        load_source("korbench_puzzle", revision=None, split="eval", prompt_template=TEMPLATE, task="p")


def test_offline_without_a_cache_fails_clearly_instead_of_reaching_the_hub(tmp_path, monkeypatch, no_network):
    # Offline is normally read from the environment at import; pin it here too, so
    # that the test holds whatever the caller's environment says.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubDataOffline) as err:
        load_source("math500", revision="abc123", split="eval", cache_dir=tmp_path / "empty_cache",
                    prompt_template=TEMPLATE, task="math500")
    message = str(err.value)
    assert "HuggingFaceH4/MATH-500@abc123" in message and "split 'test'" in message
    assert "not in the local cache" in message and "offline" in message
    assert isinstance(err.value, ConnectionError)
    assert no_network == []


def test_hub_loads_go_through_load_dataset_with_the_pinned_revision(monkeypatch, cache):
    calls = []
    math500 = [json.loads(line) for line in (FIXTURES / "math500.jsonl").read_text().splitlines()]
    hub = {
        "HuggingFaceH4/MATH-500": math500,
        "MiniMaxAI/SynLogic": pq.read_table(FIXTURES / "synlogic_easy_validation.parquet").to_pylist(),
        "math-ai/amc23": math500,  # a schema change upstream: 'problem' where 'question' was
    }

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        return datasets.Dataset.from_list(hub[path])

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    df = load_source("math500", revision="ff5b202", split="eval", cache_dir=cache, prompt_template=TEMPLATE,
                     task="math500", limit=3)
    assert calls[-1] == ("HuggingFaceH4/MATH-500", None, {"split": "test", "revision": "ff5b202", "cache_dir": cache})
    assert df["answer"].to_list() == ["\\left( 3, \\frac{\\pi}{2} \\right)", "\\frac{14}{3}", "9"]

    df = load_source("synlogic_easy", revision="0dc0ce3", split="eval", prompt_template=TEMPLATE, task="s")
    assert calls[-1] == ("MiniMaxAI/SynLogic", "easy", {"split": "validation", "revision": "0dc0ce3", "cache_dir": None})
    assert [json.loads(gold)["answer"] for gold in df["answer"]] == ["4", "1*2*3*4", "True"]

    with pytest.raises(ValueError) as err:
        load_source("amc23", revision="9f1c", split="eval", prompt_template=TEMPLATE, task="amc23")
    assert str(err.value) == ("math-ai/amc23@9f1c split 'test': column 'question' missing (expected by source "
                              "'amc23'; found: problem, solution, answer, subject, level, unique_id)")


def test_a_paper_task_joins_its_training_source_and_every_evaluation_benchmark(cache):
    from mirage.tasks.hub import prepare_hub_task

    cfg = {
        "train": {"dataset": "synlogic_easy", "data_files": str(FIXTURES / "synlogic_easy_train.parquet")},
        "eval": [
            {"dataset": "korbench_operation", "data_files": str(FIXTURES / "korbench" / "operation" / "sample.jsonl")},
            {"dataset": "korbench_cipher", "data_files": str(FIXTURES / "korbench" / "cipher" / "sample.jsonl"), "limit": 2},
            {"dataset": "synlogic_easy", "data_files": str(FIXTURES / "synlogic_easy_validation.parquet")},
        ],
    }
    df = prepare_hub_task("logic", cfg, TEMPLATE, cache_dir=cache)
    assert PROBLEMS.check(df).height == df.height and df["problem_id"].n_unique() == df.height
    assert set(df.filter(pl.col("split") == "train")["benchmark"]) == {"synlogic_easy"}
    evals = df.filter(pl.col("split") == "eval")
    assert set(evals["benchmark"]) == {"korbench_operation", "korbench_cipher", "synlogic_easy"}
    assert evals.filter(pl.col("benchmark") == "korbench_cipher").height == 2
    pairs = set(evals.select("benchmark", "verifier").unique().iter_rows())
    assert {p for p in pairs if p[0] != "synlogic_easy"} == {
        ("korbench_operation", "kor:operation"), ("korbench_cipher", "kor:cipher")}
    # SynLogic: one verifier per task type
    assert {v for b, v in pairs if b == "synlogic_easy"} == {
        "synlogic:object_counting", "synlogic:game_of_24", "synlogic:boolean_expressions"}
