import copy
import json
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from conftest import REPO, run_snakemake

from mirage.config import ConfigError, typed_overrides, validate_config

SCHEMA = REPO / "config" / "schema.yaml"


@pytest.fixture(scope="module")
def default_config():
    # through JSON: YAML anchors would make toy_a and toy_b share one dict
    return json.loads(json.dumps(yaml.safe_load((REPO / "config" / "config.yaml").read_text())))


def test_default_config_is_valid(default_config):
    cfg = validate_config(copy.deepcopy(default_config), SCHEMA)
    assert cfg["sampler"]["batch_size"] == 512


def test_a_sweep_adds_one_model_with_a_task_context_per_level(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["sweeps"] = {"exposure": {"template": "toy_a", "task": "add",
                                  "levels": [{"styles": {"procedure": 0.1, "flawed": 0.8, "direct": 0.1}},
                                             {"practice": 0.5}]}}
    validate_config(cfg, SCHEMA)
    model = cfg["models"]["exposure"]
    assert sorted(model["mixture"]) == ["exposure_0", "exposure_1"]
    assert model["architecture"] == cfg["models"]["toy_a"]["architecture"]
    first, second = model["mixture"]["exposure_0"], model["mixture"]["exposure_1"]
    assert first["styles"]["procedure"] == 0.1 and first["practice"] == 0.2
    assert second["practice"] == 0.5 and second["styles"]["procedure"] == 0.75
    assert cfg["tasks"]["exposure_1"]["params"] == {**cfg["tasks"]["add"]["params"], "context": "exposure1"}
    assert "context" not in cfg["tasks"]["add"]["params"]
    assert cfg["models"]["toy_a"]["mixture"]["add"]["styles"]["procedure"] == 0.75  # the template is untouched
    assert cfg["figures"] == {"dpi": 120}  # defaults filled


def test_nested_command_line_values_are_typed_as_yaml_types_them():
    # what Snakemake's --config parser hands over: top-level values typed, nested ones strings
    given = {"seed": 7, "rl": {"seeds": ["3", "4"], "grpo": {"learning_rate": "1e-5", "beta": "0.0"}},
             "analysis": {"verdict": {"min_gain": "0.05"}, "paper_regimes": {"m/t": "strong"}},
             "flags": ["true", "null", "[1]", "{a: 1}", "x: y: z"]}
    assert typed_overrides(given) == {
        "seed": 7, "rl": {"seeds": [3, 4], "grpo": {"learning_rate": 1e-5, "beta": 0.0}},
        "analysis": {"verdict": {"min_gain": 0.05}, "paper_regimes": {"m/t": "strong"}},
        "flags": [True, None, "[1]", "{a: 1}", "x: y: z"]}


def test_a_sweep_trains_only_claims_of_the_study(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["sweeps"] = {"exposure": {"template": "toy_a", "task": "add", "claims": ["ground_truth", "entropy_min"],
                                  "levels": [{"practice": 0.5}]}}
    with pytest.raises(ConfigError, match=r"'sweeps.exposure.claims' names 'entropy_min', which is not in 'rl.claims'"):
        validate_config(cfg, SCHEMA)


@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def test_paper_config_is_valid(paper_config):
    cfg = validate_config(copy.deepcopy(paper_config), SCHEMA)
    assert cfg["rl"]["seeds"] == [1, 2, 3] and cfg["rl"]["grpo"]["learning_rate"] == 1e-6


def test_paper_config_carries_the_papers_regime_labels(paper_config, default_config):
    cfg = validate_config(copy.deepcopy(paper_config), SCHEMA)
    assert cfg["analysis"]["paper_regimes"] == {
        "qwen2_5_7b/math": "strong", "llama3_1_8b_instruct/math": "weak", "qwen2_5_7b/logic/korbench_puzzle": "weak",
        "llama3_1_8b_instruct/logic/korbench_counterfactual": "strong",
        "llama3_1_8b_instruct/logic/korbench_operation": "strong", "llama3_1_8b_instruct/logic/korbench_cipher": "weak"}
    assert validate_config(copy.deepcopy(default_config), SCHEMA)["analysis"]["paper_regimes"] == {}
    bad = copy.deepcopy(paper_config)
    bad["analysis"]["paper_regimes"] = {"qwen2_5_7b/logic/korbench_nope": "weak"}
    with pytest.raises(ConfigError, match="not evaluated on benchmark 'korbench_nope'"):
        validate_config(bad, SCHEMA)
    bad["analysis"]["paper_regimes"] = {"qwen2_5_7b/add": "weak"}
    with pytest.raises(ConfigError, match="not a model/task pair"):
        validate_config(bad, SCHEMA)


BAD_CONFIGS = sorted((REPO / "tests" / "configs" / "bad").glob("*.yaml"))


def header(path, field):
    match = re.search(rf"^# {field}: (.*)$", path.read_text(), re.MULTILINE)
    return match.group(1).strip() if match else ""


def test_the_bad_config_catalogue_is_large_and_each_entry_says_what_it_expects():
    assert len(BAD_CONFIGS) >= 20
    for path in BAD_CONFIGS:
        assert header(path, "expect"), path
        assert header(path, "base") in ("none", "config/config.yaml", "config/paper.yaml"), path


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """Every catalogue entry through the real CLI, as its ``run:`` line types it,
    each in a fresh study directory; several at a time (each is one short process)."""
    def run(path):
        workdir = tmp_path_factory.mktemp(path.stem)
        shutil.copytree(REPO / "config", workdir / "config")
        base = header(path, "base")
        configs = ([] if base == "none" else [str(workdir / base)]) + [str(path)]
        proc = run_snakemake("-n", "--configfile", *configs, "--directory", str(workdir), check=False, timeout=120)
        return proc, workdir

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        return dict(zip(BAD_CONFIGS, pool.map(run, BAD_CONFIGS)))


@pytest.mark.integration
@pytest.mark.parametrize("path", BAD_CONFIGS, ids=[p.stem for p in BAD_CONFIGS])
def test_snakemake_refuses_each_bad_config_before_any_job_with_one_line(path, refusals):
    proc, workdir = refusals[path]
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines()
             if line.strip() and not line.startswith("Using workflow specific profile")]
    assert len(lines) == 1, lines
    assert re.search(header(path, "expect"), lines[0]), lines[0]
    assert not (workdir / "results").exists()


def test_config_readme_describes_every_section_and_every_shipped_config():
    doc = (REPO / "config" / "README.md").read_text()
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", doc, flags=re.M))
    assert set(schema["properties"]) <= rows, sorted(set(schema["properties"]) - rows)
    shipped = {p.name for p in (REPO / "config").glob("*.yaml")} | {"accelerate/"}
    files = set(re.findall(r"^\| `([\w./-]+)` \|", doc, flags=re.M))
    assert shipped <= files, sorted(shipped - files)


def test_a_local_model_is_checked_before_any_job(tmp_path, monkeypatch):
    """A model path that is neither a local folder nor a hub id, and a chat prompt format for a
    tokenizer without a chat template, are config errors, not failures at job time."""
    from mirage.config import check_model

    monkeypatch.chdir(tmp_path)
    config = {"tasks": {}}
    with pytest.raises(ConfigError, match=r"'models\.m\.path' is 'mymodel_nope': no such folder in the study "
                                          r"directory .*, and not a hub id \(org/name\)"):
        check_model(config, "m", {"source": "pretrained", "path": "mymodel_nope"})
    check_model(config, "m", {"source": "pretrained", "path": "org/name"})  # a hub id: read at run time
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 8}))
    check_model(config, "m", {"source": "pretrained", "path": "model", "prompt_format": "plain"})
    with pytest.raises(ConfigError, match=r"'models\.m\.prompt_format' is chat, but the tokenizer in 'model' has no "
                                          "chat template"):
        check_model(config, "m", {"source": "pretrained", "path": "model", "prompt_format": "chat"})
    (tmp_path / "model" / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    check_model(config, "m", {"source": "pretrained", "path": "model", "prompt_format": "chat"})
