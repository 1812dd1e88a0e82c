"""The paper-scale verifiers: math-verify for mathematics, normalised short
answers for KOR-Bench and SynLogic. Several cases are defects of the released
code that must not come back (string comparison, a format regex without DOTALL)."""

import threading
import time

import pytest

from mirage.verify import (
    LOGIC_RULES,
    MAX_ANSWER_CHARS,
    LogicVerifier,
    MathVerifier,
    get_verifier,
    last_boxed,
    last_double_bracket,
)


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


# -- LogicVerifier --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "name,answer,gold,correct",
    [
        # operation: numbers compare as numbers
        ("kor:operation", "[[12.0]]", "[[12]]", True),
        ("kor:operation", "The result is [[ -3.50 ]].", "[[-3.5]]", True),
        ("kor:operation", "12", "[[12]]", True),
        ("kor:operation", "[[13]]", "[[12]]", False),
        ("kor:operation", "[[0012]]", "[[12]]", True),
        # counterfactual: choice letters and short text; a multi-select answer is a set
        ("kor:counterfactual", "[[b]]", "[[B]]", True),
        ("kor:counterfactual", "[[C]]", "[[B]]", False),
        ("kor:counterfactual", "[[C, B]]", "[[B;C]]", True),
        ("kor:counterfactual", "[[B]]", "[[B;C]]", False),
        ("kor:counterfactual", "[['Paris'.]]", "[[paris]]", True),
        # puzzle: ordered lists
        ("kor:puzzle", "[[1,2, 3]]", "[[1, 2, 3]]", True),
        ("kor:puzzle", "[[3, 2, 1]]", "[[1, 2, 3]]", False),
        ("kor:puzzle", "[[1, 2]]", "[[1, 2, 3]]", False),
        ("kor:puzzle", "[[\"a\", 'b', c.]]", "[[A,B,C]]", True),
        # cipher: one case-insensitive string; digits and commas are text
        ("kor:cipher", "[[hello   world]]", "[[HELLO WORLD]]", True),
        ("kor:cipher", "[[HELLO WORLX]]", "[[HELLO WORLD]]", False),
        ("kor:cipher", "[[0012]]", "[[12]]", False),
        ("kor:cipher", "[[HELLO,WORLD]]", "[[HELLO, WORLD]]", False),
        # logic: ordered truth values or letters
        ("kor:logic", "[[t; f]]", "[[T;F]]", True),
        ("kor:logic", "[[F;T]]", "[[T;F]]", False),
        ("kor:logic", "[[3.0]]", "[[3]]", True),
        # synlogic: plain short answers, no brackets needed
        ("synlogic", "\"Yes\".", "yes", True),
        ("synlogic", "no", "yes", False),
        ("synlogic", "1, 2,3", "[[1,2,3]]", True),
        ("synlogic", "[[2, 1, 3]]", "1, 2, 3", False),
        # a mix of KOR subsets: the shared rules
        ("kor", "[[3.0]]", "[[3]]", True),
        ("kor", "[[B]]", "[[A]]", False),
    ],
)
def test_logic_grades(name, answer, gold, correct):
    g = LogicVerifier(name).grade(tagged(answer), gold)
    assert g.well_formed and g.correct is correct


def test_logic_extraction():
    v = LogicVerifier("kor")
    assert v.grade(tagged("first [[A]] then [[B]]"), "B").extracted_answer == "B"
    # brackets in the reasoning do not count when the answer tag has none
    g = v.grade("<think>[[1]]</think><answer>2</answer>", "2")
    assert g.extracted_answer == "2" and g.correct
    # without tags: no answer (the released rule)
    g = v.grade("so the answer is [[7]]", "[[7]]")
    assert not g.well_formed and not g.correct and g.extracted_answer is None
    g = v.grade("7", "7")
    assert not g.correct and g.extracted_answer is None


