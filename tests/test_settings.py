"""The schema is the one place a default is written; the settings objects the
library takes are built from it; the library's functions stay small."""

import ast
import dataclasses
import re

import pytest
import yaml
from conftest import REPO

from mirage.core import settings as S

SCHEMA = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
LIBRARY = sorted((REPO / "mirage").rglob("*.py"))


@pytest.fixture(scope="module")
def default_config():
    from mirage.config import load_config

    return load_config([REPO / "config" / "config.yaml"])


@pytest.fixture(scope="module")
def paper_config():
    from mirage.config import load_config

    return load_config([REPO / "config" / "paper.yaml"])


def schema_defaults() -> dict[str, list]:
    """Every default the schema writes, by key name (a name may sit in several sections)."""
    found: dict[str, list] = {}

    def walk(node):
        if isinstance(node, dict):
            for key, prop in (node.get("properties") or {}).items():
                if isinstance(prop, dict) and "default" in prop:
                    found.setdefault(key, []).append(prop["default"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)
    return found


@pytest.mark.parametrize("cls", S.ALL, ids=lambda c: c.__name__)
def test_every_settings_field_is_a_schema_key_with_the_schemas_default(cls):
    node = S.schema_section(cls.SECTION)
    keys, required = set(node["properties"]), set(node.get("required", []))
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert set(fields) == keys, f"{cls.__name__} and the schema's '{cls.SECTION}' name different settings"
    for name, f in fields.items():
        prop = S._resolved(node["properties"][name])
        if name in cls.NESTED:
            assert f.default_factory() == cls.NESTED[name].from_dict(prop.get("default"))
        elif "default" in prop:
            assert f.default == S._frozen(prop["default"]), name
        elif name in required:
            assert f.default is dataclasses.MISSING, name
        else:
            assert f.default is None, f"{name}: an optional key without a schema default is None (absent)"


def test_the_validated_config_turns_into_settings_with_nothing_left_over(default_config, paper_config):
    for config in (default_config, paper_config):
        grpo = S.GRPOSettings.from_dict(config["rl"]["grpo"])
        assert grpo.as_dict() == {**grpo.as_dict(), **config["rl"]["grpo"]}  # every configured value kept
        S.SamplerSettings.from_dict(config["sampler"])
        S.CheckpointSettings.from_dict(config["checkpoints"])
        for model in config["models"].values():
            if model["source"] == "toy":
                S.SFTSettings.from_dict(model["sft"])


def test_settings_name_a_bad_key_and_cannot_be_changed(default_config):
    grpo = dict(default_config["rl"]["grpo"])
    with pytest.raises(ValueError, match=r"'rl.grpo.learning_rat': unknown setting"):
        S.GRPOSettings.from_dict({**grpo, "learning_rat": 1.0})
    del grpo["steps"]
    with pytest.raises(ValueError, match=r"'rl.grpo.steps' is required"):
        S.GRPOSettings.from_dict(grpo)
    settings = S.GRPOSettings.from_dict(default_config["rl"]["grpo"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.steps = 3
    off = settings.without_dynamic_sampling()
    assert not off.dynamic_sampling.enabled and off.steps == settings.steps
    with pytest.raises(ValueError, match="divisible by steps_per_generation"):
        settings.check_batch_split(processes=settings.generation_batch + 1)


# Keys whose name the schema uses for another, defaulted setting: what the code reads has none.
HOMONYMS = {"gpu": "resources.<group>.gpu has no default (plan.gpu is the planner's GPU type)"}


def test_every_default_the_code_writes_for_a_config_key_is_the_schemas():
    """``cfg.get("key", value)`` in the library, for a key the schema defaults:
    ``value`` must be that default (the schema's is the one that counts; a
    different one in code is a default that has drifted)."""
    defaults, drifted, seen = schema_defaults(), [], 0
    for path in LIBRARY:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "setdefault") and len(node.args) == 2
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value in defaults
                    and node.args[0].value not in HOMONYMS):
                continue
            try:
                value = ast.literal_eval(node.args[1])
            except ValueError:
                continue  # a value computed from other settings, not a written default
            seen += 1
            if value not in defaults[node.args[0].value]:
                drifted.append(f"{path.relative_to(REPO)}:{node.lineno} {ast.unparse(node)}: "
                               f"schema says {defaults[node.args[0].value]}")
    assert seen >= 10  # the scan finds the library's reads
    assert not drifted, "\n".join(drifted)


RULE_GET = re.compile(r"""\.(?:get|setdefault)\(\s*(["'])(\w+)\1\s*,\s*([^()]*?)\s*\)""")


def rule_defaults_that_drift(text: str, where: str) -> list[str]:
    """Every ``.get("key", value)`` in Snakemake rules whose key the schema defaults
    and whose ``value`` is not that default (rules are not Python: read by pattern)."""
    defaults, drifted = schema_defaults(), []
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in RULE_GET.finditer(line):
            key, value = m.group(2), m.group(3)
            if key not in defaults or key in HOMONYMS:
                continue
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                continue
            if value not in defaults[key]:
                drifted.append(f"{where}:{lineno} {m.group(0)}: schema says {defaults[key]}")
    return drifted


def test_the_rules_write_no_default_of_their_own_for_a_config_key():
    """The rules read a defaulted key from the validated config (the schema fills it) or
    through the library; a default written in a rule is caught here, as in the library."""
    assert rule_defaults_that_drift('x = MODELS[m].get("prompt_format", "chat")', "planted")  # the scan can fail
    drifted = [d for path in sorted((REPO / "rules").glob("*.smk")) + [REPO / "Snakefile"]
               for d in rule_defaults_that_drift(path.read_text(), str(path.relative_to(REPO)))]
    assert not drifted, "\n".join(drifted)


def test_no_library_function_takes_more_than_eight_parameters():
    long = []
    for path in LIBRARY:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
                count = len(names) + bool(a.vararg) + bool(a.kwarg) - (names[:1] in (["self"], ["cls"]))
                if count > 8:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({count})")
    assert not long, "\n".join(long)


def test_every_verifier_completes_the_base_class_interface():
    from mirage.verifiers.base import AnswerVerifier
    from mirage.verifiers.registry import VERIFIERS, get_verifier

    for name in VERIFIERS:
        cls = type(get_verifier(name))
        for method in ("equal", "canonical", "fallback_wrong"):
            assert getattr(cls, method) is not getattr(AnswerVerifier, method), f"{name} lacks {method}"
    with pytest.raises(NotImplementedError, match="AnswerVerifier.canonical"):
        AnswerVerifier().canonical("1")
