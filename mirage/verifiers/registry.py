"""Every verifier by name (``VERIFIERS``): one explicit table, built from the verifier
modules, which import nothing from here."""

from __future__ import annotations

import functools

from mirage.core.registry import Registry
from mirage.verifiers.base import AnswerVerifier, IntegerVerifier
from mirage.verifiers.kor import KOR_VERIFIERS
from mirage.verifiers.logic import LOGIC_RULES, LogicVerifier
from mirage.verifiers.math_answers import MathVerifier
from mirage.verifiers.reasoning_gym import ReasoningGymVerifier
from mirage.verifiers.synlogic.verifier import SYNLOGIC_VERIFIERS
from mirage.verifiers.text import ChoiceVerifier, ExactVerifier

# name -> a factory taking no argument
VERIFIERS: Registry[type[AnswerVerifier]] = Registry("verifier", {
    "exact": ExactVerifier,
    "choice": ChoiceVerifier,
    "integer": IntegerVerifier,
    "math": MathVerifier,
    **{name: functools.partial(LogicVerifier, name) for name in LOGIC_RULES},
    # "synlogic" (the dispatcher, in the place of the logic rule above) and "synlogic:<task type>"
    **SYNLOGIC_VERIFIERS,
    **KOR_VERIFIERS,  # "kor", "kor:<subset>": KOR-Bench's grading
    "reasoning_gym": ReasoningGymVerifier,  # a generator's own score_answer (reasoning-gym imported when grading)
})


def get_verifier(name, fallback: bool = False):
    """The verifier called ``name``, grading answers outside ``<answer>`` tags
    only with ``fallback``; a verifier object (already configured) is returned as is."""
    if isinstance(name, AnswerVerifier):
        return name
    verifier = VERIFIERS.lookup(name)()
    if fallback:
        verifier.fallback = True
    return verifier

