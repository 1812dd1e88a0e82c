"""Tasks given in the config alone: ``source: file`` (mirage.tasks.files: any
local JSONL, JSON, Parquet or CSV file, or a hub data set, columns named by
paths, filters, a verifier by name) and ``source: reasoning_gym``
(mirage.tasks.reasoning_gym: a generator, graded by its own score_answer),
and a cross-check of mirage's verifiers against reasoning-gym's scorers."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import copy
import json

import polars as pl
import pytest
import reasoning_gym  # a dependency of mirage's reasoning_gym tasks (imported lazily by mirage itself)
import yaml
from conftest import REPO

from mirage.config import ConfigError, validate_config
from mirage.tasks.checks import parse_path
from mirage.tasks.files import prepare_file_task
from mirage.tasks.hub_sources import JsonKey
from mirage.tasks.reasoning_gym import generate, make_gold, prepare_reasoning_gym_task
from mirage.verifiers.reasoning_gym import NO_WRONG_LABEL, ReasoningGymVerifier
from mirage.verifiers.registry import get_verifier

TEMPLATE = "{question} -> <think> <answer>\n"
SCHEMA = REPO / "config" / "schema.yaml"

ROWS = [
    {"item": {"prompt": {"text": f"{i}+{i}="}, "solutions": [str(2 * i), "x"]},
     "meta": {"kind": "sum" if i % 4 else "riddle", "level": i % 3, "hard": i % 2 == 0},
     "blob": json.dumps({"gold": str(2 * i)})}
    for i in range(24)
]


def task_cfg(**over):
    cfg = {"source": "file", "data": {"dataset": "org/sums"}, "n_eval": 3, "question": "item.prompt.text",
           "answer": "item.solutions[0]", "verifier": "integer"}
    cfg.update(over)
    return cfg


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "sums.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


# -- column paths ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text,path", [
    ("problem", ("problem",)),
    ("problem.text", ("problem", "text")),
    ("prompt[0].content", ("prompt", 0, "content")),
    ("meta.answers[2][0]", ("meta", "answers", 2, 0)),
    ("extra_info.game_data_str->answer", ("extra_info", "game_data_str", JsonKey("answer"))),
    ("Final Answer", ("Final Answer",)),
])
def test_column_paths_read_as_messages_write_them(text, path):
    assert parse_path(text) == path


@pytest.mark.parametrize("text", ["", ".a", "a..b", "a[x]", "a[0", "a.", "a->"])
def test_a_column_path_that_does_not_read_is_refused(text):
    with pytest.raises(ValueError, match="column path"):
        parse_path(text)


# -- reading and splitting ------------------------------------------------------------------------

def test_nested_columns_a_list_item_and_a_seeded_split(jsonl):
    df = prepare_file_task("sums", task_cfg(data={"path": str(jsonl)}, n_eval=5, n_train=7), TEMPLATE)
    assert df.group_by("split").len().sort("split")["len"].to_list() == [5, 7]
    assert all(int(q.split("+")[0]) * 2 == int(a) for q, a in zip(df["question"], df["answer"]))
    assert df["prompt"][0] == TEMPLATE.format(question=df["question"][0])
    assert set(df["benchmark"]) == {"sums"} and set(df["verifier"]) == {"integer"}
    train, evaluation = (set(df.filter(pl.col("split") == s)["question"]) for s in ("train", "eval"))
    assert not train & evaluation
    # the same config gives the same problems; ids name the row in the file
    again = prepare_file_task("sums", task_cfg(data={"path": str(jsonl)}, n_eval=5, n_train=7), TEMPLATE)
    assert again.equals(df)
    assert all(pid.startswith("sums-sums-") for pid in df["problem_id"])
    # without n_train, every row not drawn for evaluation trains
    everything = prepare_file_task("sums", task_cfg(data={"path": str(jsonl)}, n_eval=5), TEMPLATE)
    assert everything.height == len(ROWS)


def test_json_text_keys_are_paths_too(jsonl):
    df = prepare_file_task("sums", task_cfg(data={"path": str(jsonl)}, answer="blob->gold"), TEMPLATE)
    assert all(int(q.split("+")[0]) * 2 == int(a) for q, a in zip(df["question"], df["answer"]))


@pytest.mark.parametrize("filters,kept", [
    ({"meta.kind": "sum"}, [i for i in range(24) if i % 4]),
    ({"meta.level": [1, 2]}, [i for i in range(24) if i % 3]),
    ({"meta.kind": ["sum"], "meta.level": 0}, [i for i in range(24) if i % 4 and i % 3 == 0]),
    ({"meta.hard": True}, [i for i in range(24) if i % 2 == 0]),
])
def test_filters_keep_the_rows_whose_column_holds_a_listed_value(jsonl, filters, kept):
    df = prepare_file_task("sums", task_cfg(data={"path": str(jsonl)}, n_eval=1, filters=filters), TEMPLATE)
    assert sorted(int(q.split("+")[0]) for q in df["question"]) == kept


@pytest.mark.parametrize("suffix", ["jsonl", "json", "parquet", "csv"])
def test_each_file_format_with_separate_train_and_eval_files(tmp_path, suffix):
    flat = pl.DataFrame({"Q": [f"{i}*3=" for i in range(10)], "A": [3 * i for i in range(10)],
                         "subject": ["Algebra", "Geometry"] * 5})
    paths = {}
    for split, part in (("train", flat[:6]), ("eval", flat[6:])):
        path = paths[split] = tmp_path / f"{split}.{suffix}"
        if suffix == "jsonl":
            part.write_ndjson(path)
        elif suffix == "json":
            path.write_text(json.dumps(part.to_dicts()))
        elif suffix == "parquet":
            part.write_parquet(path)
        else:
            part.write_csv(path)
    cfg = {"source": "file", "train": {"path": str(paths["train"])}, "eval": {"path": str(paths["eval"])},
           "question": "Q", "answer": "A", "filters": {"subject": "Algebra"}, "verifier": "integer",
           "benchmark": "times3"}
    df = prepare_file_task("t", cfg, TEMPLATE)
    assert df.filter(pl.col("split") == "train")["answer"].to_list() == ["0", "6", "12"]
    assert df.filter(pl.col("split") == "eval")["answer"].to_list() == ["18", "24"]
    assert df["problem_id"].to_list()[:2] == ["t-times3-eval-00000", "t-times3-eval-00002"]
    # max_problems: a seeded subset
    cfg["train"]["max_problems"] = 2
    assert prepare_file_task("t", cfg, TEMPLATE).filter(pl.col("split") == "train").height == 2


# -- data errors name the file, the column path and what was found -------------------------------

@pytest.mark.parametrize("over,message", [
    ({"answer": "item.solution"},
     r"sums\.jsonl: column 'item\.solution' missing \(expected by task 'sums'; found in 'item': prompt, solutions\)"),
    ({"question": "question"},
     r"sums\.jsonl: column 'question' missing \(expected by task 'sums'; found: item, meta, blob\)"),
    ({"question": "item.prompt"},
     r"sums\.jsonl: column 'item\.prompt' has type Struct\(\{'text': String\}\), expected text \(task 'sums'\)"),
    ({"answer": "item[0]"}, r"sums\.jsonl: column 'item' has type Struct.*, expected a list"),
    ({"answer": "meta.kind->x"}, None),  # JSON path on text that is no JSON: empty answers
    ({"filters": {"meta.kind": "proof"}},
     r"sums\.jsonl: no row has column 'meta\.kind' in 'proof' \(task 'sums'; found: 'riddle', 'sum'\)"),
    ({"filters": {"meta.level": "one"}},
     r"sums\.jsonl: column 'meta\.level' holds numbers \(Int64\); filter value 'one' is not a number"),
    ({"filters": {"item.solutions": "x"}},
     r"sums\.jsonl: column 'item\.solutions' has type List\(String\), expected text, a number or a boolean"),
    ({"n_eval": 30}, r"sums\.jsonl: 24 usable rows .* fewer than n_eval \(30\)"),
])
def test_a_file_that_does_not_match_its_config_names_file_column_and_what_was_found(jsonl, over, message):
    cfg = task_cfg(data={"path": str(jsonl)}, **over)
    if message is None:
        with pytest.raises(ValueError, match=r"sums\.jsonl: no row has both a question .* and an answer \(column 'meta\.kind->x'\)"):
            prepare_file_task("sums", cfg, TEMPLATE)
        return
    with pytest.raises(ValueError, match=message):
        prepare_file_task("sums", cfg, TEMPLATE)


def test_missing_and_unknown_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.jsonl: no such file"):
        prepare_file_task("t", task_cfg(data={"path": str(tmp_path / "nope.jsonl")}), TEMPLATE)
    (tmp_path / "rows.txt").write_text("a\n")
    with pytest.raises(ValueError, match=r"rows\.txt: expected JSON .* or CSV"):
        prepare_file_task("t", task_cfg(data={"path": str(tmp_path / "rows.txt")}), TEMPLATE)


def test_a_hub_data_set_not_in_the_cache_fails_offline_by_name(tmp_path):
    from mirage.tasks.tables import HubDataOffline

    cfg = task_cfg(data={"dataset": "no-such-org/no-such-set", "split": "test"})
    with pytest.raises(HubDataOffline, match=r"no-such-org/no-such-set@main split 'test' is not in the local cache "
                                             r"and the hub is offline"):
        prepare_file_task("t", cfg, TEMPLATE, cache_dir=tmp_path / "cache")


def test_a_data_set_is_read_by_the_hub_loader(tmp_path):
    """``dataset`` goes through datasets.load_dataset, here on a local data set folder (no network)."""
    folder = tmp_path / "org_set"
    folder.mkdir()
    pl.DataFrame({"problem": [{"text": f"{i}-1="} for i in range(1, 9)], "answer": [i - 1 for i in range(1, 9)]}) \
        .write_parquet(folder / "train.parquet")
    cfg = task_cfg(data={"dataset": str(folder), "split": "train"}, question="problem.text", answer="answer", n_eval=2)
    df = prepare_file_task("t", cfg, TEMPLATE, cache_dir=tmp_path / "cache")
    assert df.height == 8 and all(int(q.split("-")[0]) - 1 == int(a) for q, a in zip(df["question"], df["answer"]))


# -- config checks --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_config():
    return json.loads(json.dumps(yaml.safe_load((REPO / "config" / "config.yaml").read_text())))


def with_task(config, task):
    config = copy.deepcopy(config)
    config["tasks"]["extra"] = task
    return config


@pytest.mark.parametrize("task,message", [
    (task_cfg(), None),
    (task_cfg(answer="a[x]"), r"'tasks\.extra\.answer': column path 'a\[x\]' does not read"),
    (task_cfg(train={"path": "t.jsonl"}), r"'tasks\.extra' has both 'data' and 'train'"),
    ({**task_cfg(), "data": {"path": "a.jsonl", "dataset": "o/n"}}, r"'tasks\.extra\.data' needs exactly one of 'path'"),
    ({k: v for k, v in task_cfg().items() if k != "n_eval"}, r"'tasks\.extra' needs 'n_eval'"),
    (task_cfg(verifier="fuzzy"), r"'tasks\.extra\.verifier' is 'fuzzy', expected one of"),
    (task_cfg(filters={"level": []}), r"'tasks\.extra\.filters\.level' is an empty list"),
    (task_cfg(colour="red"), r"unknown key 'tasks\.extra\.colour'"),
    ({"source": "reasoning_gym", "generator": "basic_arithmetic", "n_train": 40, "n_eval": 2}, None),
    ({"source": "reasoning_gym", "generator": "basic_arithmetics", "n_train": 4, "n_eval": 2},
     r"'tasks\.extra\.generator': unknown reasoning-gym generator 'basic_arithmetics'"),
    ({"source": "reasoning_gym", "generator": "basic_arithmetic", "n_train": 4, "n_eval": 2,
      "config": {"max_digit": 3}}, r"'tasks\.extra\.config': generator 'basic_arithmetic' does not take .*max_digit"),
    ({"source": "reasoning_gym", "generator": "basic_arithmetic", "n_train": 4, "n_eval": 2,
      "config": {"min_terms": 5, "max_terms": 2}}, r"'tasks\.extra\.config': generator 'basic_arithmetic' refuses"),
    ({"source": "reasoning_gym", "generator": "basic_arithmetic", "n_train": 4, "n_eval": 2,
      "config": {"seed": 3}}, r"'tasks\.extra\.config'"),
])
def test_config_checks_name_the_key(default_config, task, message):
    config = with_task(default_config, task)
    if message is None:
        validated = validate_config(config, SCHEMA)
        assert validated["tasks"]["extra"]["verifier"] in ("integer", "reasoning_gym")
        return
    with pytest.raises(ConfigError, match=message):
        validate_config(config, SCHEMA)


# -- reasoning-gym ---------------------------------------------------------------------------------

SMALL = {"min_terms": 2, "max_terms": 2, "min_digits": 1, "max_digits": 1}


def test_reasoning_gym_splits_are_seeded_and_disjoint():
    cfg = {"generator": "basic_arithmetic", "n_train": 40, "n_eval": 20, "config": SMALL}
    df = prepare_reasoning_gym_task("arith", cfg, TEMPLATE, study_seed=3)
    assert df.group_by("split").len().sort("split")["len"].to_list() == [20, 40]
    train, evaluation = (set(df.filter(pl.col("split") == s)["question"]) for s in ("train", "eval"))
    assert not train & evaluation
    assert df.equals(prepare_reasoning_gym_task("arith", cfg, TEMPLATE, study_seed=3))
    assert not df.equals(prepare_reasoning_gym_task("arith", cfg, TEMPLATE, study_seed=4))
    assert df.equals(prepare_reasoning_gym_task("arith", {**cfg, "seed": 3}, TEMPLATE, study_seed=99))
    gold = json.loads(df["answer"][0])
    assert gold["reasoning_gym"] == "basic_arithmetic" and gold["config"] == SMALL
    assert gold["entry"]["question"] == df["question"][0]
    assert {"seed", "size", "index"} <= set(gold) and ReasoningGymVerifier().equal(df["answer"][0], gold["entry"]["answer"])


def test_a_generator_too_small_for_n_train_says_so(monkeypatch):
    import mirage.tasks.reasoning_gym as rgt

    # a generator of three questions, whatever the seed
    monkeypatch.setattr(rgt, "generator_dataset", lambda generator, settings, size, seed: [
        {"question": f"q{i % 3}", "answer": str(i % 3), "metadata": {}} for i in range(size)])
    with pytest.raises(ValueError, match=r"gave 0 training questions that are not evaluation questions in 120 draws, "
                                         r"fewer than n_train \(5\)"):
        generate("tiny", {}, 5, 3, seed=1)
    train = generate("tiny", {}, 4, 2, seed=1)["train"]
    assert [e["question"] for e, _ in train] == ["q2"] * 4
    assert [origin["index"] for _, origin in train] == [2, 5, 8, 11]


def test_the_reasoning_gym_verifier_grades_by_the_generators_score():
    entry = next(iter(reasoning_gym.create_dataset("basic_arithmetic", size=1, seed=5, **SMALL)))
    gold, answer = make_gold("basic_arithmetic", SMALL, entry), entry["answer"]
    verifier = get_verifier("reasoning_gym")
    assert verifier.grade(f"<think>x</think><answer> {answer} </answer>", gold).correct
    assert not verifier.grade(f"<answer>{int(answer) + 1}</answer>", gold).correct
    # partial credit (the gold inside other text) is wrong
    assert 0 < verifier.score(gold, f"{answer} or so") < 1
    assert not verifier.equal(gold, f"{answer} or so")
    # no tag: not graded, unless the fallback reads the text after </think>
    assert verifier.grade(f"<think>x</think> {answer}", gold).extracted_answer is None
    assert get_verifier("reasoning_gym", fallback=True).grade(f"<think>x</think> {answer}", gold).correct
    # wrong labels (the incorrect-label reward) compare as text
    label = verifier.fallback_wrong(gold)
    assert label == str(int(answer) + 1) and verifier.equal(label, f" {label}") and not verifier.equal(label, answer)
    assert verifier.fallback_wrong("12") == NO_WRONG_LABEL
    assert not verifier.equal(gold, "9" * 30_000)


@pytest.mark.parametrize("generator", ["arc_agi", "rearc", "basic_arithmetic"])
def test_a_gold_is_scored_on_the_regenerated_item_with_its_own_types(generator):
    """ARC's metadata holds tuples, which a JSON copy turns into lists: scored on the
    stored copy, its own answer would get 0.05; regenerated, it gets 1."""
    entries = list(reasoning_gym.create_dataset(generator, size=3, seed=2))
    verifier = ReasoningGymVerifier()
    for i, entry in enumerate(entries):
        gold = make_gold(generator, {}, entry, {"seed": 2, "size": 3, "index": i})
        assert verifier.score(gold, entry["answer"]) == 1.0
    if generator == "arc_agi":
        assert verifier.score(make_gold(generator, {}, entries[0]), entries[0]["answer"]) < 1.0


def test_a_gold_that_regenerates_as_another_question_is_an_error():
    entry = next(iter(reasoning_gym.create_dataset("basic_arithmetic", size=1, seed=2)))
    gold = json.loads(make_gold("basic_arithmetic", {}, entry, {"seed": 2, "size": 1, "index": 0}))
    gold["entry"]["question"] = "Calculate 1 + 1."
    with pytest.raises(ValueError, match=r"basic_arithmetic item 0 \(seed 2\) regenerates as another question"):
        ReasoningGymVerifier().equal(json.dumps(gold), entry["answer"])


def test_a_gold_is_data_and_is_never_run():
    hostile = json.dumps({"reasoning_gym": "basic_arithmetic", "config": {},
                          "entry": {"question": "__import__('os').system('false')", "answer": "__import__('os')",
                                    "metadata": {}}})
    verifier = ReasoningGymVerifier()
    assert verifier.equal(hostile, "__import__('os')")  # read as text, compared as text
    assert not verifier.equal(hostile, "0")


# -- verifiers for any task: exact text, a multiple-choice letter -------------------------------

@pytest.mark.parametrize("gold,answer,correct", [
    ("Paris, France", "<answer> Paris,  France </answer>", True),
    ("Paris, France", "<answer>paris, france</answer>", False),
    ("Paris, France", "<answer>Paris France</answer>", False),
    ("Paris", "Paris", False),  # no answer tag
])
def test_exact_compares_text_with_white_space_collapsed(gold, answer, correct):
    assert get_verifier("exact").grade(answer, gold).correct is correct
    assert get_verifier("exact").fallback_wrong(gold) == f"not {gold}"


@pytest.mark.parametrize("gold,answer,correct", [
    ("B", "B", True), ("(B)", "b", True), ("B", "(B) Paris", True), ("B) Paris", "B.", True),
    ("C", "\\boxed{C}", True), ("C", "[[C]]", True), ("D", "The answer is D.", True), ("A", "answer: (a)", True),
    ("B", "C", False), ("B", "Paris", False), ("B", "AB", False), ("B", "", False), ("Paris", "P", False),
])
def test_choice_reads_one_option_letter_on_both_sides(gold, answer, correct):
    verifier = get_verifier("choice")
    assert verifier.grade(f"<think>.</think><answer>{answer}</answer>", gold).correct is correct
    if correct:
        assert verifier.canonical(answer) == verifier.canonical(gold)
    assert not verifier.equal(gold, verifier.fallback_wrong(gold))


# -- cross-check: mirage's verifiers against the generators' own scorers --------------------------

# (generator, mirage verifier): generators whose answers a mirage verifier also grades
SHARED = [
    ("basic_arithmetic", "integer"), ("chain_sum", "integer"), ("gcd", "integer"), ("lcm", "integer"),
    ("letter_counting", "integer"), ("leg_counting", "integer"), ("basic_arithmetic", "math"),
    ("simple_equations", "math"), ("fraction_simplification", "math"), ("decimal_arithmetic", "math"),
    ("spell_backward", "exact"), ("word_sorting", "exact"), ("letter_counting", "exact"),
]


def wrong_answers(entries, i):
    """Other entries' answers (where they differ) and, for an integer, the answer plus one."""
    gold = str(entries[i]["answer"])
    wrong = {str(e["answer"]) for e in entries} - {gold}
    try:
        wrong.add(str(int(gold) + 1))
    except ValueError:
        pass
    return sorted(wrong)[:5]


