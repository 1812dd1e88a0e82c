"""One way to load a model and its tokenizer (mirage.generation.models): a pretrained
model's revision, dtype and trust_remote_code reach every from_pretrained and
vLLM; trust_remote_code is off unless a config names it; a tokenizer without a
pad token pads with its EOS; the helper keeps the tokenizer's special tokens,
so that the ids sampled from are the ids TRL trains on."""

import re
import sys
import types
from pathlib import Path

import pytest
import yaml

from mirage.config import ConfigError, load_config
from mirage.generation.models import LoadSettings, ensure_pad_token, load_model, load_settings, load_tokenizer

REPO = Path(__file__).resolve().parents[1]
ARCH = {"type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from mirage.toy.pretrain import save_random_model

    return save_random_model(tmp_path_factory.mktemp("model"), ARCH)


@pytest.fixture(scope="module")
def no_pad_model_dir(tmp_path_factory):
    """A tiny model whose saved tokenizer has no pad token (as Llama's has none)."""
    from mirage.toy.pretrain import save_random_model
    from mirage.toy.tokenizer import build_tokenizer

    out = save_random_model(tmp_path_factory.mktemp("no_pad"), ARCH)
    tokenizer = build_tokenizer()
    tokenizer.pad_token = None
    tokenizer.save_pretrained(out)
    return out


def overlay(tmp_path, base: str, text: str) -> list:
    extra = tmp_path / "extra.yaml"
    extra.write_text(text)
    return [REPO / "config" / base, extra]


# -- the pad token -----------------------------------------------------------------------------

def test_the_fixture_tokenizer_has_no_pad_token(no_pad_model_dir):
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(no_pad_model_dir).pad_token is None


def test_a_tokenizer_without_a_pad_token_pads_with_its_eos(no_pad_model_dir):
    tokenizer = load_tokenizer(no_pad_model_dir)
    assert tokenizer.pad_token == tokenizer.eos_token and tokenizer.pad_token_id == tokenizer.eos_token_id
    assert tokenizer.padding_side == "left"
    batch = tokenizer.pad({"input_ids": [[5, 6, 7], [8]]})
    assert batch["input_ids"][1] == [tokenizer.eos_token_id] * 2 + [8] and batch["attention_mask"][1] == [0, 0, 1]


def test_the_hf_sampler_samples_a_model_whose_tokenizer_has_no_pad_token(no_pad_model_dir):
    from mirage.generation.sampling import SamplingParams, make_sampler

    sampler = make_sampler("hf", no_pad_model_dir)
    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=4, seed=1)
    out = sampler.generate([[5, 6, 7], [8]], params)
    assert len(out) == 4 and all(c.n_tokens <= 4 for c in out)


def test_a_tokenizer_with_neither_pad_nor_eos_is_refused():
    tokenizer = types.SimpleNamespace(pad_token=None, eos_token=None, name_or_path="bare")
    with pytest.raises(ValueError, match="'bare' has neither a pad token nor an EOS"):
        ensure_pad_token(tokenizer)


def test_a_tokenizer_with_a_pad_token_keeps_it(model_dir):
    tokenizer = load_tokenizer(model_dir)
    assert tokenizer.pad_token == "<pad>" and tokenizer.pad_token != tokenizer.eos_token


# -- special tokens: the helper's tokenizer feeds TRL's ids --------------------------------------

def test_a_bos_tokenizer_loaded_by_the_helper_gives_the_ids_trl_feeds(tmp_path):
    """TRL 1.16 (GRPOTrainer._tokenize_prompts) tokenizes a plain prompt as
    ``processing_class(text=prompts)``: special tokens added, so a Llama-like
    tokenizer's BOS leads. The sampler and the contamination check render with
    the same tokenizer object the trainer gets, loaded by the same helper."""
    from tokenizers import processors

    from mirage.generation.prompts import prompt_token_ids
    from mirage.toy.tokenizer import BOS, build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tokenizer.convert_tokens_to_ids(BOS))])
    tokenizer.save_pretrained(tmp_path)
    loaded = load_tokenizer(str(tmp_path))
    prompts = ["12+34 -> ", "5-3 -> "]
    trl_ids = loaded(text=prompts)["input_ids"]  # what TRL's _tokenize_prompts feeds the policy
    assert prompt_token_ids(loaded, prompts, "plain") == trl_ids
    assert all(ids[0] == loaded.bos_token_id and ids.count(loaded.bos_token_id) == 1 for ids in trl_ids)
    # the contamination check's cut prompt carries the BOS, its true continuation none
    assert prompt_token_ids(loaded, prompts, "plain", open_end=True) == trl_ids


# -- the settings reach every loader --------------------------------------------------------------

