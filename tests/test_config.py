import copy
import json

import pytest
import yaml

from conftest import REPO, run_snakemake
from mirage.config import ConfigError, validate_config

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


@pytest.fixture(scope="module")
def paper_config():
    return yaml.safe_load((REPO / "config" / "paper.yaml").read_text())


def test_paper_config_is_valid(paper_config):
    cfg = validate_config(copy.deepcopy(paper_config), SCHEMA)
    assert cfg["rl"]["seeds"] == [1, 2, 3] and cfg["rl"]["grpo"]["learning_rate"] == 1e-6


@pytest.mark.parametrize("key,value,message", [
    ("tasks.math.train.dataset", "gsm8k", r"'tasks.math.train.dataset' is 'gsm8k', expected one of"),
    ("tasks.math.eval", [{"dataset": "deepscaler"}], r"'tasks.math.eval.0.dataset' \('deepscaler'\) has no eval split"),
    ("tasks.logic.eval", [{"dataset": "korbench_cipher"}], r"'tasks.logic.eval.0' needs 'data_files'"),
    ("tasks.math.verifier", "regex", r"'tasks.math.verifier' is 'regex', expected one of"),
    ("tasks.math.train.revison", "main", r"unknown key 'tasks.math.train.revison'"),
])
def test_bad_paper_values_fail_with_one_line_naming_the_key(paper_config, key, value, message):
    assert_refused(paper_config, key, value, message)


def assert_refused(config, key, value, message):
    """``config`` with ``key`` set to ``value`` fails validation with one line matching ``message``."""
    cfg = copy.deepcopy(config)
    _set(cfg, key, value)
    with pytest.raises(ConfigError, match=message) as info:
        validate_config(cfg, SCHEMA)
    assert "\n" not in str(info.value)


def _set(cfg, dotted, value):
    *parents, last = dotted.split(".")
    node = cfg
    for p in parents:
        node = node[p]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value


DELETE = object()

BAD = [
    ("models.toy_a.sft.steps", -5, r"'models.toy_a.sft.steps'.*minimum"),
    ("models.toy_a.sft.steps", "many", r"'models.toy_a.sft.steps'.*not of type 'integer'"),
    ("sampler.temprature", 1.0, r"unknown key 'sampler.temprature'"),
    ("sampler.n", DELETE, r"sampler: 'n' is a required property"),
    ("sampler.backend", "ollama", r"'sampler.backend'.*'ollama' is not one of"),
    ("sampler.top_p", 1.5, r"'sampler.top_p'.*maximum"),
    ("models.toy_a.mixture.add.styles.procedure", 1.2, r"'models.toy_a.mixture.add.styles.procedure'"),
    ("models.toy_a.mixture.div", {"weight": 1, "styles": {"procedure": 1}}, r"'models.toy_a.mixture.div' names a task"),
    ("alignment.ks", [1, 64], r"'alignment.ks' has k=64 larger than 'sampler.n'"),
    ("tasks.add.family", "div", r"'tasks.add.family'"),
    ("resources.sample.gpu", -1, r"'resources.sample.gpu'"),
    ("seed", 1.5, r"'seed'.*not of type 'integer'"),
    ("models.toy_a.architecture.num_attention_heads", 5, r"hidden_size.*divisible by num_attention_heads"),
    ("sweeps", {"s": {"template": "nope", "task": "add", "levels": [{"practice": 0.1}]}}, r"'sweeps.s.template' must name"),
    ("sweeps", {"s": {"template": "toy_a", "task": "mul", "levels": [{"practice": 0.1}]}}, r"'sweeps.s.task' \('mul'\)"),
    ("sweeps", {"s": {"template": "toy_a", "task": "add", "levels": [{"weight": 2}]}}, r"unknown key 'sweeps.s.levels.0.weight'"),
    ("figures.dpi", 5, r"'figures.dpi'.*minimum"),
    ("rl.claims", ["ground_truth", "magic"], r"'rl.claims' names unknown claim 'magic'"),
    ("rl", DELETE, r"'rl' is a required property"),
    ("analysis.regime.k", 64, r"'analysis.regime.k' \(64\) is larger than 'sampler.n' \(16\)"),
    ("rl.grpo.steps", 0, r"'rl.grpo.steps'.*minimum"),
    ("resources.default.gpu", 1, r"'resources.default.gpu' is 1, expected 0"),
    ("resources.pretrain.gpu", 2, r"'resources.pretrain.gpu' is 2, expected 0"),
    ("models.big", {"source": "pretrained", "path": "/nonexistent/model", "evaluate_on": ["add"]},
     r"'models.big.path' is '/nonexistent/model', which does not exist"),
    ("rl.cells", ["toy_a/mul"], r"'rl.cells' has 'toy_a/mul'"),
    ("contamination.fraction", 1.5, r"'contamination.fraction'.*maximum"),
]


@pytest.mark.parametrize("key,value,message", BAD, ids=[b[0] + "=" + repr(b[1])[:12] for b in BAD])
def test_bad_values_fail_with_one_line_naming_the_key(default_config, key, value, message):
    assert_refused(default_config, key, value, message)


def test_snakemake_refuses_a_bad_config_before_any_job(workdir):
    bad = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    bad["sampler"]["temperature"] = "hot"
    (workdir / "bad.yaml").write_text(yaml.safe_dump(bad))
    proc = run_snakemake("-n", "--configfile", str(workdir / "bad.yaml"), "--directory", str(workdir), check=False, timeout=120)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "'sampler.temperature': 'hot' is not of type 'number'" in output
    assert "Traceback" not in output
    assert not (workdir / "results").exists()
