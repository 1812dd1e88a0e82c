"""The real chat templates of the paper's model families (Qwen2.5's ChatML, Llama 3.1's),
saved verbatim under tests/fixtures/chat_templates/, on tiny tokenizers with the families'
special tokens and BOS / EOS / pad settings (tests/chat_tokenizers.py): the prompt text we
render, one BOS in the ids every path builds (TRL's, the samplers', the contamination
check's), where generation stops (the samplers as TRL), and the prompt-length filter."""

import hashlib
import logging
import re

import polars as pl
import pytest
import torch
import yaml
from chat_tokenizers import FAMILIES, TEMPLATES, build_tokenizer, save_tiny_model
from conftest import REPO

from mirage.generation.models import stop_token_ids
from mirage.generation.prompts import (
    check_prompt_format,
    drop_long_prompts,
    drop_long_rows,
    prompt_lengths,
    prompt_token_ids,
    render_prompt,
    render_prompt_text,
    training_prompt,
    training_prompt_token_ids,
)

PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
QUESTION = "Let $x$ be the answer to 12+34. What is $x$?"
PROMPT = render_prompt(PAPER["prompt_template"], QUESTION)  # the paper's template: it ends with a newline

QWEN_SYSTEM = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
LLAMA_HEADER = ("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
                "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|>")


def expected_text(family: str, prompt: str) -> str:
    """The prompt as the real template renders a one-message conversation with the
    generation prompt, written out by hand."""
    if family.startswith("qwen"):
        return f"{QWEN_SYSTEM}<|im_start|>user\n{prompt}<|im_end|>\n<|im_start|>assistant\n"
    # Llama 3.1: the system header with its date lines even without a system message; the
    # user message trimmed (`| trim`): the template's trailing newline is not in the prompt
    return (f"{LLAMA_HEADER}<|start_header_id|>user<|end_header_id|>\n\n{prompt.strip()}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n")


CHAT_FAMILIES = ["qwen2.5-base", "qwen2.5-instruct", "llama3.1-instruct"]


@pytest.fixture(scope="module")
def tokenizers():
    return {name: build_tokenizer(name) for name in FAMILIES}


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """A tiny random model with each family's tokenizer and generation config, saved."""
    root = tmp_path_factory.mktemp("families")
    return {name: save_tiny_model(name, root / name) for name in FAMILIES}


@pytest.fixture(scope="module")
def trainers(model_dirs):
    """TRL 1.16's GRPOTrainer on each family's tiny model, built on first use."""
    built = {}

    def get(family):
        if family not in built:
            built[family] = trl_trainer(model_dirs[family])
        return built[family]

    return get


def load_tokenizer(path):
    from mirage.generation.models import load_tokenizer as load

    return load(str(path))  # as the samplers and the trainer load it: left padding, EOS as pad if none


def trl_trainer(model_dir):
    """TRL 1.16's GRPOTrainer on a family's tiny model (nothing is trained)."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    args = GRPOConfig(output_dir=str(model_dir / "grpo"), max_steps=1, per_device_train_batch_size=2,
                      num_generations=2, max_completion_length=4, use_cpu=True, report_to="none", save_strategy="no")
    return GRPOTrainer(model=AutoModelForCausalLM.from_pretrained(model_dir), args=args,
                       reward_funcs=[lambda prompts, completions, **kw: [0.0] * len(completions)],
                       train_dataset=Dataset.from_list([{"prompt": training_prompt(PROMPT, "chat")}] * 2),
                       processing_class=load_tokenizer(model_dir))


# -- the fixtures -----------------------------------------------------------------------------------

def test_the_templates_are_the_published_files_unchanged():
    """The README names each file's source and sha256: a template edited by hand fails here."""
    listed = dict(re.findall(r"^\| `([^`]+\.jinja)` \| `[^`]+` \| `([0-9a-f]{64})` \|$",
                             (TEMPLATES / "README.md").read_text(), flags=re.M))
    files = sorted(p.name for p in TEMPLATES.glob("*.jinja"))
    assert sorted(listed) == files and len(files) == 2
    for name, digest in listed.items():
        assert hashlib.sha256((TEMPLATES / name).read_bytes()).hexdigest() == digest, name


