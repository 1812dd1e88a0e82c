import polars as pl
import pytest

from mirage.toy.data import generate_task_splits
from mirage.toy.tasks import FAMILIES, Problem, classify_style, make_family
from mirage.verifiers.base import IntegerVerifier

TEMPLATE = "{question} -> <think> <answer>\n"


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_splits_are_deterministic_distinct_and_complete(family):
    a = generate_task_splits(family, family, {"digits": 3}, 50, 20, seed=7, prompt_template=TEMPLATE)
    b = generate_task_splits(family, family, {"digits": 3}, 50, 20, seed=7, prompt_template=TEMPLATE)
    c = generate_task_splits(family, family, {"digits": 3}, 50, 20, seed=8, prompt_template=TEMPLATE)
    assert a.equals(b)
    assert not a.equals(c)
    assert a.filter(pl.col("split") == "train").height == 50
    assert a.filter(pl.col("split") == "eval").height == 20
    assert a["question"].n_unique() == 70  # no problem in both splits
    assert a["problem_id"].n_unique() == 70
    assert set(a.columns) >= {"problem_id", "task", "split", "prompt", "answer"}
    assert all("<think>" in p and "<answer>" in p for p in a["prompt"])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_styles_grade_as_designed(family):
    """The procedure is right, the flawed procedure wrong on every drawn (trap)
    problem, and every style's completion is well formed."""
    import numpy as np

    fam = make_family(family, digits=3, require_trap=True)
    rng = np.random.default_rng(0)
    verifier = IntegerVerifier()
    for _ in range(200):
        problem = fam.draw(rng)
        good = verifier.grade(fam.completion(problem, "procedure"), str(problem.answer))
        bad = verifier.grade(fam.completion(problem, "flawed"), str(problem.answer))
        direct = verifier.grade(fam.completion(problem, "direct"), str(problem.answer))
        assert good.correct and good.well_formed
        assert bad.well_formed and not bad.correct
        assert direct.correct
        assert classify_style(fam.completion(problem, "procedure")) == "procedure"
        assert classify_style(fam.completion(problem, "flawed")) == "flawed"
        assert classify_style(fam.completion(problem, "direct")) == "direct"


def test_addition_scratchpads_by_hand():
    fam = make_family("add", digits=3)
    p = Problem("456+789", (456, 789), 1245)
    assert fam.completion(p, "procedure") == "<think>S:6+9+0=15;5+8+1=14;4+7+1=12</think><answer>1245</answer>"
    assert fam.completion(p, "flawed") == "<think>Q:6+9=5;5+8=3;4+7=1</think><answer>135</answer>"
    assert fam.completion(p, "direct") == "<think></think><answer>1245</answer>"


def test_subtraction_borrows_by_hand():
    fam = make_family("sub", digits=3)
    p = Problem("523-187", (523, 187), 336)
    assert fam.completion(p, "procedure") == "<think>S:13-7-0=6;12-8-1=3;5-1-1=3</think><answer>336</answer>"
    assert fam.completion(p, "flawed") == "<think>Q:7-3=4;8-2=6;5-1=4</think><answer>464</answer>"


def test_multiplication_and_digit_sum_by_hand():
    mul = make_family("mul", digits=3)
    assert mul.completion(Problem("456*7", (456, 7), 3192), "procedure") == (
        "<think>S:6*7+0=42;5*7+4=39;4*7+3=31</think><answer>3192</answer>"
    )
    dsum = make_family("dsum", digits=3)
    assert dsum.completion(Problem("digitsum 98765", (98765,), 35), "flawed") == (
        "<think>Q:9+8=7;7+7=4;4+6=0;0+5=5</think><answer>5</answer>"
    )


def test_unknown_family_and_style_are_named():
    with pytest.raises(ValueError, match="unknown task family 'div'"):
        make_family("div")
    fam = make_family("add")
    with pytest.raises(ValueError, match="unknown style 'guess'"):
        fam.completion(Problem("1+1", (100, 100), 200), "guess")


@pytest.mark.parametrize(
    "text,style",
    [
        ("<think>S:1+2+0=3</think><answer>3</answer>", "procedure"),
        ("<think>Q:1+2=3</think><answer>3</answer>", "flawed"),
        ("<think></think><answer>3</answer>", "direct"),
        ("<think>hmm</think><answer>3</answer>", "other"),
        ("3", "other"),
    ],
)
def test_classify_style(text, style):
    assert classify_style(text) == style


def test_a_context_prefixes_the_question_and_core_question_strips_it():
    import numpy as np

    from mirage.toy.tasks import core_question, make_family

    plain = make_family("add", digits=2).draw(np.random.default_rng(3))
    framed = make_family("add", digits=2, context="c1").draw(np.random.default_rng(3))
    assert framed.question == f"c1: {plain.question}" and framed.answer == plain.answer
    assert core_question(framed.question) == core_question(plain.question) == plain.question
