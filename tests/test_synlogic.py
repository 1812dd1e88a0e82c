"""The SynLogic task types' verifiers (mirage.verifiers.synlogic), on hand-written puzzles.

tests/fixtures/synlogic/<task type>.json: a list of puzzles, each the game data
SynLogic keeps in ``extra_info.game_data_str`` (question, answer, metadata),
with answers a model might give inside ``<answer>`` tags: ``right`` ones (some
in another accepted form than the game's own answer) and ``wrong`` ones."""

import json
import time
from fractions import Fraction
from pathlib import Path

import pytest

from mirage.verifiers.registry import VERIFIERS, get_verifier
from mirage.verifiers.synlogic.reading import NO_WRONG_LABEL, arithmetic, make_gold, read_gold
from mirage.verifiers.synlogic.rules import RULES
from mirage.verifiers.synlogic.verifier import SYNLOGIC_VERIFIERS, SynLogicDispatcher, SynLogicVerifier

FIXTURES = Path(__file__).parent / "fixtures" / "synlogic"
PUZZLES = [(path.stem, i, puzzle) for path in sorted(FIXTURES.glob("*.json"))
           for i, puzzle in enumerate(json.loads(path.read_text()))]
IDS = [f"{task}-{i}" for task, i, _ in PUZZLES]


def tagged(answer: str) -> str:
    return f"<think>reasoning</think>\n<answer>{answer}</answer>"


def gold_of(task: str, puzzle: dict) -> str:
    return make_gold(task, {k: puzzle[k] for k in ("question", "answer", "metadata")})


def test_every_task_type_has_a_verifier_and_a_fixture():
    assert {path.stem for path in FIXTURES.glob("*.json")} == set(RULES)
    assert all(rule.doc for rule in RULES.values())
    assert set(SYNLOGIC_VERIFIERS) == {"synlogic", *(f"synlogic:{t}" for t in RULES)}
    assert set(SYNLOGIC_VERIFIERS) <= set(VERIFIERS)
    assert isinstance(get_verifier("synlogic"), SynLogicDispatcher)
    assert get_verifier("synlogic:sudoku").name == "synlogic:sudoku"
    with pytest.raises(ValueError, match="chess"):
        get_verifier("synlogic:chess")
    with pytest.raises(ValueError, match="chess"):
        SynLogicVerifier("chess")


@pytest.mark.parametrize("task,i,puzzle", PUZZLES, ids=IDS)
def test_right_answers_are_correct(task, i, puzzle):
    gold, verifier, dispatcher = gold_of(task, puzzle), get_verifier(f"synlogic:{task}"), get_verifier("synlogic")
    assert puzzle["right"]
    for answer in puzzle["right"]:
        grade = verifier.grade(tagged(answer), gold)
        assert grade.well_formed and grade.correct, answer
        assert grade.extracted_answer == answer.strip()
        assert dispatcher.grade(tagged(answer), gold).correct, answer
        assert verifier.canonical(answer) is not None, answer


@pytest.mark.parametrize("task,i,puzzle", PUZZLES, ids=IDS)
def test_wrong_answers_are_wrong(task, i, puzzle):
    gold, verifier, dispatcher = gold_of(task, puzzle), get_verifier(f"synlogic:{task}"), get_verifier("synlogic")
    assert puzzle["wrong"]
    for answer in puzzle["wrong"]:
        assert not verifier.grade(tagged(answer), gold).correct, answer
        assert not dispatcher.grade(tagged(answer), gold).correct, answer


@pytest.mark.parametrize("task,i,puzzle", PUZZLES, ids=IDS)
def test_malformed_answers_are_wrong_and_quick(task, i, puzzle):
    gold, verifier = gold_of(task, puzzle), get_verifier(f"synlogic:{task}")
    right = puzzle["right"][0]
    malformed = [
        f"<think>t</think>{right}",  # no answer tag: the released rule grades nothing
        f"<think>t</think><answer>{right}",  # unclosed tag
        *([] if RULES[task].reads_empty else [tagged("")]),  # the empty answer of a task that asks for one
        tagged("I do not know."),
        tagged("\\boxed{" * 5_000 + "7" + "}" * 5_000),
        tagged("[[" * 50_000 + "1" + "]]" * 10),
        tagged("(" * 10_000 + "1" + ")" * 10_000),
        tagged(right + "\n" + "%" * 30_000),  # over the size bound: wrong unread
        tagged("x" * 1_000_000),
        tagged("__import__('os').system('echo pwned')"),
    ]
    for completion in malformed:
        start = time.perf_counter()
        grade = verifier.grade(completion, gold)
        assert not grade.correct, completion[:80]
        assert time.perf_counter() - start < 2, completion[:80]
    # without the tag, the fallback reads the text after </think>
    assert get_verifier(f"synlogic:{task}", fallback=True).grade(f"<think>t</think>{right}", gold).correct


@pytest.mark.parametrize("task,i,puzzle", PUZZLES, ids=IDS)
def test_labels_compare_canonical_forms(task, i, puzzle):
    """A gold that is not game data is a label (the incorrect-label reward):
    an answer matches it when the two read the same; the fallback label
    matches no right answer."""
    gold, verifier = gold_of(task, puzzle), get_verifier(f"synlogic:{task}")
    right = puzzle["right"][0]
    label = verifier.canonical(right)
    assert verifier.equal(label, right)
    assert verifier.canonical(label) is None or verifier.canonical(label) == label or task == "operation"
    wrong_label = verifier.fallback_wrong(gold)
    assert isinstance(wrong_label, str) and wrong_label
    for answer in puzzle["right"]:
        assert not verifier.equal(wrong_label, answer), (wrong_label, answer)
    # the dispatcher compares a label with the answer's text, spaces collapsed
    dispatcher = get_verifier("synlogic")
    assert dispatcher.equal(dispatcher.canonical(right), right)
    assert dispatcher.fallback_wrong(gold) == wrong_label