def test_the_tiny_tokenizers_have_the_families_special_tokens(tokenizers):
    qwen, llama = tokenizers["qwen2.5-instruct"], tokenizers["llama3.1-instruct"]
    assert qwen.bos_token is None and qwen.eos_token == "<|im_end|>" and qwen.pad_token == "<|endoftext|>"
    assert tokenizers["qwen2.5-base"].eos_token == "<|endoftext|>"
    assert llama.bos_token == "<|begin_of_text|>" and llama.eos_token == "<|eot_id|>" and llama.pad_token is None
    assert tokenizers["llama3.1-base"].chat_template is None
    for name, tok in tokenizers.items():
        for special in FAMILIES[name].special:
            assert tok.convert_ids_to_tokens(tok.convert_tokens_to_ids(special)) == special
            assert len(tok(special, add_special_tokens=False)["input_ids"]) == 1  # one token, never split
        text = "héllo\n  wörld <think> 1+1 </think>"
        assert tok.decode(tok(text, add_special_tokens=False)["input_ids"]) == text


# -- rendering --------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_chat_prompts_are_rendered_as_the_real_template_renders_them(family, tokenizers):
    tokenizer = tokenizers[family]
    text = expected_text(family, PROMPT)
    assert render_prompt_text(tokenizer, PROMPT, "chat") == text
    ids = prompt_token_ids(tokenizer, [PROMPT], "chat")[0]
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    # the generation prompt closes the prompt: the model answers as the assistant
    assert text.endswith("<|im_start|>assistant\n" if family.startswith("qwen")
                         else "<|start_header_id|>assistant<|end_header_id|>\n\n")


@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_the_contamination_check_leaves_the_user_message_open(family, tokenizers):
    tokenizer = tokenizers[family]
    head = QUESTION[:20]
    full = expected_text(family, head)
    opened = full[:full.rindex(head.strip()) + len(head.strip())]
    assert render_prompt_text(tokenizer, head, "chat", open_end=True) == opened
    assert prompt_token_ids(tokenizer, [head], "chat", open_end=True)[0] == \
        tokenizer(opened, add_special_tokens=False)["input_ids"]


def test_llama_base_has_no_chat_template(tokenizers):
    with pytest.raises(ValueError, match="llama3_1_8b.*no chat template"):
        check_prompt_format(tokenizers["llama3.1-base"], "chat", model="llama3_1_8b")


# -- one BOS ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", ["llama3.1-instruct", "llama3.1-base"])
def test_llama_ids_hold_one_bos_at_the_start(family, tokenizers):
    tokenizer = tokenizers[family]
    bos = tokenizer.bos_token_id
    paths = {"plain": prompt_token_ids(tokenizer, [PROMPT], "plain")[0]}
    if tokenizer.chat_template:
        paths["chat"] = prompt_token_ids(tokenizer, [PROMPT], "chat")[0]
        paths["chat, as TRL's row"] = training_prompt_token_ids(tokenizer, [training_prompt(PROMPT, "chat")])[0]
        paths["contamination"] = prompt_token_ids(tokenizer, [QUESTION[:20]], "chat", open_end=True)[0]
        # what a second BOS would look like: the rendered text tokenized with the tokenizer's specials
        naive = tokenizer(render_prompt_text(tokenizer, PROMPT, "chat"))["input_ids"]
        assert naive[:2] == [bos, bos]
    for path, ids in paths.items():
        assert ids[0] == bos and ids.count(bos) == 1, path


@pytest.mark.parametrize("family", ["qwen2.5-base", "qwen2.5-instruct"])
def test_qwen_ids_hold_no_bos(family, tokenizers):
    tokenizer = tokenizers[family]
    plain = prompt_token_ids(tokenizer, [PROMPT], "plain")[0]
    assert plain == list(PROMPT.encode())  # the bytes of the text, nothing added
    chat = prompt_token_ids(tokenizer, [PROMPT], "chat")[0]
    assert tokenizer.convert_ids_to_tokens(chat[0]) == "<|im_start|>"
    assert tokenizer.convert_tokens_to_ids("<|endoftext|>") not in chat


@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_trl_tokenizes_the_row_as_we_do(family, model_dirs, trainers):
    """TRL 1.16's GRPOTrainer builds the same prompt ids from the conversational row."""
    trainer = trainers(family)
    tokenizer = load_tokenizer(model_dirs[family])
    ours = prompt_token_ids(tokenizer, [PROMPT], "chat")
    assert [list(ids) for ids in trainer._tokenize_prompts([training_prompt(PROMPT, "chat")])[0]] == ours