@pytest.mark.parametrize("generator,ours", SHARED, ids=[f"{g}-{v}" for g, v in SHARED])
def test_our_verifier_and_the_generators_scorer_agree_on_gold_and_wrong_answers(generator, ours):
    entries = list(reasoning_gym.create_dataset(generator, size=20, seed=11))
    theirs, mine = ReasoningGymVerifier(), get_verifier(ours)
    for i, entry in enumerate(entries):
        gold = make_gold(generator, {}, entry, {"seed": 11, "size": 20, "index": i})
        answer = str(entry["answer"])
        assert theirs.equal(gold, answer) and mine.equal(answer, answer), (generator, answer)
        for wrong in wrong_answers(entries, i):
            assert theirs.equal(gold, wrong) == mine.equal(answer, wrong), (generator, answer, wrong)
            assert not theirs.equal(gold, wrong), (generator, answer, wrong)


# Where they differ, pinned so that a change shows: each (generator, our verifier, gold, answer,
# reasoning-gym correct, ours correct). reasoning-gym's default scorer compares text exactly; ours
# read integers, numbers and math.
DIFFERENCES = [
    # integer forms: ours reads "07", "+7" as 7; the default scorer wants the text
    ("gcd", "integer", "0{gold}", False, True),
    ("gcd", "integer", "+{gold}", False, True),
    # chain_sum parses a number: "210.0" is 210 to it, not an integer to ours
    ("chain_sum", "integer", "{gold}.0", True, False),
    # math-verify reads a boxed answer or one inside a sentence; the default scorer gives partial credit
    ("simple_equations", "math", "\\boxed{{{gold}}}", False, True),
]


