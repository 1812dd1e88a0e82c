"""The samplers of a study: the alignment sampler, the evaluation sampler of the
RL checkpoints (and of the base model they are compared with), the sampler of
the incorrect-label votes, and the vLLM engine settings on their way from the
config to ``vllm.LLM`` (checked with a stand-in ``vllm`` module: the main
environment has no vLLM; tests/test_vllm_sampler.py runs the real one)."""

import copy
import json
import sys
import types

import pytest
import yaml
from conftest import REPO

from mirage.config import evaluation_sampler, job_sampler, samples_alike, validate_config, vote_sampler
from mirage.core.settings import SamplerSettings

SCHEMA = REPO / "config" / "schema.yaml"
ENGINE = {"tensor_parallel_size": 2, "max_model_len": 512, "gpu_memory_utilization": 0.5,
          "enable_prefix_caching": False}


def load(name):
    # through JSON: YAML anchors would share dicts
    return json.loads(json.dumps(yaml.safe_load((REPO / "config" / name).read_text())))


@pytest.fixture(scope="module")
def default_config():
    return validate_config(load("config.yaml"), SCHEMA)


@pytest.fixture(scope="module")
def paper_config():
    return validate_config(load("paper.yaml"), SCHEMA)


def test_without_an_evaluation_section_checkpoints_are_evaluated_with_the_alignment_sampler(default_config):
    assert "evaluation" not in default_config
    assert evaluation_sampler(default_config) == default_config["sampler"]
    # the hf jobs' params are what they were before the vLLM engine settings existed: no rerun
    assert job_sampler(default_config["sampler"]) == {"backend": "hf", "n": 16, "temperature": 1.0, "top_p": 1.0,
                                                     "max_new_tokens": 40, "batch_size": 512}


def test_the_evaluation_sampler_states_its_distribution_and_inherits_the_engine(default_config):
    cfg = copy.deepcopy(load("config.yaml"))
    cfg["evaluation"] = {"sampler": {"n": 4, "temperature": 1.0, "top_p": 0.7, "max_new_tokens": 40}}
    cfg = validate_config(cfg, SCHEMA)
    ev = evaluation_sampler(cfg)
    assert ev == {**cfg["sampler"], "n": 4, "top_p": 0.7}
    assert ev["backend"] == "hf" and ev["batch_size"] == 512  # inherited, not the schema's default
    assert cfg["evaluation"]["sampler"] == {"n": 4, "temperature": 1.0, "top_p": 0.7, "max_new_tokens": 40}
    assert not samples_alike(ev, cfg["sampler"])


def test_samplers_alike_differ_only_in_speed(default_config):
    sampler = default_config["sampler"]
    assert samples_alike({**sampler, "batch_size": 8, "gpu_memory_utilization": 0.5}, sampler)
    for key, value in (("n", 8), ("temperature", 0.7), ("top_p", 0.7), ("max_new_tokens", 20), ("backend", "vllm"),
                       ("max_model_len", 64)):
        assert not samples_alike({**sampler, key: value}, sampler), key


def test_job_sampler_keeps_the_engine_settings_for_vllm_only(default_config):
    hf = {**default_config["sampler"], **ENGINE}
    assert not set(SamplerSettings.ENGINE_KEYS) & set(job_sampler(hf))
    assert job_sampler({**hf, "backend": "vllm"}) == {**hf, "backend": "vllm"}


def test_votes_are_drawn_by_the_alignment_sampler_with_n_votes(default_config, paper_config):
    assert vote_sampler(default_config) == default_config["sampler"]  # the toy: 16 votes of n = 16
    assert vote_sampler(paper_config) == {**paper_config["sampler"], "n": 64}
    assert paper_config["rl"]["claim_settings"]["incorrect_label"] == {"votes": 64, "problems": 8192,
                                                                       "answers": "spurious_rewards"}


def test_the_paper_evaluates_avg_at_16_with_the_released_validation_settings(paper_config):
    ev = evaluation_sampler(paper_config)
    assert (ev["n"], ev["temperature"], ev["top_p"], ev["max_new_tokens"]) == (16, 1.0, 0.7, 8192)
    assert not samples_alike(ev, paper_config["sampler"])  # the base model is sampled again (evaluate_base)
    assert {k: ev[k] for k in SamplerSettings.ENGINE_KEYS} == {
        "tensor_parallel_size": 1, "max_model_len": 10240, "gpu_memory_utilization": 0.9, "enable_prefix_caching": True}