class RecordingSampler:
    """Records the prompt ids sampling hands its backend."""

    def __init__(self, tokenizer):
        self.tokenizer, self.prompt_ids = tokenizer, None

    def generate(self, prompt_ids, params):
        self.prompt_ids = prompt_ids
        return []


def one_problem(prompt=PROMPT):
    return pl.DataFrame({"problem_id": ["p0"], "task": "math", "split": "eval", "prompt": [prompt],
                         "answer": "46", "question": [QUESTION], "family": "f", "benchmark": "b", "verifier": "math"})


def test_sampling_hands_the_backends_one_bos(model_dirs):
    """The ids sample_and_grade gives a backend (vLLM takes them as they are) and the batch
    the HF backend gives ``generate`` (left-padded with the EOS Llama has as pad)."""
    from mirage.generation.sampling import HFSampler, SamplingParams, sample_and_grade

    params = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_new_tokens=2, seed=0)
    tokenizer = load_tokenizer(model_dirs["llama3.1-instruct"])
    recording = RecordingSampler(tokenizer)
    sample_and_grade(recording, one_problem(), params, "llama", prompt_format="chat")
    assert recording.prompt_ids == prompt_token_ids(tokenizer, [PROMPT], "chat")

    sampler = HFSampler(str(model_dirs["llama3.1-instruct"]))
    seen = []
    generate = sampler.model.generate

    def spy(**kwargs):
        seen.extend(kwargs["input_ids"].tolist())
        return generate(**kwargs)

    sampler.model.generate = spy
    short = QUESTION[:10]
    sampler.generate(prompt_token_ids(sampler.tokenizer, [PROMPT, short], "chat"), params)
    bos = tokenizer.bos_token_id
    assert len(seen) == 2 and all(row.count(bos) == 1 for row in seen)
    assert seen[1][seen[1].index(bos):] == prompt_token_ids(tokenizer, [short], "chat")[0]


# -- where generation stops -------------------------------------------------------------------------

STOPS = {  # in TRL's order: the generation config's, the tokenizer's EOS first where it is not among them
    "qwen2.5-base": ["<|endoftext|>"],
    "qwen2.5-instruct": ["<|im_end|>", "<|endoftext|>"],
    "llama3.1-instruct": ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"],
    "llama3.1-instruct-2024-07": ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"],
    "llama3.1-base": ["<|end_of_text|>"],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_the_stop_tokens_are_the_tokenizers_eos_and_the_generation_configs(family, model_dirs):
    assert family_stops(model_dirs[family]) == STOPS[family]
    tokenizer = load_tokenizer(model_dirs[family])
    assert stop_token_ids(tokenizer, None) == [tokenizer.eos_token_id]


@pytest.mark.parametrize("family", CHAT_FAMILIES + ["llama3.1-instruct-2024-07"])
def test_sampling_stops_where_trl_stops(family, model_dirs, trainers):
    """TRL 1.16's GRPOTrainer ends a training completion at ``eos_token_ids``: ours, the same."""
    from transformers import AutoModelForCausalLM

    trainer = trainers(family)
    model = AutoModelForCausalLM.from_pretrained(model_dirs[family])
    assert trainer.eos_token_ids == stop_token_ids(load_tokenizer(model_dirs[family]), model.generation_config)


def family_stops(model_dir) -> list[str]:
    from transformers import GenerationConfig

    tokenizer = load_tokenizer(model_dir)
    return tokenizer.convert_ids_to_tokens(stop_token_ids(tokenizer, GenerationConfig.from_pretrained(model_dir)))


@pytest.mark.parametrize("family", ["qwen2.5-instruct", "llama3.1-instruct", "llama3.1-instruct-2024-07"])
def test_a_chat_models_end_of_turn_token_stops_generation(family, model_dirs):
    assert FAMILIES[family].end_of_turn in family_stops(model_dirs[family])


def test_a_qwen_base_model_does_not_stop_at_the_end_of_its_turn(model_dirs):
    """Qwen2.5 base models' files name <|endoftext|> only (tokenizer EOS and generation
    config), although their ChatML template ends each turn with <|im_end|>: TRL, vLLM and
    the released verl run all go on after an <|im_end|>, and so do we (faithful to the
    released run; see mirage.generation.models). A change of this rule must be a decision: it fails here."""
    assert family_stops(model_dirs["qwen2.5-base"]) == ["<|endoftext|>"]


class ScriptedHead(torch.nn.Module):
    """An LM head that ignores the hidden state: call k puts all probability on
    ``script[k]`` (the last one from then on), so greedy generation writes the script."""

    def __init__(self, vocab: int, script: list[int]):
        super().__init__()
        self.vocab, self.script, self.calls = vocab, script, 0

    def forward(self, hidden):
        logits = torch.full((*hidden.shape[:-1], self.vocab), -1e4)
        logits[..., self.script[min(self.calls, len(self.script) - 1)]] = 1e4
        self.calls += 1
        return logits


def scripted_sampler(model_dir, script: list[str]):
    from mirage.generation.sampling import HFSampler

    sampler = HFSampler(str(model_dir))
    tokens = [i for piece in script for i in (
        [sampler.tokenizer.convert_tokens_to_ids(piece)] if piece.startswith("<|")
        else sampler.tokenizer(piece, add_special_tokens=False)["input_ids"])]
    sampler.model.lm_head = ScriptedHead(len(sampler.tokenizer), tokens)
    return sampler


@pytest.mark.parametrize("family,stop", [
    ("llama3.1-instruct", "<|eot_id|>"),
    ("llama3.1-instruct-2024-07", "<|eot_id|>"),   # not the tokenizer's EOS in that revision
    ("llama3.1-instruct", "<|eom_id|>"),
    ("qwen2.5-instruct", "<|im_end|>"),
    ("qwen2.5-instruct", "<|endoftext|>"),          # not the tokenizer's EOS
])
def test_the_hf_sampler_stops_at_every_stop_token(family, stop, model_dirs):
    from mirage.generation.sampling import SamplingParams

    sampler = scripted_sampler(model_dirs[family], ["42", stop, "junk after the end"])
    # sampled, n = 2: the scripted head leaves no choice (greedy allows one sample per prompt)
    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=12, seed=0)
    out = sampler.generate(prompt_token_ids(sampler.tokenizer, [PROMPT], "chat"), params)
    assert [(c.text, c.n_tokens, c.finish_reason) for c in out] == [("42", 3, "stop")] * 2


