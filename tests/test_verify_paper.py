"""The paper-scale verifiers: math-verify for mathematics, normalised short
answers for KOR-Bench and SynLogic. Several cases are defects of the released
code that must not come back (string comparison, a format regex without DOTALL)."""

import threading
import time

import pytest

from mirage.verifiers.base import MAX_ANSWER_CHARS
from mirage.verifiers.kor import KorVerifier
from mirage.verifiers.logic import LogicVerifier, last_double_bracket
from mirage.verifiers.math_answers import MathVerifier, last_boxed
from mirage.verifiers.registry import get_verifier


def tagged(answer: str) -> str:
    return f"<think>reasoning</think><answer>{answer}</answer>"


@pytest.fixture(scope="module")
def math() -> MathVerifier:
    return MathVerifier()


# -- extraction -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text,expected",
    [
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),  # nested braces
        (r"\boxed{\{1,2\}}", r"\{1,2\}"),  # escaped braces neither open nor close
        (r"\boxed{1} then \boxed{ 2 }", "2"),
        (r"\boxed {3}", "3"),
        (r"\boxed{1} and an unclosed \boxed{2", "1"),
        (r"\boxed{\boxed{4}}", r"\boxed{4}"),  # the group that closes last
        ("no box", None),
        (r"\boxed 5", None),
    ],
)
def test_last_boxed(text, expected):
    assert last_boxed(text) == expected


def test_last_boxed_is_linear_on_unclosed_groups():
    start = time.perf_counter()
    assert last_boxed(r"\boxed{" * 200_000) is None
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize(
    "text,expected",
    [("[[A]]", "A"), ("x [[1]] y [[ 2, 3 ]] z", "2, 3"), ("[[[1,2],[3]]]", "[1,2],[3]"), ("[A]", None),
     ("[[open", None), ("", None)],
)
def test_last_double_bracket(text, expected):
    assert last_double_bracket(text) == expected


# -- MathVerifier ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "answer,gold",
    [
        (r"\frac{1}{2}", "0.5"),
        ("0.5", r"\frac{1}{2}"),
        (r"\boxed{\frac12}", "1/2"),
        ("2x+1", "1+2x"),  # not equal as strings, equal as mathematics
        (r"The answer is $\boxed{\dfrac{\sqrt{3}}{2}}$.", r"\frac{\sqrt3}{2}"),
        (r"\boxed{\{1,2\}}", r"\{1,2\}"),
        ("x=5", "5"),
        ("1,234", "1234"),
    ],
)
def test_math_equal_answers_are_correct(math, answer, gold):
    g = math.grade(tagged(answer), gold)
    assert g.well_formed and g.correct


def test_math_boxed_content_is_the_extracted_answer(math):
    assert math.grade(tagged(r"so \boxed{\frac12}"), "1/2").extracted_answer == r"\frac12"
    # without a box, the tag's whole content
    assert math.grade(tagged(" 7 "), "7").extracted_answer == "7"


def test_math_newline_in_the_answer_is_well_formed_and_correct(math):
    # the released format regex lacked DOTALL and zeroed exactly this completion
    g = math.grade("<think>a\nb</think>\n<answer>\n\\frac{1}{2}\n</answer>", "0.5")
    assert g.well_formed and g.correct
    assert math.grade(tagged("x =\n 5"), "5").correct


@pytest.mark.parametrize(
    "answer,gold",
    [("3", "4"), (r"\frac{1}{3}", "0.5"), ("2x+1", "2x-1"), ("x", "y"), ("0.9999", "1"), (r"\{1,2\}", r"\{1,3\}"),
     ("", "1"), (r"\frac{", "1"), ("}}{{", "1"), ("$$$", "1"), ("\\", "1")],
)
def test_math_wrong_or_garbled_answers_are_incorrect(math, answer, gold):
    assert not math.grade(tagged(answer), gold).correct


def test_math_without_tags_is_no_answer(math):
    # the released rule: only an answer inside <answer> tags is graded
    g = math.grade(r"thinking... \boxed{7}", "7")
    assert not g.well_formed and not g.correct and g.extracted_answer is None
    g = math.grade("7", "7")
    assert not g.well_formed and not g.correct and g.extracted_answer is None
    # a box inside the answer tag wins over one in the reasoning
    assert math.grade(r"<think>\boxed{1}</think><answer>\boxed{2}</answer>", "2").correct
    assert not math.grade(r"<think>\boxed{2}</think><answer>\boxed{1}</answer>", "2").correct