@pytest.mark.parametrize("generator,ours,form,theirs_ok,ours_ok", DIFFERENCES,
                         ids=[f"{d[0]}-{d[2]}" for d in DIFFERENCES])
def test_known_differences_between_our_verifiers_and_reasoning_gym(generator, ours, form, theirs_ok, ours_ok):
    entries = list(reasoning_gym.create_dataset(generator, size=20, seed=11))
    entry = next(e for e in entries if generator != "word_sorting" or e["answer"] != e["answer"].upper())
    answer = str(entry["answer"])
    given = form.format(gold=answer, upper=answer.upper())
    gold = make_gold(generator, {}, entry)
    assert ReasoningGymVerifier().equal(gold, given) is theirs_ok
    assert get_verifier(ours).equal(answer, given) is ours_ok


# -- the paper's simple hub sources, written as file tasks, read the same problems ---------------

FIXTURES = REPO / "tests" / "fixtures" / "hub"


@pytest.mark.parametrize("source,fixture,question,answer", [
    ("deepscaler", "deepscaler.json", "problem", "answer"),
    ("aime24", "aime24.parquet", "problem", "answer"),
    ("aime24_maxwell_jia", "aime24_maxwell_jia.parquet", "Problem", "Answer"),
    ("math500", "math500.jsonl", "problem", "answer"),
    ("amc23", "amc23.parquet", "question", "answer"),
])
def test_a_registry_source_written_as_a_file_task_reads_the_same_problems(source, fixture, question, answer):
    from mirage.tasks.hub import load_source
    from mirage.tasks.hub_sources import SOURCES

    split = next(iter(SOURCES[source].splits))
    registry = load_source(source, revision=None, split=split, prompt_template=TEMPLATE, task="t",
                           data_files=str(FIXTURES / fixture))
    entry = {"path": str(FIXTURES / fixture)}
    cfg = {"source": "file", "train": entry, "eval": entry, "question": question, "answer": answer,
           "verifier": SOURCES[source].verifier, "benchmark": SOURCES[source].benchmark}
    table = prepare_file_task("t", cfg, TEMPLATE).filter(pl.col("split") == split)
    assert table.select("problem_id", "question", "answer", "prompt", "verifier").equals(
        registry.select("problem_id", "question", "answer", "prompt", "verifier"))