def test_the_hf_sampler_goes_on_after_a_qwen_base_models_im_end(model_dirs):
    from mirage.generation.sampling import SamplingParams

    sampler = scripted_sampler(model_dirs["qwen2.5-base"], ["42", "<|im_end|>", "\nmore", "<|endoftext|>"])
    params = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_new_tokens=12, seed=0)
    (completion,) = sampler.generate(prompt_token_ids(sampler.tokenizer, [PROMPT], "chat"), params)
    assert (completion.text, completion.n_tokens, completion.finish_reason) == ("42\nmore", 9, "stop")


# -- the prompt-length filter -----------------------------------------------------------------------

PROMPTS = [render_prompt(PAPER["prompt_template"], "x" * n) for n in (1, 40, 80, 400)]


def test_prompt_lengths_are_counted_as_the_model_sees_the_prompt(tokenizers):
    tokenizer = tokenizers["qwen2.5-instruct"]
    chat = prompt_lengths(tokenizer, PROMPTS, "chat")
    assert chat == [len(tokenizer(expected_text("qwen2.5-instruct", p), add_special_tokens=False)["input_ids"])
                    for p in PROMPTS]
    assert prompt_lengths(tokenizer, PROMPTS, "plain") == [len(p.encode()) for p in PROMPTS]
    assert prompt_lengths(tokenizer, PROMPTS, "chat", chunk=3) == chat
    llama = tokenizers["llama3.1-instruct"]
    assert prompt_lengths(llama, PROMPTS, "plain") == [len(p.encode()) + 1 for p in PROMPTS]  # the BOS


def test_prompts_over_the_limit_are_dropped_and_counted(tokenizers, caplog):
    tokenizer = tokenizers["llama3.1-instruct"]
    lengths = prompt_lengths(tokenizer, PROMPTS, "chat")
    assert lengths == sorted(lengths) and len(set(lengths)) == 4
    with caplog.at_level(logging.INFO, logger="mirage.generation.prompts"):
        kept, dropped = drop_long_prompts(tokenizer, PROMPTS, "chat", lengths[1], model="llama3_1_8b_instruct")
    assert (kept, dropped) == ([0, 1], 2)  # a prompt of exactly the limit is kept
    assert f"llama3_1_8b_instruct: dropped 2 of 4 prompts longer than {lengths[1]} tokens" in caplog.text
    assert drop_long_prompts(tokenizer, PROMPTS, "chat", lengths[-1]) == ([0, 1, 2, 3], 0)
    # the chat template's tokens count: within the limit as plain text, over it as a chat prompt
    assert drop_long_prompts(tokenizer, PROMPTS[:1], "plain", lengths[0] - 1) == ([0], 0)
    assert drop_long_prompts(tokenizer, PROMPTS[:1], "chat", lengths[0] - 1) == ([], 1)
    with pytest.raises(ValueError, match="at least 1"):
        drop_long_prompts(tokenizer, PROMPTS, "chat", 0)