def test_schema_defaults_of_the_vllm_engine(default_config):
    assert {k: default_config["sampler"].get(k) for k in SamplerSettings.ENGINE_KEYS} == {
        "tensor_parallel_size": 1, "max_model_len": None, "gpu_memory_utilization": 0.9, "enable_prefix_caching": True}


# -- the subset of problems that get votes --------------------------------------------------------

def _problems(n, task="add"):
    from mirage.core.schemas import PROBLEMS

    return PROBLEMS.frame([{"problem_id": f"{task}-{i:03d}", "task": task, "split": "train", "prompt": f"{i}+1 -> ",
                            "answer": str(i + 1), "question": f"{i}+1", "family": "add", "benchmark": task,
                            "verifier": "integer"} for i in range(n)])


def test_problem_subset_is_seeded_and_keeps_the_table_order():
    from mirage.generation.sampling import problem_subset

    problems = _problems(50)
    subset = problem_subset(problems, 10, seed=3)
    assert subset.height == 10 and subset["problem_id"].is_unique().all()
    ids = subset["problem_id"].to_list()
    assert ids == sorted(ids)  # the table's order
    assert problem_subset(problems, 10, seed=3)["problem_id"].to_list() == ids
    assert problem_subset(problems, 10, seed=4)["problem_id"].to_list() != ids
    assert set(problem_subset(problems, 20, seed=3)["problem_id"]) != set(ids)
    assert problem_subset(problems, None, seed=3).equals(problems)
    assert problem_subset(problems, 50, seed=3).equals(problems) and problem_subset(problems, 80, seed=3).equals(problems)


# -- the vLLM engine settings reach vllm.LLM ------------------------------------------------------

class _Output:
    def __init__(self, text):
        self.text, self.token_ids, self.finish_reason = text, [1, 2], "stop"


@pytest.fixture
def fake_vllm(monkeypatch):
    """A stand-in ``vllm`` module that records how ``LLM`` is built and answers
    every prompt with n fixed completions."""
    calls = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["LLM"] = kwargs

        def generate(self, requests, sampling, use_tqdm=True):
            calls.setdefault("prompts", []).extend(requests)
            return [types.SimpleNamespace(outputs=[_Output("<answer>1</answer>")] * sampling.n) for _ in requests]

    class SamplingParams:
        def __init__(self, **kwargs):
            self.__dict__.update(kwargs)
            calls["SamplingParams"] = kwargs

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=SamplingParams))
    return calls


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    from mirage.toy.tokenizer import save_tokenizer

    path = tmp_path_factory.mktemp("tok")
    save_tokenizer(path)
    return str(path)


def _sample(tmp_path, tokenizer_dir, sampler_cfg, num_problems=None, model="m", style_family=None):
    from mirage.core.schemas import PROBLEMS
    from mirage.core.settings import SamplerSettings
    from mirage.generation.sampling import SamplingJob, sample_split

    PROBLEMS.write(_problems(20), tmp_path / "add.parquet")
    return sample_split(SamplingJob(model_name=model, model_path=tokenizer_dir, problems_path=str(tmp_path / "add.parquet"),
                                    split="train", sampler=SamplerSettings.from_dict(sampler_cfg), seed=1,
                                    out_path=str(tmp_path / f"{model}.parquet"), num_problems=num_problems,
                                    style_family=style_family))


@pytest.mark.integration
def test_samples_carry_a_style_only_where_the_task_family_labels_styles(tmp_path, tokenizer_dir, fake_vllm):
    from mirage.config import style_family
    from mirage.tasks.sources import style_classifier
    from mirage.toy.tasks import classify_style

    cfg = {"backend": "vllm", "n": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4}
    toy = {"source": "toy", "family": "add"}
    assert style_family(toy) == "add" and style_family({"source": "file", "family": "add"}) is None
    styled = _sample(tmp_path, tokenizer_dir, cfg, style_family=style_family(toy))
    assert styled["style"].to_list() == [classify_style(t) for t in styled["completion"]]
    assert styled["style"].is_not_null().all()
    plain = _sample(tmp_path, tokenizer_dir, cfg, model="p")
    assert plain["style"].is_null().all() and plain["correct"].to_list() == styled["correct"].to_list()
    with pytest.raises(ValueError, match="unknown task family 'sums'"):
        style_classifier("sums")


