"""One prompt rendering for sampling, training and the contamination check: the
ids sampled from are the ids TRL's GRPOTrainer builds for the same row; the
plain format is today's rendering; a chat model needs a chat template."""

import polars as pl
import pytest

from mirage.generation.prompts import (
    check_prompt_format,
    prompt_token_ids,
    render_prompt_text,
    training_prompt,
    training_prompt_token_ids,
)

PROMPTS = ["12+34 -> <think> <answer>\n", "5-3 -> <think> <answer>\n", "digitsum 123 -> <think> <answer>\n"]

# Llama-like: the template writes the BOS itself, and the tokenizer would add
# one more if asked to add special tokens; the generation prompt opens the turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}[{{ m['role'] }}]\n{{ m['content'] }}{{ eos_token }}\n{% endfor %}"
    "{% if add_generation_prompt %}[assistant]\n{% endif %}"
)
ARCH = {"type": "llama", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 64, "max_position_embeddings": 128}


def toy_chat_tokenizer():
    """The toy character tokenizer with a chat template and a post-processor
    that adds a BOS (as Llama's does); no network."""
    from tokenizers import processors

    from mirage.toy.tokenizer import BOS, build_tokenizer

    tokenizer = build_tokenizer()
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, tokenizer.convert_tokens_to_ids(BOS))])
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


@pytest.fixture(scope="module")
def chat_model_dir(tmp_path_factory):
    """A tiny random toy model whose saved tokenizer has the chat template."""
    from mirage.toy.pretrain import save_random_model

    out = save_random_model(tmp_path_factory.mktemp("chat_model"), ARCH)
    toy_chat_tokenizer().save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def plain_model_dir(tmp_path_factory):
    from mirage.toy.pretrain import save_random_model

    return save_random_model(tmp_path_factory.mktemp("plain_model"), ARCH)


def load_tokenizer(path):
    from transformers import AutoTokenizer

    # as the samplers, the contamination check and the trainer load it
    return AutoTokenizer.from_pretrained(path, padding_side="left")


def trl_prompt_ids(model_dir, row_prompts, tmp_path):
    """The prompt ids TRL's GRPOTrainer trains on for these rows: one real GRPO
    step, its generation batch captured after TRL tokenized, generated and padded."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM
    from trl import GRPOConfig, GRPOTrainer

    captured = []

    class Capture(GRPOTrainer):
        def _generate_and_score_completions(self, inputs):
            out = super()._generate_and_score_completions(inputs)
            for ids, mask in zip(out["prompt_ids"].tolist(), out["prompt_mask"].tolist()):
                captured.append([i for i, m in zip(ids, mask) if m])
            return out

    n = len(row_prompts)
    args = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=1, per_device_train_batch_size=2 * n,
                      num_generations=2, max_completion_length=4, use_cpu=True, report_to="none",
                      logging_steps=1, save_strategy="no", shuffle_dataset=False, seed=0)
    trainer = Capture(model=AutoModelForCausalLM.from_pretrained(model_dir), args=args,
                      reward_funcs=[lambda prompts, completions, **kw: [0.0] * len(completions)],
                      train_dataset=Dataset.from_list([{"prompt": p} for p in row_prompts]),
                      processing_class=load_tokenizer(model_dir))
    # TRL's own tokenization of the rows, before any generation
    direct = trainer._tokenize_prompts(row_prompts)[0]
    trainer.train()
    return [list(ids) for ids in direct], captured


# -- the chat format ----------------------------------------------------------------------------

def test_chat_rendering_is_the_template_with_its_generation_prompt():
    tokenizer = toy_chat_tokenizer()
    text = render_prompt_text(tokenizer, PROMPTS[0], "chat")
    assert text == f"<bos>[user]\n{PROMPTS[0]}<eos>\n[assistant]\n"
    ids = prompt_token_ids(tokenizer, PROMPTS[:1], "chat")[0]
    # one BOS, written by the template: the tokenizer's own BOS is not added on top
    assert ids == tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tokenizer.bos_token_id) == 1 and ids[0] == tokenizer.bos_token_id
    assert training_prompt(PROMPTS[0], "chat") == [{"role": "user", "content": PROMPTS[0]}]


@pytest.mark.integration
def test_sampling_ids_are_the_ids_trl_trains_on(chat_model_dir, tmp_path):
    """The same rows through TRL 1.16's GRPOTrainer: its prompt tokenization and
    the prompt ids of a real training step equal ours."""
    tokenizer = load_tokenizer(chat_model_dir)
    ours = prompt_token_ids(tokenizer, PROMPTS, "chat", model="toy_chat")
    rows = [training_prompt(p, "chat") for p in PROMPTS]
    direct, trained = trl_prompt_ids(chat_model_dir, rows, tmp_path)
    assert direct == ours
    # num_generations = 2: each prompt twice, in some order
    assert sorted(map(tuple, trained)) == sorted(map(tuple, ours + ours))
    assert training_prompt_token_ids(tokenizer, rows) == ours


@pytest.mark.integration
@pytest.mark.parametrize("which", ["plain_model_dir", "chat_model_dir"])
def test_plain_ids_are_the_ids_trl_trains_on(which, request, tmp_path):
    # with the chat fixture's tokenizer, TRL's plain path adds its BOS: so do we
    model_dir = request.getfixturevalue(which)
    tokenizer = load_tokenizer(model_dir)
    ours = prompt_token_ids(tokenizer, PROMPTS, "plain")
    direct, trained = trl_prompt_ids(model_dir, [training_prompt(p, "plain") for p in PROMPTS], tmp_path)
    assert direct == ours
    assert sorted(map(tuple, trained)) == sorted(map(tuple, ours + ours))


def test_plain_is_todays_rendering(plain_model_dir):
    """The toy study must not change: the text as is, the ids and the padded
    batch of today's sampler (no special tokens added)."""
    tokenizer = load_tokenizer(plain_model_dir)
    assert render_prompt_text(tokenizer, PROMPTS[0], "plain") == PROMPTS[0]
    ids = prompt_token_ids(tokenizer, PROMPTS, "plain")
    assert ids == tokenizer(PROMPTS, add_special_tokens=False)["input_ids"]
    today = tokenizer(PROMPTS, return_tensors="pt", padding=True, add_special_tokens=False)
    now = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
    assert today["input_ids"].tolist() == now["input_ids"].tolist()
    assert today["attention_mask"].tolist() == now["attention_mask"].tolist()