def test_a_generator_not_reproducible_from_its_seed_is_refused_when_the_task_is_prepared():
    # list_functions (reasoning-gym 0.1.25) draws differently on each instance with the same seed
    with pytest.raises(ValueError, match=r"'list_functions' is not reproducible from its seed"):
        generate("list_functions", {}, 2, 64, seed=1)


# -- a task's own prompt template -----------------------------------------------------------------

def test_a_tasks_own_prompt_template_replaces_the_studys_for_its_prompts_only(jsonl):
    """``tasks.<name>.prompt_template`` (the paper config: the released instruction for math,
    SynLogic's questions unchanged) renders that task's prompts; another task keeps the study's;
    a toy task may not have one (its prompts are those its model was trained on)."""
    from mirage.tasks.sources import prepare_problems

    own = prepare_problems("sums", task_cfg(data={"path": str(jsonl)}, prompt_template="Q: {question}"), TEMPLATE, 1)
    study = prepare_problems("sums", task_cfg(data={"path": str(jsonl)}), TEMPLATE, 1)
    assert own["prompt"].to_list() == [f"Q: {q}" for q in own["question"]]
    assert study["prompt"].to_list() == [TEMPLATE.format(question=q) for q in study["question"]]
    from mirage.config import check_schema

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    bad = copy.deepcopy(config)
    bad["tasks"]["sums"] = task_cfg(data={"path": str(jsonl)}, prompt_template="no placeholder")
    with pytest.raises(ConfigError, match="prompt_template"):
        check_schema(bad, SCHEMA)
    toy = copy.deepcopy(config)
    name = next(t for t, c in toy["tasks"].items() if c["source"] == "toy")
    toy["tasks"][name]["prompt_template"] = "Q: {question}"
    with pytest.raises(ConfigError, match="prompt_template"):
        check_schema(toy, SCHEMA)
    paper = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    assert paper["tasks"]["logic"]["prompt_template"] == "{question}"
    assert paper["tasks"]["math"]["prompt_template"].endswith("\n\n{question}")