def test_fallback_wrong_changes_the_games_own_answer_where_it_reads():
    numbers = json.loads((FIXTURES / "object_counting.json").read_text())[0]
    gold = gold_of("object_counting", numbers)
    assert get_verifier("synlogic:object_counting").fallback_wrong(gold) == "5"
    assert get_verifier("synlogic:object_counting").equal("5", "\\boxed{5}")
    sudoku = json.loads((FIXTURES / "sudoku.json").read_text())[0]
    label = get_verifier("synlogic:sudoku").fallback_wrong(gold_of("sudoku", sudoku))
    assert label != NO_WRONG_LABEL and not get_verifier("synlogic:sudoku").equal(gold_of("sudoku", sudoku), label)
    assert get_verifier("synlogic:minesweeper").fallback_wrong("not game data") == NO_WRONG_LABEL


def test_the_gold_names_its_task_type():
    gold = make_gold("game_of_24", '{"question": "q", "answer": "1*2*3*4", "difficulty": 1, '
                                   '"metadata": {"numbers": [1, 2, 3, 4], "operators": ["+", "-", "*", "/"], "result": 24}}')
    game = read_gold(gold)
    assert game["synlogic"] == "game_of_24" and game["answer"] == "1*2*3*4" and "difficulty" not in game
    assert read_gold("1*2*3*4") is None and read_gold('{"answer": 3}') is None and read_gold("{broken") is None
    with pytest.raises(ValueError, match="given the game data of task type 'game_of_24'"):
        get_verifier("synlogic:mathador").equal(gold, "1*2*3*4")
    with pytest.raises(ValueError, match="not a JSON object"):
        make_gold("sudoku", "[1, 2]")


def test_game_data_missing_what_the_rule_reads_is_a_data_error():
    gold = make_gold("game_of_24", {"question": "q", "answer": "1*2*3*4", "metadata": {"numbers": [1, 2, 3, 4]}})
    with pytest.raises(ValueError, match="lacks result"):
        get_verifier("synlogic:game_of_24").equal(gold, "1*2*3*4")


def test_game_of_24_computes_exactly_with_the_given_numbers():
    gold = make_gold("game_of_24", {"question": "q", "answer": "8/(3-8/3)",
                                    "metadata": {"numbers": [3, 3, 8, 8], "operators": ["+", "-", "*", "/"], "result": 24}})
    verifier = get_verifier("synlogic:game_of_24")
    assert verifier.equal(gold, "8/(3-8/3)")  # 24 only in exact arithmetic: 8 / (1/3)
    assert verifier.equal(gold, "```python\n8/(3-(8/3))\n```")
    assert not verifier.equal(gold, "8/(3-8/3)+0")  # a number not given
    assert not verifier.equal(gold, "8/(3-3)*8")  # division by zero
    assert not verifier.equal(gold, "3*8")  # numbers left out
    # the released check compared the result with itself: any expression of the numbers passed
    assert not verifier.equal(gold, "3+3+8+8")
    only_add = make_gold("mathador", {"question": "q", "answer": "", "metadata": {
        "numbers": [3, 3, 8, 8], "operators": ["+", "-"], "result": 22}})
    assert get_verifier("synlogic:mathador").equal(only_add, "3+3+8+8")
    assert not get_verifier("synlogic:mathador").equal(only_add, "8*3-3+... ")


@pytest.mark.parametrize("text,value", [
    ("1+2*3", Fraction(7)), ("(1+2)*3", Fraction(9)), ("8/(3-8/3)", Fraction(24)), ("7/2", Fraction(7, 2)),
    (" 2 * ( 3 + 4 ) ", Fraction(14)), ("10-2-3", Fraction(5)), ("12/2/3", Fraction(2)),
])
def test_arithmetic_grammar(text, value):
    assert arithmetic(text)[0] == value


@pytest.mark.parametrize("text", [
    "2**3", "2^3", "-1+2", "1+", "(1+2", "1+2)", "1/0", "abs(1)", "1e3", "1.5+1", "__import__('os')", "",
    "(" * 41 + "1" + ")" * 41, "+".join(["1"] * 150), "1" * 13, "1=1",
])
def test_arithmetic_refuses_what_is_outside_the_grammar(text):
    assert arithmetic(text) is None


def test_arithmetic_reports_the_numbers_it_used_and_the_operators_it_allows():
    assert arithmetic("(10-5)*7+2")[1] == [10, 5, 7, 2]
    assert arithmetic("7%3", "+-*/%")[0] == 1 and arithmetic("7%3") is None
    assert arithmetic("2*3", "+-") is None


def test_norinori_regions_need_two_shaded_cells_even_when_left_empty():
    puzzle = json.loads((FIXTURES / "norinori.json").read_text())[0]
    without_d = "[[(1,1),(2,1)], [(1,3),(1,4)], [(4,1),(4,2)]]"
    assert not get_verifier("synlogic:norinori").equal(gold_of("norinori", puzzle), without_d)


def test_word_sorting_mistake_without_an_answer_means_no_mistake():
    puzzle = json.loads((FIXTURES / "word_sorting_mistake.json").read_text())[1]
    assert puzzle["answer"] is None
    assert get_verifier("synlogic:word_sorting_mistake").equal(gold_of("word_sorting_mistake", puzzle), "\\boxed{No}")


def test_every_task_type_names_the_fields_it_reads_and_fixtures_have_them():
    from mirage.verifiers.synlogic.rules import missing_fields

    for task, _, puzzle in PUZZLES:
        assert missing_fields(task, read_gold(gold_of(task, puzzle))) == [], task