def test_a_chat_model_without_a_chat_template_is_named(plain_model_dir):
    tokenizer = load_tokenizer(plain_model_dir)
    with pytest.raises(ValueError, match="toy_a.*chat template"):
        prompt_token_ids(tokenizer, PROMPTS, "chat", model="toy_a")
    with pytest.raises(ValueError, match="unknown prompt format"):
        check_prompt_format(tokenizer, "raw")
    check_prompt_format(tokenizer, "plain")


# -- sampling: base models and checkpoints --------------------------------------------------------

class RecordingSampler:
    """A sampler that records the prompt ids it is given and answers fixed texts."""

    def __init__(self, tokenizer, texts):
        self.tokenizer, self.texts, self.prompt_ids = tokenizer, texts, None

    def generate(self, prompt_ids, params):
        from mirage.generation.sampling import Completion

        self.prompt_ids = prompt_ids
        return [Completion(i, s, self.texts[s % len(self.texts)], 3, "stop")
                for i in range(len(prompt_ids)) for s in range(params.n)]


def problems(verifier="integer", answer="46", prompts=PROMPTS):
    return pl.DataFrame({
        "problem_id": [f"p{i}" for i in range(len(prompts))], "task": "t", "split": "eval", "prompt": prompts,
        "answer": answer, "question": prompts, "family": "f", "benchmark": "b", "verifier": verifier})


def test_sample_and_grade_uses_the_models_format(chat_model_dir, plain_model_dir):
    from mirage.generation.sampling import SamplingParams, sample_and_grade

    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=4, seed=0)
    chat = load_tokenizer(chat_model_dir)
    sampler = RecordingSampler(chat, ["<think>x</think><answer>46</answer>"])
    sample_and_grade(sampler, problems(), params, "toy_chat", prompt_format="chat")
    assert sampler.prompt_ids == prompt_token_ids(chat, PROMPTS, "chat")
    assert sampler.prompt_ids == training_prompt_token_ids(chat, [training_prompt(p, "chat") for p in PROMPTS])
    sample_and_grade(sampler, problems(), params, "toy_chat")  # default: plain
    assert sampler.prompt_ids == chat(PROMPTS)["input_ids"]
    with pytest.raises(ValueError, match="toy_a"):
        sample_and_grade(RecordingSampler(load_tokenizer(plain_model_dir), ["x"]), problems(), params, "toy_a",
                         prompt_format="chat")


def test_hf_sampler_generates_from_the_rendered_ids(chat_model_dir):
    """The HF backend's batch is the rendered ids, left padded; the samples of a
    prompt do not depend on the other prompts of its batch."""
    from mirage.generation.sampling import HFSampler, SamplingParams

    sampler = HFSampler(chat_model_dir)
    params = SamplingParams(n=2, temperature=1.0, top_p=1.0, max_new_tokens=6, seed=3)
    ids = prompt_token_ids(sampler.tokenizer, PROMPTS, "chat")
    out = sampler.generate(ids, params)
    assert sorted((c.prompt_index, c.sample_idx) for c in out) == [(p, s) for p in range(3) for s in range(2)]
    greedy = SamplingParams(n=1, temperature=0.0, top_p=1.0, max_new_tokens=6, seed=3)
    alone = sampler.generate(ids[1:2], greedy)
    batched = sampler.generate(ids, greedy)
    assert alone[0].text == batched[1].text


# -- grading: the answer fallback reaches sampling and rewards alike -----------------------------

BARE = r"the answer is \boxed{46}"