@pytest.mark.parametrize("name", sorted(LOGIC_RULES))
def test_logic_without_tags_with_the_fallback(name):
    v = LogicVerifier(name, fallback=True)
    # the last [[...]] anywhere, graded but not well formed
    g = v.grade("so [[1]], no: the answer is [[7]]", "[[7]]")
    assert not g.well_formed and g.correct and g.extracted_answer == "7"
    g = v.grade("7", "7")
    assert not g.correct and g.extracted_answer is None
    # with a tag, the tag still decides
    g = v.grade("<think>[[1]]</think><answer>2</answer>", "2")
    assert g.extracted_answer == "2" and g.correct
    assert not LogicVerifier(name).grade("[[7]]", "7").correct
    assert get_verifier("kor", fallback=True).grade("[[7]]", "7").correct


def test_logic_newline_in_the_answer():
    g = LogicVerifier("kor:counterfactual").grade("<think>a\nb</think><answer>\n[[A]]\n</answer>", "[[A]]")
    assert g.well_formed and g.correct


@pytest.mark.parametrize("answer", ["", "[[]]", " . ", "' '"])
def test_logic_empty_answers_are_incorrect(answer):
    assert not LogicVerifier("synlogic").grade(tagged(answer), answer).correct


def test_logic_empty_gold_is_never_matched():
    assert not LogicVerifier("kor").grade(tagged("[[A]]"), "").correct


def test_logic_nan_and_infinity_are_words():
    v = LogicVerifier("kor:operation")
    assert v.equal("[[inf]]", "inf")
    assert not v.equal("[[inf]]", "1e999")  # would be equal as floats


def test_logic_huge_answers_are_quick_and_incorrect():
    v = LogicVerifier("kor")
    start = time.perf_counter()
    assert not v.grade("[[" * 500_000, "1").correct
    huge = "1" * 1_000_000
    assert not v.grade(tagged(huge), huge).correct  # equal to the gold, yet over the cap
    assert v.canonical(huge) is None
    assert time.perf_counter() - start < 5


def test_logic_canonical():
    assert LogicVerifier("kor").canonical("'A', \"b\".") == "a, b"
    assert LogicVerifier("kor").canonical("1, 2.0; 3.") == "1, 2, 3"
    assert LogicVerifier("kor:counterfactual").canonical("C;B") == LogicVerifier("kor:counterfactual").canonical("b, c")
    assert LogicVerifier("kor:puzzle").canonical("3, 1") != LogicVerifier("kor:puzzle").canonical("1, 3")
    assert LogicVerifier("kor:cipher").canonical("0012") == "0012"
    assert LogicVerifier("kor").canonical("  ") is None


@pytest.mark.parametrize("name", sorted(LOGIC_RULES))
@pytest.mark.parametrize("answer", ["[[B;C]]", "[[12]]", "Hello World", "[[1, 2, 3]]", "[[z]]", "[[1e300]]"])
def test_logic_canonical_is_graded_like_the_answer(name, answer):
    # a wrong label is a canonical answer, later graded as gold
    v = LogicVerifier(name)
    completion = tagged(answer)
    assert v.grade(completion, v.canonical(v.extract(completion))).correct


@pytest.mark.parametrize("name", sorted(LOGIC_RULES))
@pytest.mark.parametrize("gold", ["[[B;C]]", "[[12]]", "Hello World", "[[1, 2, 3]]", "[[z]]", "[[1e300]]", ""])
def test_logic_fallback_wrong_is_wrong(name, gold):
    v = LogicVerifier(name)
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
        assert isinstance(verifier, LogicVerifier) and verifier.name == name
    from mirage.synlogic import SynLogicDispatcher

    # SynLogic: each task type by its own verifier, chosen from the gold's game data
    assert isinstance(get_verifier("synlogic"), SynLogicDispatcher)
    assert get_verifier("kor:cipher").rules == LOGIC_RULES["kor:cipher"]
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
