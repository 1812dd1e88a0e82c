import pytest

from mirage.core.registry import Registry


def test_lookup_returns_the_entry_and_names_the_kind_and_known_names_otherwise():
    colours = Registry("colour", {"red": 1, "blue": 2})
    assert colours.lookup("red") == 1 and colours["blue"] == 2 and "green" not in colours
    with pytest.raises(ValueError, match=r"^unknown colour 'green'; known: blue, red$"):
        colours.lookup("green")
    with pytest.raises(ValueError, match=r"^unknown colour \['red'\]; known: blue, red$"):
        colours.lookup(["red"])  # an unhashable name from a config is an unknown name, not a TypeError


def test_every_registry_of_mirage_is_one():
    from mirage.tasks.hub_sources import SOURCES
    from mirage.toy.pretrain import ARCHITECTURES
    from mirage.toy.tasks import FAMILIES
    from mirage.training.claims import CLAIMS
    from mirage.training.launch import JOB_FUNCTIONS
    from mirage.training.rewards import REWARD_CLASSES
    from mirage.verifiers.logic import LOGIC_RULES
    from mirage.verifiers.registry import VERIFIERS

    registries = [CLAIMS, SOURCES, JOB_FUNCTIONS, REWARD_CLASSES, ARCHITECTURES, FAMILIES, LOGIC_RULES, VERIFIERS]
    assert all(isinstance(r, Registry) and r for r in registries)
    kinds = [r.kind for r in registries]
    assert len(set(kinds)) == len(kinds)
    # the modules that add entries after the registry is made (SynLogic's and reasoning-gym's verifiers)
    assert "synlogic:arc_agi" in VERIFIERS and "reasoning_gym" in VERIFIERS
