import pytest

from mirage.verifiers.base import IntegerVerifier, canonical_integer, extract_answer, is_well_formed


def test_well_formed_accepts_newlines_in_the_answer():
    # the released code's regex lacked DOTALL and zeroed this completion
    assert is_well_formed("<think>a\nb</think><answer>\n12\n</answer>")


@pytest.mark.parametrize(
    "text",
    ["<answer>1</answer>", "<think>x</think>", "<think>x</think><answer>1", "x<think></think><answer>1</answer>",
     "<answer>1</answer><think></think>"],
)
def test_malformed(text):
    assert not is_well_formed(text)


def test_extracts_the_last_answer():
    assert extract_answer("<answer>1</answer> then <answer> 2 </answer>") == "2"
    assert extract_answer("no tags") is None


@pytest.mark.parametrize(
    "text,expected",
    [("007", "7"), ("+12", "12"), ("-0", "0"), ("-05", "-5"), ("1,234", "1234"), ("12a", None), ("", None),
     ("٣", None), ("1.0", None)],
)
def test_canonical_integer(text, expected):
    assert canonical_integer(text) == expected


def test_grade():
    v = IntegerVerifier()
    g = v.grade("<think>S:..</think><answer>0135</answer>", "135")
    assert g.correct and g.well_formed and g.extracted_answer == "0135"
    assert not v.grade("<think></think><answer>136</answer>", "135").correct
    # correctness is graded even when the format is broken; the reward decides what to do with it
    g = v.grade("<answer>135</answer>", "135")
    assert g.correct and not g.well_formed
    assert not v.grade("135", "135").correct
