"""Every verifier, fed adversarial completions, returns a grade quickly, never
raises, never executes model output."""

import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirage.verifiers.adversarial import adversarial_answers, wrap
from mirage.verifiers.base import Grade
from mirage.verifiers.registry import VERIFIERS, get_verifier

GOLDS = {"integer": "12", "math": "\\frac{1}{2}", "kor": "[[A]]", "synlogic": "3", "exact": "Paris, France",
         "choice": "(C)",
         # a generator's entry: graded by reasoning-gym's own scorer
         "reasoning_gym": json.dumps({"reasoning_gym": "basic_arithmetic", "config": {},
                                      "entry": {"question": "Calculate 5 - 3 - 6.", "answer": "-4", "metadata": {}}})}


def gold_for(name):
    return GOLDS.get(name.split(":")[0], "1")


@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("name", sorted(VERIFIERS))
def test_adversarial_completions_are_graded_quickly_and_wrong(name, fallback, tmp_path, monkeypatch):
    verifier = get_verifier(name, fallback=fallback)
    # a completion that tried to run code would leave this file behind
    monkeypatch.chdir(tmp_path)
    for how in range(6):
        for kind, answer in adversarial_answers(np.random.default_rng(how)):
            start = time.perf_counter()
            grade = verifier.grade(wrap(answer.replace("echo pwned", "touch pwned"), how), gold_for(name))
            elapsed = time.perf_counter() - start
            assert isinstance(grade, Grade) and not grade.correct, (name, kind, how)
            assert elapsed < 12, (name, kind, how, elapsed)  # the timeouts are 5 s for parse and verify
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", sorted(VERIFIERS))
@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), how=st.integers(0, 5), fallback=st.booleans())
def test_any_text_gets_a_grade(name, text, how, fallback):
    grade = get_verifier(name, fallback=fallback).grade(wrap(text, how), gold_for(name))
    assert isinstance(grade, Grade) and isinstance(grade.well_formed, bool) and isinstance(grade.correct, bool)
    if grade.correct:
        assert grade.extracted_answer is not None


@pytest.mark.parametrize("text", ["0J", "1+2j", "{1, 2}", "b'x'", "...", "[0J]", "{(1, 2): 3}"])
@pytest.mark.parametrize("name", sorted(n for n in VERIFIERS if n.startswith("synlogic")))
def test_python_literals_json_cannot_write_are_no_answer(name, text):
    # found by hypothesis in CI: ast.literal_eval("0J") is a complex number, and
    # a label's canonical text (JSON) could not be written for it
    for how in range(6):
        grade = get_verifier(name).grade(wrap(text, how), "7")  # a label none of the texts holds
        assert isinstance(grade, Grade) and not grade.correct