@pytest.mark.integration
def test_the_vllm_engine_settings_of_the_config_reach_vllm_llm(tmp_path, tokenizer_dir, fake_vllm, paper_config):
    cfg = {**job_sampler(evaluation_sampler(paper_config)), **ENGINE, "n": 3, "max_new_tokens": 8}
    samples = _sample(tmp_path, tokenizer_dir, cfg)
    llm = fake_vllm["LLM"]
    assert {k: llm[k] for k in ENGINE} == ENGINE and llm["model"] == tokenizer_dir
    assert fake_vllm["SamplingParams"] == {"n": 3, "temperature": 1.0, "top_p": 0.7, "max_tokens": 8,
                                           "seed": fake_vllm["SamplingParams"]["seed"]}
    assert samples.height == 20 * 3 and samples["correct"].sum() == 3  # problem 0's answer is 1


@pytest.mark.integration
def test_absent_engine_settings_take_the_schemas_defaults_or_are_left_to_vllm(tmp_path, tokenizer_dir, fake_vllm):
    _sample(tmp_path, tokenizer_dir, {"backend": "vllm", "n": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4})
    llm = fake_vllm["LLM"]
    # the schema's sampler defaults; max_model_len has none: vLLM takes the model's own
    assert llm["tensor_parallel_size"] == 1 and llm["gpu_memory_utilization"] == 0.9
    assert llm["enable_prefix_caching"] is True and llm["max_model_len"] is None


@pytest.mark.integration
def test_votes_are_sampled_for_the_seeded_subset_only_the_same_for_every_model(tmp_path, tokenizer_dir, fake_vllm):
    cfg = {"backend": "vllm", "n": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4}
    first = _sample(tmp_path, tokenizer_dir, cfg, num_problems=5, model="a")
    second = _sample(tmp_path, tokenizer_dir, cfg, num_problems=5, model="b")
    assert first.height == 5 * 2 and len(fake_vllm["prompts"]) == 10
    assert first["problem_id"].unique().sort().to_list() == second["problem_id"].unique().sort().to_list()


def test_the_hf_backend_ignores_the_vllm_engine_settings(tmp_path, tokenizer_dir):
    from mirage.generation.sampling import make_sampler
    from mirage.toy.pretrain import save_random_model

    path = save_random_model(tmp_path / "model", {"type": "llama", "hidden_size": 16, "num_hidden_layers": 1,
                                                  "num_attention_heads": 2, "intermediate_size": 32})
    cfg = {"backend": "hf", "n": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4, "batch_size": 8, **ENGINE}
    assert SamplerSettings.from_dict(cfg).engine() == ENGINE
    sampler = make_sampler("hf", path, **SamplerSettings.from_dict(cfg).engine())
    from mirage.generation.sampling import SamplingParams

    out = sampler.generate([[5, 6, 7]], SamplingParams.from_config(cfg, seed=1))
    assert len(out) == 2



def test_shards_partition_a_split_and_sample_under_seeds_of_their_own():
    import polars as pl

    from mirage.core.settings import SamplerSettings
    from mirage.generation.sampling import SamplingJob, sampling_seed, shard_problems

    problems = pl.DataFrame({"problem_id": [f"p{i}" for i in range(10)]})
    shards = [shard_problems(problems, (i, 3)) for i in range(3)]
    assert [s.height for s in shards] == [4, 3, 3]
    assert sorted(pid for s in shards for pid in s["problem_id"]) == sorted(problems["problem_id"])
    assert shard_problems(problems, None).equals(problems) and shard_problems(problems, (0, 1)).equals(problems)
    assert shard_problems(problems, (11, 12)).height == 0  # more shards than problems: an empty shard
    with pytest.raises(ValueError, match="shard 3 of 3"):
        shard_problems(problems, (3, 3))
    job = SamplingJob(model_name="m", model_path="m", problems_path="p", split="eval", sampler=SamplerSettings.from_dict(
        {"backend": "hf", "n": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 4, "batch_size": 2}), seed=1,
        out_path="o")
    seeds = {sampling_seed(job.__class__(**{**vars(job), "shard": (i, 3)}), "t") for i in range(3)}
    assert len(seeds) == 3 and sampling_seed(job, "t") not in seeds
    assert sampling_seed(job.__class__(**{**vars(job), "shard": (0, 1)}), "t") == sampling_seed(job, "t")