def test_math_without_tags_with_the_fallback():
    math = get_verifier("math", fallback=True)
    # not well formed, but the last box anywhere is graded
    g = math.grade(r"thinking... \boxed{7}", "7")
    assert not g.well_formed and g.correct and g.extracted_answer == "7"
    assert math.grade(r"\boxed{1} then \boxed{7}", "7").correct
    g = math.grade("7", "7")
    assert not g.well_formed and not g.correct and g.extracted_answer is None
    # with a tag, the tag still decides: the fallback changes nothing
    assert math.grade(r"<think>\boxed{1}</think><answer>\boxed{2}</answer>", "2").correct
    assert not math.grade(r"<think>\boxed{2}</think><answer>\boxed{1}</answer>", "2").correct
    assert math.grade(tagged("5"), "5").extracted_answer == "5"
    assert MathVerifier(fallback=True).grade(r"\boxed{7}", "7").correct


def test_math_gold_goes_first(math):
    # math-verify is asymmetric: gold 1<x<2 accepts (1,2), gold (1,2) rejects 1<x<2
    assert math.grade(tagged("(1,2)"), "1<x<2").correct
    assert not math.grade(tagged("1<x<2"), "(1,2)").correct


def test_math_empty_gold_is_never_matched(math):
    # the format and majority-vote rewards grade against ""
    g = math.grade(tagged("5"), "")
    assert g.well_formed and not g.correct and g.extracted_answer == "5"


def test_math_answer_length_cap(math):
    assert math.equal("7", " " * (MAX_ANSWER_CHARS - 1) + "7")
    assert not math.equal("7", " " * MAX_ANSWER_CHARS + "7")


def test_math_megabyte_answer_is_quick_and_incorrect(math):
    huge = "1" * 1_000_000
    start = time.perf_counter()
    g = math.grade(tagged(huge), huge)  # equal to the gold, yet never parsed
    assert g.well_formed and not g.correct
    assert math.canonical(huge) is None
    assert not math.grade(tagged(r"\boxed{" * 150_000), "1").correct
    assert time.perf_counter() - start < 5


def test_math_comparison_past_the_timeout_is_incorrect():
    verifier = MathVerifier(verify_timeout=1)
    start = time.perf_counter()
    assert not verifier.grade(tagged(r"\sin(10^{10^{10}})"), "0").correct
    assert time.perf_counter() - start < 10


def test_math_refuses_to_run_outside_the_main_thread(math):
    # math-verify's timeouts use SIGALRM; grading everything wrong silently would be worse
    errors = []

    def grade():
        try:
            math.grade(tagged("1"), "1")
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=grade)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "main thread" in str(errors[0])


def test_math_canonical_groups_equal_answers(math):
    assert math.canonical("0.5") == math.canonical(r"\frac12") == math.canonical("1/2") == r"\frac{1}{2}"
    assert math.canonical("2x+1") == math.canonical("1 + 2x")
    assert math.canonical("3") != math.canonical("4")
    assert math.canonical("   ") is None


@pytest.mark.parametrize("answer", ["0.5", "2x+1", r"\{1,2\}", "(1,2]", r"\frac{\sqrt{2}}{2}", "x=5", r"\infty", "-3"])
def test_math_canonical_parses_back_to_the_same_answer(math, answer):
    # wrong labels are canonical answers, later graded as gold
    assert math.equal(math.canonical(answer), answer)


@pytest.mark.parametrize("gold", ["5", "0", r"\frac{1}{2}", "x=5", r"\{1,2\}", "(1,2)", "1<x<2", r"\sqrt{2}", ""])
def test_math_fallback_wrong_is_wrong(math, gold):
    wrong = math.fallback_wrong(gold)
    assert not math.grade(tagged(wrong), gold).correct
    assert not math.equal(gold, wrong)


# -- KorVerifier (KOR-Bench's official rules) and LogicVerifier (SynLogic labels) --------------------

def kor_gold(subset, answer, rule_id="1", idx="1"):
    from mirage.verifiers.kor import make_gold

    return make_gold(subset, answer, rule_id, idx)