def test_without_a_limit_no_prompt_is_tokenized():
    assert drop_long_prompts(object(), PROMPTS, "chat", None) == ([0, 1, 2, 3], 0)


def test_the_limit_is_a_setting_of_the_paper_configs():
    pytest.importorskip("snakemake")  # the config's validation: not in the GPU lock's CPU mirror
    from mirage.config import ConfigError, load_config, validate_config
    from mirage.core.settings import SCHEMA, GRPOSettings

    for name in ("paper.yaml", "one-gpu.yaml"):
        config = load_config([REPO / "config" / name])
        assert GRPOSettings.from_dict(config["rl"]["grpo"]).max_prompt_tokens == 2048, name
    default = load_config([REPO / "config" / "config.yaml"])
    assert "max_prompt_tokens" not in default["rl"]["grpo"]  # absent: no filter, and no job's params change
    assert GRPOSettings.from_dict(default["rl"]["grpo"]).max_prompt_tokens is None
    default["rl"]["grpo"]["max_prompt_tokens"] = 0
    with pytest.raises(ConfigError, match="max_prompt_tokens"):
        validate_config(default, SCHEMA)


def test_a_problems_table_loses_its_long_rows_in_order(tokenizers):
    tokenizer = tokenizers["qwen2.5-base"]
    table = pl.concat([one_problem(p).with_columns(pl.lit(f"p{i}").alias("problem_id"))
                       for i, p in enumerate(reversed(PROMPTS))])
    limit = prompt_lengths(tokenizer, PROMPTS, "chat")[1]
    kept, dropped = drop_long_rows(table, tokenizer, "chat", limit)
    assert dropped == 2 and kept["problem_id"].to_list() == ["p2", "p3"] and kept.columns == table.columns
    assert drop_long_rows(table, tokenizer, "chat", None) == (table, 0)
    none, dropped = drop_long_rows(table, tokenizer, "chat", 1)
    assert dropped == 4 and none.is_empty() and none.columns == table.columns


@pytest.mark.integration
def test_a_claims_training_problems_leave_out_the_long_prompts(model_dirs, tmp_path):
    """The GRPO job drops its training problems over rl.grpo.max_prompt_tokens (as its
    model sees them) and records how many (run.json's prompts_over_limit)."""
    from mirage.core.schemas import PROBLEMS
    from mirage.core.settings import GRPOSettings
    from mirage.training import runs
    from mirage.training.claims import get_claim

    table = pl.concat([one_problem(p).with_columns(pl.lit(f"p{i}").alias("problem_id"), pl.lit("train").alias("split"))
                       for i, p in enumerate(PROMPTS)])
    PROBLEMS.write(PROBLEMS.check(table), tmp_path / "problems.parquet")
    model = model_dirs["llama3.1-instruct"]
    limit = prompt_lengths(load_tokenizer(model), PROMPTS, "chat")[2]
    grpo = {"steps": 1, "prompts_per_generation": 2, "num_generations": 2, "steps_per_generation": 1,
            "learning_rate": 1e-3, "warmup_steps": 0, "weight_decay": 0.0, "max_grad_norm": 1.0, "epsilon": 0.2,
            "epsilon_high": 0.28, "beta": 0.0, "loss_type": "dapo", "temperature": 1.0, "top_p": 1.0,
            "max_completion_length": 4, "max_prompt_tokens": limit}
    job = runs.ClaimJob(model_path=str(model), problems_path=str(tmp_path / "problems.parquet"),
                      outputs=runs.RunOutputs(str(tmp_path / "m"), str(tmp_path / "c.parquet"), str(tmp_path / "h.parquet")),
                      grpo=GRPOSettings.from_dict(grpo), verifier="math", seed=1, claim="ground_truth",
                      prompt_format="chat")
    rows, dropped = runs.claim_rows(job, get_claim("ground_truth"))
    assert dropped == 1 and [r["problem_id"] for r in rows] == ["p0", "p1", "p2"]
