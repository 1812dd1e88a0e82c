"""The names of the verifiers (``mirage.verifiers.registry.VERIFIERS``), without the verifiers.

Config validation (``mirage.config``, on every Snakefile parse) only needs to
know which names exist; the verifiers themselves import math-verify and the
SynLogic rules. The names are defined here, once: ``mirage.verifiers.registry`` builds its
logic-subset rules from ``LOGIC_VERIFIERS``, ``mirage.verifiers.synlogic`` refuses to load
when its rules name other task types than ``SYNLOGIC_TASK_TYPES``, and
tests/test_light_config.py checks that ``VERIFIER_NAMES`` is exactly the set of
names of ``VERIFIERS`` once every verifier module is loaded."""

from __future__ import annotations

# grading by comparison of short texts, and math-verify's ``math``
BASIC_VERIFIERS = ("exact", "choice", "integer", "math")
# KOR-Bench's subsets: each is a hub source (``mirage.tasks.hub_sources``) and a verifier ``kor:<subset>``
KOR_SUBSETS = ("operation", "counterfactual", "puzzle", "cipher", "logic")
# short logic answers (``mirage.verifiers.logic.LOGIC_RULES``): "kor" a mix of subsets
LOGIC_VERIFIERS = ("kor", *(f"kor:{subset}" for subset in KOR_SUBSETS), "synlogic")
# SynLogic's task types (a row's data_source), each with its own rule (``mirage.verifiers.synlogic.rules.RULES``)
SYNLOGIC_TASK_TYPES = (
    "arc_agi", "arrow_maze", "boolean_expressions", "buggy_tables", "calcudoko", "campsite", "cipher",
    "cryptarithm", "dyck_language", "dyck_language_errors", "dyck_language_reasoning_errors", "futoshiki",
    "game_of_24", "goods_exchange", "kukurasu", "math_path", "mathador", "minesweeper", "norinori",
    "number_wall", "numbrix", "object_counting", "object_properties", "operation", "skyscraper_puzzle",
    "space_reasoning", "space_reasoning_tree", "star_placement_puzzle", "sudoku", "survo", "time_sequence",
    "web_of_lies", "word_sorting", "word_sorting_mistake", "wordscapes", "zebra_puzzle",
)
# ``synlogic`` dispatches on the gold's task type; ``synlogic:<task type>`` grades one type
SYNLOGIC_VERIFIERS = ("synlogic", *(f"synlogic:{t}" for t in SYNLOGIC_TASK_TYPES))
# a reasoning-gym generator's own score_answer (mirage.tasks.reasoning_gym)
REASONING_GYM_VERIFIER = "reasoning_gym"

VERIFIER_NAMES: frozenset[str] = frozenset(
    (*BASIC_VERIFIERS, *LOGIC_VERIFIERS, *SYNLOGIC_VERIFIERS, REASONING_GYM_VERIFIER)
)