@pytest.mark.parametrize(
    "name,answer,gold,correct",
    [
        # the official plain comparison: the first [[...]], spaces, quotes and brackets removed, case kept
        ("kor:operation", "[[12]]", "[[12]]", True),
        ("kor:operation", "The result is [[ -3.50 ]].", "[[-3.50]]", True),
        ("kor:operation", "[[12.0]]", "[[12]]", False),
        ("kor:operation", "12", "[[12]]", False),  # no brackets: no answer
        ("kor:operation", "[[13]]", "[[12]]", False),
        ("kor:operation", "[[-12 or 4]]", "[[4 or -12]]", True),  # the alternatives sorted
        ("kor:operation", "[[4or-12]]", "[[4 or -12]]", True),
        ("kor:counterfactual", "[[B]]", "[[B]]", True),
        ("kor:counterfactual", "[[b]]", "[[B]]", False),
        ("kor:counterfactual", "[[C]] or rather [[B]]", "[[B]]", False),  # the first [[...]] is the answer
        ("kor:counterfactual", "$\\boxed{B}$", "[[B]]", True),  # no [[...]]: the first $\\boxed{}$
        ("kor:cipher", "[[HELLO WORLD]]", "[[HELLO WORLD]]", True),
        ("kor:cipher", "[[hello world]]", "[[HELLO WORLD]]", False),
        ("kor:cipher", "[[\"HELLOWORLD\"]]", "[[HELLO WORLD]]", True),
        ("kor:logic", "[[T;F]]", "[[T;F]]", True),
        ("kor:logic", "[[t;f]]", "[[T;F]]", False),
        ("kor:logic", "[[T; F.]]", "[[T;F]]", True),  # spaces and full stops removed
        ("kor", "[[B]]", "[[A]]", False),
        # the rules a question's rule and number select (its gold written by the hub loader)
        ("kor:operation", "[[ ((16, 27), (16, 5)) ]]", kor_gold("operation", "[[(16,27),(16,5)]]", "23", "170"), True),
        ("kor:operation", "[[(16, 5), (16, 27)]]", kor_gold("operation", "[[(16,27),(16,5)]]", "23", "170"), False),
        ("kor:operation", "[[2\\sqrt{11}]]", kor_gold("operation", "[[2 \\sqrt{ 11}]]", "14", "141"), True),
        ("kor:operation", "[[3\\sqrt{11}]]", kor_gold("operation", "[[2 \\sqrt{ 11}]]", "14", "141"), False),
        ("kor:operation", "[[x≤3, x≥-1]]", kor_gold("operation", "[[x≥-1, x≤3]]", "20", "178"), True),
        ("kor:puzzle", "[[HELLO]]", kor_gold("puzzle", "[[hello]]", "1"), True),
        ("kor:puzzle", "[[pear]]", kor_gold("puzzle", "[[apple pear]]", "4"), True),
        ("kor:puzzle", "[[a]]", kor_gold("puzzle", "[[apple pear]]", "4"), False),  # the official substring test: True
        ("kor:puzzle", "[[(8-4)*(3+3)]]", kor_gold("puzzle", "[[(3+3)*(8-4)=24]]", "10"), True),
        ("kor:puzzle", "[[(8-4)*(3+2)]]", kor_gold("puzzle", "[[(3+3)*(8-4)=24]]", "10"), False),
        ("kor:puzzle", "[[__import__('os')]]", kor_gold("puzzle", "[[(3+3)*(8-4)=24]]", "10"), False),  # never run
        ("kor:logic", "[[B;A]]", kor_gold("logic", "[[A;B]]", "5"), True),  # rule 5: the parts as a multiset
        # synlogic labels: plain short answers, no brackets needed
        ("synlogic", "\"Yes\".", "yes", True),
        ("synlogic", "no", "yes", False),
        ("synlogic", "1, 2,3", "[[1,2,3]]", True),
        ("synlogic", "[[2, 1, 3]]", "1, 2, 3", False),
    ],
)
def test_logic_grades(name, answer, gold, correct):
    g = (LogicVerifier(name) if name == "synlogic" else get_verifier(name)).grade(tagged(answer), gold)
    assert g.well_formed and g.correct is correct