def test_trust_remote_code_is_off_unless_a_config_names_it(tmp_path):
    config = load_config([REPO / "config" / "one-gpu.yaml"])
    for name, model in config["models"].items():
        assert load_settings(model) == {"revision": None, "dtype": "auto", "trust_remote_code": False}, name
    assert LoadSettings().trust_remote_code is False
    on = load_config(overlay(tmp_path, "one-gpu.yaml", "models:\n  qwen2_5_1_5b:\n    trust_remote_code: true\n"
                                                       "    revision: abc123\n    dtype: bfloat16\n"))
    assert load_settings(on["models"]["qwen2_5_1_5b"]) == {"revision": "abc123", "dtype": "bfloat16",
                                                           "trust_remote_code": True}
    assert load_settings(on["models"]["llama3_2_1b_instruct"])["trust_remote_code"] is False


def test_a_checkpoint_of_a_pinned_model_is_read_without_the_revision(tmp_path):
    config = load_config(overlay(tmp_path, "one-gpu.yaml", "models:\n  qwen2_5_1_5b:\n    revision: abc123\n"
                                                           "    trust_remote_code: true\n"))
    model = config["models"]["qwen2_5_1_5b"]
    assert load_settings(model)["revision"] == "abc123"
    # a checkpoint trained from it (rule param checkpoint_load_settings): a local folder, no hub revision
    assert load_settings(model, checkpoint=True) == {"revision": None, "dtype": "auto", "trust_remote_code": True}
    toy = load_config(None)
    assert load_settings(toy["models"]["toy_a"]) == LoadSettings().as_dict()


@pytest.mark.parametrize("text, key", [("dtype: int8", "dtype"), ("trust_remote_code: yes please", "trust_remote_code"),
                                       ("revision: ''", "revision")])
def test_a_bad_model_key_is_one_line_naming_it(tmp_path, text, key):
    with pytest.raises(ConfigError) as error:
        load_config(overlay(tmp_path, "one-gpu.yaml", f"models:\n  qwen2_5_1_5b:\n    {text}\n"))
    message = str(error.value)
    assert "\n" not in message and f"models.qwen2_5_1_5b.{key}" in message, message


def test_the_settings_reach_from_pretrained(monkeypatch, model_dir):
    import torch
    import transformers

    calls = []

    def recorder(real):
        def from_pretrained(path, **kwargs):
            calls.append(kwargs)
            return real(path, **{k: v for k, v in kwargs.items() if k != "revision"})
        return from_pretrained

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained",
                        recorder(transformers.AutoTokenizer.from_pretrained))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        recorder(transformers.AutoModelForCausalLM.from_pretrained))
    settings = {"revision": "abc123", "dtype": "bfloat16", "trust_remote_code": False}
    load_tokenizer(model_dir, settings)
    model = load_model(model_dir, settings)
    assert calls[0] == {"trust_remote_code": False, "revision": "abc123", "padding_side": "left"}
    assert calls[1] == {"dtype": torch.bfloat16, "trust_remote_code": False, "revision": "abc123"}
    assert model.dtype == torch.bfloat16
    assert load_model(model_dir, settings, dtype="float32").dtype == torch.float32  # training: rl.grpo.model_dtype
    assert calls[2]["dtype"] == torch.float32


def test_the_settings_reach_vllm(monkeypatch, model_dir):
    calls = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["LLM"] = kwargs

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=None))
    from mirage.generation.sampling import make_sampler

    make_sampler("vllm", model_dir, load={"revision": None, "dtype": "bfloat16", "trust_remote_code": True})
    llm = calls["LLM"]
    assert llm["trust_remote_code"] is True and llm["revision"] is None and llm["dtype"] == "bfloat16"
    make_sampler("vllm", model_dir)
    assert calls["LLM"]["trust_remote_code"] is False
    import torch

    assert calls["LLM"]["dtype"] == ("auto" if torch.cuda.is_available() else "float32")  # the CPU build: float32


def test_every_model_and_tokenizer_is_loaded_by_the_helper():
    """No job loads a model or tokenizer around mirage.generation.models (the toy model's
    own builder, which makes the tokenizer it saves, excepted)."""
    allowed = {"mirage/generation/models.py", "mirage/toy/pretrain.py"}
    offenders = []
    for path in sorted((REPO / "mirage").rglob("*.py")) + sorted((REPO / "workflow_scripts").glob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel not in allowed and re.search(r"\bAuto\w+\.from_pretrained\(", path.read_text()):
            offenders.append(rel)
    assert not offenders, offenders


def test_the_schema_describes_the_new_keys():
    schema = yaml.safe_load((REPO / "config" / "schema.yaml").read_text())
    props = schema["$defs"]["pretrained_model"]["properties"]
    assert props["trust_remote_code"]["default"] is False
    assert props["dtype"]["default"] == "auto" and set(props["dtype"]["enum"]) == {"auto", "float32", "bfloat16",
                                                                                  "float16"}
    assert all(props[k].get("description") for k in ("revision", "dtype", "trust_remote_code"))