def test_sampling_grades_a_bare_answer_only_with_the_fallback(plain_model_dir):
    from mirage.generation.sampling import SamplingParams, sample_and_grade

    params = SamplingParams(n=1, temperature=1.0, top_p=1.0, max_new_tokens=4, seed=0)
    tokenizer = load_tokenizer(plain_model_dir)
    # math reads the boxed answer; KOR-Bench's grader reads the [[...]] answer from the text it is given
    for verifier, text, gold, extracted, inside in (("math", BARE, "46", "46", "46"),
                                                     ("kor", "so [[46]]", "[[46]]", "so [[46]]", "[[46]]")):
        sampler = RecordingSampler(tokenizer, [text])
        off = sample_and_grade(sampler, problems(verifier, answer=gold), params, "m")
        assert not off["correct"].any() and off["extracted_answer"].is_null().all()
        on = sample_and_grade(sampler, problems(verifier, answer=gold), params, "m", answer_fallback=True)
        assert on["correct"].all() and (on["extracted_answer"] == extracted).all() and not on["well_formed"].any()
        # inside the tags, the fallback changes nothing
        tagged = RecordingSampler(tokenizer, [f"<think>\\boxed{{1}} [[1]]</think><answer>{inside}</answer>"])
        for fallback in (False, True):
            graded = sample_and_grade(tagged, problems(verifier, answer=gold), params, "m", answer_fallback=fallback)
            assert graded["correct"].all() and graded["well_formed"].all()


def test_a_reward_grades_a_bare_answer_only_with_the_fallback():
    """A reward gets its verifier by name, or configured: ``get_verifier(name,
    fallback=True)``. The answer-only majority vote counts a bare answer only
    with the fallback; format-gated rewards are 0 for it either way."""
    from mirage.training.rewards import make_reward
    from mirage.verifiers.registry import get_verifier

    completions = [BARE, BARE, r"\boxed{45}", "no answer"]
    prompts = ["q"] * len(completions)
    default = make_reward("majority_vote", verifier="math", num_generations=4)
    assert default.verifier.fallback is False
    assert default(prompts, completions, None) == [0.0, 0.0, 0.0, 0.0]
    with_fallback = make_reward("majority_vote", verifier=get_verifier("math", fallback=True), num_generations=4)
    assert with_fallback.verifier.fallback is True
    assert with_fallback(prompts, completions, None) == [1.0, 1.0, 0.0, 0.0]
    for reward in (make_reward("ground_truth", verifier="math"),
                   make_reward("ground_truth", verifier=get_verifier("math", fallback=True))):
        assert reward(prompts[:2], [BARE, "<think>t</think><answer>46</answer>"], None, answer=["46", "46"]) == [0.0, 1.0]


# -- the contamination check ----------------------------------------------------------------------

def captured_generate_inputs(monkeypatch):
    """Records the unpadded input ids of every ``model.generate`` call."""
    from transformers import GenerationMixin

    seen = []
    original = GenerationMixin.generate

    def generate(self, *args, **kwargs):
        for ids, mask in zip(kwargs["input_ids"].tolist(), kwargs["attention_mask"].tolist()):
            seen.append([i for i, m in zip(ids, mask) if m])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GenerationMixin, "generate", generate)
    return seen


def contamination_problems(tmp_path):
    from mirage.core.schemas import PROBLEMS

    questions = ["12+34", "55+61", "digitsum 12345"]
    df = problems(prompts=[f"{q} -> <think> <answer>\n" for q in questions]).with_columns(
        pl.Series("question", questions))
    path = tmp_path / "problems.parquet"
    PROBLEMS.write(PROBLEMS.check(df), path)
    return path, questions


@pytest.mark.integration
def test_contamination_uses_the_same_rendering(chat_model_dir, plain_model_dir, tmp_path, monkeypatch):
    from mirage.analysis.contamination import check_model, split_question

    path, questions = contamination_problems(tmp_path)
    heads = [split_question(q, 0.6)[0] for q in questions]
    seen = captured_generate_inputs(monkeypatch)

    # plain: today's ids, the cut question as is
    check_model("toy_a", plain_model_dir, str(path), fraction=0.6)
    plain = load_tokenizer(plain_model_dir)
    assert sorted(seen) == sorted(plain(heads, add_special_tokens=False)["input_ids"])

    # chat: the model's chat rendering, the user message left open after the cut question
    seen.clear()
    check_model("toy_chat", chat_model_dir, str(path), fraction=0.6, prompt_format="chat")
    chat = load_tokenizer(chat_model_dir)
    expected = prompt_token_ids(chat, heads, "chat", open_end=True)
    assert sorted(seen) == sorted(expected)
    for ids, head, question in zip(expected, heads, questions):
        assert chat.decode(ids) == f"<bos>[user]\n{head}"
        # the opening of the prompt the trainer builds for the whole question
        full = prompt_token_ids(chat, [question], "chat")[0]
        assert full[:len(ids)] == ids

    with pytest.raises(ValueError, match="toy_a.*chat template"):
        check_model("toy_a", plain_model_dir, str(path), fraction=0.6, prompt_format="chat")