def test_kor_reads_the_answer_tag_and_with_the_fallback_the_text():
    v = get_verifier("kor")
    g = v.grade("<think>[[1]]</think><answer>[[2]]</answer>", "[[2]]")
    assert g.extracted_answer == "[[2]]" and g.correct
    g = v.grade("so the answer is [[7]]", "[[7]]")  # without tags: no answer (the released rule)
    assert not g.well_formed and not g.correct and g.extracted_answer is None
    g = get_verifier("kor", fallback=True).grade("<think>no</think> so the answer is [[7]]", "[[7]]")
    assert not g.well_formed and g.correct


def test_kor_huge_answers_are_quick_and_incorrect():
    v = get_verifier("kor:puzzle")
    start = time.perf_counter()
    assert not v.grade(tagged("[[" * 500_000), kor_gold("puzzle", "[[a]]")).correct
    huge = "[[" + "1" * 1_000_000 + "]]"
    assert not v.grade(tagged(huge), huge).correct  # equal to the gold, yet over the cap
    assert v.canonical(huge) is None
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("name", ["kor", "kor:operation", "kor:cipher", "kor:logic", "kor:counterfactual"])
@pytest.mark.parametrize("answer", ["[[B;C]]", "[[12]]", "[[Hello World]]", "[[1, 2, 3]]", "[[z]]"])
def test_kor_canonical_is_graded_like_the_answer_and_fallback_wrong_is_wrong(name, answer):
    v = get_verifier(name)
    completion = tagged(answer)
    assert v.grade(completion, v.canonical(v.extract(completion))).correct  # a label is graded as gold
    gold = kor_gold(name.split(":")[-1] if ":" in name else "cipher", answer)
    wrong = v.fallback_wrong(gold)
    assert not v.grade(tagged(wrong), gold).correct and v.grade(tagged(answer), gold).correct


@pytest.mark.parametrize("answer", ["", "[[]]", " . ", "' '"])
def test_logic_empty_answers_are_incorrect(answer):
    assert not LogicVerifier("synlogic").grade(tagged(answer), answer).correct


def test_logic_nan_and_infinity_are_words():
    v = LogicVerifier("synlogic")
    assert v.equal("inf", "inf")
    assert not v.equal("inf", "1e999")  # would be equal as floats


def test_logic_canonical():
    assert LogicVerifier("synlogic").canonical("'A', \"b\".") == "a, b"
    assert LogicVerifier("synlogic").canonical("1, 2.0; 3.") == "1, 2, 3"
    assert LogicVerifier("synlogic").canonical("  ") is None


@pytest.mark.parametrize("gold", ["[[B;C]]", "[[12]]", "Hello World", "[[1, 2, 3]]", "[[z]]", "[[1e300]]", ""])
def test_logic_fallback_wrong_is_wrong(gold):
    v = LogicVerifier("synlogic")
    wrong = v.fallback_wrong(gold)
    assert wrong and not v.grade(tagged(f"[[{wrong}]]"), gold).correct


def test_logic_unknown_subset_is_named():
    with pytest.raises(ValueError, match="kor:chess"):
        LogicVerifier("kor:chess")


# -- registry -------------------------------------------------------------------------------------

def test_registry():
    assert isinstance(get_verifier("math"), MathVerifier)
    for name in ["kor", "kor:cipher", "kor:puzzle"]:
        verifier = get_verifier(name)
        assert isinstance(verifier, KorVerifier) and verifier.name == name
    from mirage.verifiers.synlogic.verifier import SynLogicDispatcher

    # SynLogic: each task type by its own verifier, chosen from the gold's game data
    assert isinstance(get_verifier("synlogic"), SynLogicDispatcher)
    assert get_verifier("kor:cipher").subset == "cipher" and get_verifier("kor").subset is None
    assert get_verifier("integer").name == "integer"
    with pytest.raises(ValueError, match="kor:chess"):
        get_verifier("kor:chess")


def test_registry_fallback_is_off_unless_asked():
    for name in ["math", "kor", "kor:cipher", "integer"]:
        assert not get_verifier(name).fallback
        assert not get_verifier(name, fallback=False).fallback
    assert get_verifier("math", fallback=True).fallback and get_verifier("kor", fallback=True).fallback
    # each call is a new verifier: asking for the fallback once does not leak into the next one
    assert not get_verifier("math").fallback
    # a configured verifier passes through (a reward may be given one instead of a name)
    configured = get_verifier("math", fallback=True)
    assert get_verifier(configured) is configured
