"""The entropy-minimisation reward's log-probabilities: equal to TRL 1.16's own
per-token log-probabilities of the same batch, computed from the prompt ids TRL
trained on, and without a (batch, sequence, vocabulary) logits tensor."""

import math

import pytest
import torch
from datasets import Dataset
from tokenizers import processors
from torch.utils._python_dispatch import TorchDispatchMode
from transformers import LlamaConfig, LlamaForCausalLM
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import pad

from mirage.toy.tokenizer import build_tokenizer
from mirage.training.logprobs import PromptIdsMixin, ScoringLayout, completion_mean_logprobs, completion_token_logprobs

TEMPERATURE = 0.7
PROMPTS = ["12+7=", "3+4 ->", "100+250 = ?", "9+9"]


def bos_tokenizer():
    """The toy character tokenizer, made to add a BOS like a Llama tokenizer."""
    tok = build_tokenizer()
    tok._tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{tok.bos_token} $A", special_tokens=[(tok.bos_token, tok.bos_token_id)])
    assert tok("1+1")["input_ids"][0] == tok.bos_token_id
    return tok


def tiny_llama(vocab_size, seed=0, hidden=32):
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         initializer_range=0.3, tie_word_embeddings=False)
    return LlamaForCausalLM(config).float()


@pytest.fixture(scope="module")
def tokenizer():
    return bos_tokenizer()


def make_trainer(tmp_path, model, tokenizer, reward, cls=GRPOTrainer, **args):
    args = {"bf16": False, **args}
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, report_to="none",
                        per_device_train_batch_size=4, num_generations=2, max_completion_length=6,
                        temperature=TEMPERATURE, max_steps=1, beta=0.0, logging_steps=1, save_strategy="no",
                        disable_dropout=True, seed=3, **args)
    return cls(model=model, reward_funcs=[reward], args=config, processing_class=tokenizer,
               train_dataset=Dataset.from_list([{"prompt": p} for p in PROMPTS]))


def zero_reward(prompts, completions, **kwargs):
    return [0.0] * len(prompts)


def random_batch(tokenizer, seed=1):
    """Prompts tokenized as TRL tokenizes them (BOS first), completions of varying
    lengths (one of length 1, one longest) drawn at random from the vocabulary."""
    g = torch.Generator().manual_seed(seed)
    texts = PROMPTS + ["7+8=", "1", "55+4 = "]
    prompts = tokenizer(text=texts)["input_ids"]
    lengths = [5, 1, 9, 3, 7, 2, 9]
    completions = [torch.randint(4, len(tokenizer), (n,), generator=g).tolist() for n in lengths]
    return prompts, completions


def trl_mean_logprobs(trainer, prompts, completions, batch_size):
    """TRL's own per-token log-probs of the batch (its padding, its forward), averaged
    over the completion mask."""
    pad_id = trainer.processing_class.pad_token_id
    prompt_ids = pad([torch.tensor(p) for p in prompts], padding_value=pad_id, padding_side="left")
    prompt_mask = pad([torch.ones(len(p), dtype=torch.long) for p in prompts], padding_value=0, padding_side="left")
    completion_ids = pad([torch.tensor(c) for c in completions], padding_value=pad_id, padding_side="right")
    completion_mask = pad([torch.ones(len(c), dtype=torch.long) for c in completions], padding_value=0,
                          padding_side="right")
    with torch.no_grad():
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, torch.cat([prompt_ids, completion_ids], 1), torch.cat([prompt_mask, completion_mask], 1),
            completion_ids.size(1), batch_size=batch_size)
    return logps, completion_mask, ((logps * completion_mask).sum(1) / completion_mask.sum(1)).tolist()


def naive_mean_logprobs(model, prompts, completions, temperature):
    """One sequence at a time, no padding, full float64 log-softmax."""
    out = []
    with torch.no_grad():
        for p, c in zip(prompts, completions):
            ids = torch.tensor([list(p) + list(c)])
            logits = model(input_ids=ids).logits.double()[0, len(p) - 1:-1] / temperature
            out.append(float(logits.log_softmax(-1).gather(-1, torch.tensor(c)[:, None]).mean()))
    return out


@pytest.fixture(scope="module")
def trl_trainer(tmp_path_factory, tokenizer):
    model = tiny_llama(len(tokenizer))
    return make_trainer(tmp_path_factory.mktemp("trl"), model, tokenizer, zero_reward)


@pytest.mark.parametrize("batch_size,chunk_size", [(2, 3), (3, 1), (7, 1000), (1, 4)])
def test_equals_trl_per_token_logprobs(trl_trainer, tokenizer, batch_size, chunk_size):
    prompts, completions = random_batch(tokenizer)
    assert all(p[0] == tokenizer.bos_token_id for p in prompts)
    assert len({len(p) for p in prompts}) > 1 and len({len(c) for c in completions}) > 1
    trl_logps, trl_mask, trl_means = trl_mean_logprobs(trl_trainer, prompts, completions, batch_size=4)
    model = trl_trainer.model
    model.train()
    layout = ScoringLayout(batch_size=batch_size, chunk_size=chunk_size)
    ours = completion_mean_logprobs(model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id, layout=layout)
    assert model.training  # mode restored
    assert ours == pytest.approx(trl_means, abs=1e-5)
    logps, mask = completion_token_logprobs(model, prompts, completions, temperature=TEMPERATURE,
                                            pad_id=tokenizer.pad_token_id, layout=layout)
    assert mask.equal(trl_mask)
    torch.testing.assert_close(logps, trl_logps.float() * trl_mask, atol=1e-5, rtol=0)
    # and it is the log-probability, not an artefact shared with TRL: one sequence at a time, no padding, float64
    assert ours == pytest.approx(naive_mean_logprobs(model, prompts, completions, TEMPERATURE), abs=1e-5)
    # far from uniform: a wrong offset or temperature would show
    assert max(ours) - min(ours) > 0.5


def test_under_the_trainers_bf16_autocast_equals_trl(tmp_path, tokenizer):
    """Mixed precision: the LM head's logits are rounded to bfloat16 before the
    float32 log-softmax, in TRL and here alike (the difference to float32 is ~1e-2)."""
    trainer = make_trainer(tmp_path, tiny_llama(len(tokenizer)), tokenizer, zero_reward, bf16=True)
    prompts, completions = random_batch(tokenizer)
    _, _, trl_means = trl_mean_logprobs(trainer, prompts, completions, batch_size=4)
    ours = completion_mean_logprobs(trainer.model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id,
                                    layout=ScoringLayout(batch_size=2, chunk_size=3,
                                                         autocast=trainer.accelerator.autocast))
    assert ours == pytest.approx(trl_means, abs=1e-5)
    float32 = completion_mean_logprobs(trainer.model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id)
    assert max(abs(a - b) for a, b in zip(float32, trl_means)) > 1e-3


def test_chunking_does_not_change_the_result(trl_trainer, tokenizer):
    prompts, completions = random_batch(tokenizer, seed=7)
    runs = [completion_mean_logprobs(trl_trainer.model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id,
                                     layout=ScoringLayout(batch_size=b, chunk_size=c))
            for b, c in [(1, 1), (2, 5), (7, 64)]]
    for run in runs[1:]:
        assert run == pytest.approx(runs[0], abs=1e-6)


def test_temperature_and_prompt_change_the_reward(trl_trainer, tokenizer):
    prompts, completions = random_batch(tokenizer)
    model = trl_trainer.model
    base = completion_mean_logprobs(model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id)
    hot = completion_mean_logprobs(model, prompts, completions, 1.5, tokenizer.pad_token_id)
    no_bos = completion_mean_logprobs(model, [p[1:] for p in prompts], completions, TEMPERATURE,
                                      tokenizer.pad_token_id)
    assert all(abs(a - b) > 1e-4 for a, b in zip(base, hot))
    assert any(abs(a - b) > 1e-4 for a, b in zip(base, no_bos))


def test_empty_completion_is_nan_and_leaves_the_others_alone(trl_trainer, tokenizer):
    prompts, completions = random_batch(tokenizer)
    full = completion_mean_logprobs(trl_trainer.model, prompts, completions, TEMPERATURE, tokenizer.pad_token_id)
    completions[2] = []
    some_empty = completion_mean_logprobs(trl_trainer.model, prompts, completions, TEMPERATURE,
                                          tokenizer.pad_token_id, layout=ScoringLayout(batch_size=3))
    assert math.isnan(some_empty[2])
    assert some_empty[:2] + some_empty[3:] == pytest.approx(full[:2] + full[3:], abs=1e-5)
    assert completion_mean_logprobs(trl_trainer.model, prompts[:2], [[], []], 1.0, 0, empty=0.0) == [0.0, 0.0]


# -- one real GRPO step ------------------------------------------------------------------------

class Recorder(PromptIdsMixin, GRPOTrainer):
    """Records what the trainer trained on and TRL's log-probs of it, before the optimizer step."""

    trained = None

    def _compute_loss(self, model, inputs):
        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, completion_mask = inputs["completion_ids"], inputs["completion_mask"]
        with torch.no_grad():
            logps, _, _ = self._get_per_token_logps_and_entropies(
                model, torch.cat([prompt_ids, completion_ids], 1), torch.cat([prompt_mask, completion_mask], 1),
                completion_ids.size(1))
        means = ((logps * completion_mask).sum(1) / completion_mask.sum(1)).tolist()
        self.trained = [
            (tuple(p[m.bool()].tolist()), tuple(c[cm.bool()].tolist()), mean)
            for p, m, c, cm, mean in zip(prompt_ids, prompt_mask, completion_ids, completion_mask, means)]
        return super()._compute_loss(model, inputs)


@pytest.mark.integration
def test_reward_sees_the_prompt_ids_trl_trains_on(tmp_path, tokenizer):
    seen = []

    def entropy_reward(prompts, completions, completion_ids, prompt_ids, **kwargs):
        rewards = completion_mean_logprobs(model, prompt_ids, completion_ids, TEMPERATURE, tokenizer.pad_token_id,
                                           layout=ScoringLayout(batch_size=3, chunk_size=2))
        seen.extend(zip(map(tuple, prompt_ids), map(tuple, completion_ids), rewards))
        return rewards

    model = tiny_llama(len(tokenizer), seed=4)
    trainer = make_trainer(tmp_path, model, tokenizer, entropy_reward, cls=Recorder)
    trainer.train()
    assert trainer.trained is not None and len(seen) == len(trainer.trained) == 4
    key = lambda row: row[:2]
    assert sorted(map(key, seen)) == sorted(map(key, trainer.trained))
    for prompt, _, _ in seen:
        assert prompt[0] == tokenizer.bos_token_id  # what re-tokenizing without special tokens would lose
        assert tokenizer.decode(prompt, skip_special_tokens=True) in PROMPTS
    # the reward is TRL's mean log-prob of what it trained on, under the weights that sampled it
    trained = {key(row): row[2] for row in trainer.trained}
    for row in seen:
        assert row[2] == pytest.approx(trained[key(row)], abs=1e-5)
    # the dataset rows are left as they were
    assert "prompt_ids" not in trainer.train_dataset.column_names


# -- memory ------------------------------------------------------------------------------------

class LargestVocabTensor(TorchDispatchMode):
    """Every tensor any op allocates whose last dimension is the vocabulary: the
    largest number of rows (product of the leading dimensions) seen, float32 ones
    apart."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab, self.rows, self.rows_f32 = vocab, 0, 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.is_view:  # a view allocates nothing (e.g. the LM head's weight transposed)
            return out
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.dim() >= 2 and t.shape[-1] == self.vocab:
                rows = t.numel() // self.vocab
                self.rows = max(self.rows, rows)
                if t.dtype == torch.float32:
                    self.rows_f32 = max(self.rows_f32, rows)
        return out


def old_full_batch_mean_logprobs(model, prompts, completions, temperature, pad_id):
    """The reward's former computation: one forward over the whole right-padded batch."""
    seqs = [list(p) + list(c) for p, c in zip(prompts, completions)]
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad_id)
    attn = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, :len(s)], attn[i, :len(s)] = torch.tensor(s), 1
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=attn).logits.float() / temperature
    return torch.log_softmax(logits[:, :-1], -1)


def test_no_batch_by_sequence_by_vocabulary_logits():
    vocab = 997  # no other dimension of the model or the batch has this size
    model = tiny_llama(vocab, seed=2)
    g = torch.Generator().manual_seed(0)
    prompts = [torch.randint(0, vocab, (n,), generator=g).tolist() for n in (12, 5, 20, 9, 16, 3)]
    completions = [torch.randint(0, vocab, (n,), generator=g).tolist() for n in (30, 17, 25, 1, 30, 8)]
    chunk = 8
    head_rows = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, i, o: head_rows.append(o.shape[:-1]))
    with LargestVocabTensor(vocab) as traced:
        completion_mean_logprobs(model, prompts, completions, 0.9, 0,
                                 layout=ScoringLayout(batch_size=2, chunk_size=chunk))
    hook.remove()
    assert head_rows and all(len(s) == 1 and s[0] <= chunk for s in head_rows)
    assert 0 < traced.rows <= chunk and traced.rows_f32 <= chunk
    # the check can fail: the former full-batch computation trips it
    with LargestVocabTensor(vocab) as traced_old:
        old_full_batch_mean_logprobs(model, prompts, completions, 0.9, 0)
    assert traced_old.rows_f32 >= len(prompts) * 31


# -- several processes: the same collective calls ---------------------------------------------

def _scoring_process(rank, world, store_path, out_dir):
    """One process of a 2-process job (gloo): its own completions, of other lengths than the
    other process's; it counts its backbone and LM-head calls (the calls a sharded engine
    gathers parameters in) and writes them with its log-probabilities."""
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{store_path}", rank=rank, world_size=world)
    try:
        model = tiny_llama(40, seed=7)
        calls = {"backbone": 0, "lm_head": 0}
        model.base_model.register_forward_hook(lambda *a: calls.__setitem__("backbone", calls["backbone"] + 1))
        model.get_output_embeddings().register_forward_hook(lambda *a: calls.__setitem__("lm_head", calls["lm_head"] + 1))
        prompts, completions = _process_batch(rank)
        logps, mask = completion_token_logprobs(model, prompts, completions, temperature=TEMPERATURE, pad_id=0,
                                                layout=ScoringLayout(batch_size=2, chunk_size=3))
        counts = [None] * world
        dist.all_gather_object(counts, calls)
        (out_dir / f"rank{rank}.json").write_text(json.dumps({"counts": counts, "logps": logps.tolist()}))
    finally:
        dist.destroy_process_group()


def _process_batch(rank):
    """Rank 0: 4 short completions; rank 1: 6 long ones (more micro-batches and chunks)."""
    g = torch.Generator().manual_seed(rank)
    n, length = (4, 2) if rank == 0 else (6, 9)
    prompts = [torch.randint(1, 40, (3,), generator=g).tolist() for _ in range(n)]
    completions = [torch.randint(1, 40, (length - i % 2,), generator=g).tolist() for i in range(n)]
    return prompts, completions


@pytest.mark.integration
def test_processes_with_other_completion_lengths_make_the_same_calls(tmp_path):
    """Under ZeRO-3 or FSDP2 every call of the backbone or the LM head gathers parameters
    collectively: two processes whose completions differ in number and length must call
    both equally often (else the job hangs until its timeout), and get the log-probabilities
    a single process computes for the same rows."""
    import json

    import torch.multiprocessing as mp

    mp.spawn(_scoring_process, args=(2, str(tmp_path / "store"), tmp_path), nprocs=2, join=True)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    counts = results[0]["counts"]
    assert counts[0] == counts[1], counts
    assert counts[0]["backbone"] == 3 and counts[0]["lm_head"] >= 6  # rank 1's 3 micro-batches of 2 x 8-9 tokens
    for rank, result in enumerate(results):
        prompts, completions = _process_batch(rank)
        alone, _ = completion_token_logprobs(tiny_llama(40, seed=7), prompts, completions, temperature=TEMPERATURE,
                                             pad_id=0, layout=ScoringLayout(batch_size=2, chunk_size=3))
        assert torch.tensor(result["logps"]).equal(alone)


# -- padding trimmed per micro-batch ----------------------------------------------------------

@pytest.mark.integration
def test_a_micro_batch_trains_on_its_own_completion_width_with_the_same_loss_and_gradients(tmp_path, tokenizer):
    """TRL pads a process's generation batch to its longest completion; the claim trainer cuts
    the columns a micro-batch has only as padding before its forward/backward. Same loss and
    gradients as on the full width (the cut columns are masked and after every real token)."""
    from mirage.training.trainer import claim_trainer_class, trim_completion_padding

    trainer = make_trainer(tmp_path, tiny_llama(len(tokenizer)), tokenizer, zero_reward, cls=claim_trainer_class(),
                           loss_type="dapo")
    trainer.current_gradient_accumulation_steps = 1  # as the training loop sets it
    model = trainer.model
    g = torch.Generator().manual_seed(4)
    lengths = [3, 5, 2, 4]
    width = 12  # the generation batch's longest completion, elsewhere
    completion_ids = torch.full((4, width), tokenizer.pad_token_id)
    completion_mask = torch.zeros(4, width, dtype=torch.long)
    for i, n in enumerate(lengths):
        completion_ids[i, :n] = torch.randint(5, 30, (n,), generator=g)
        completion_mask[i, :n] = 1
    prompt_ids = torch.randint(5, 30, (4, 6), generator=g)
    prompt_mask = torch.ones(4, 6, dtype=torch.long)
    prompt_mask[0, :2] = 0  # left padding
    inputs = {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
              "completion_mask": completion_mask, "advantages": torch.tensor([1.0, -0.5, 0.25, -1.0]),
              "num_items_in_batch": completion_mask.sum(),
              "old_per_token_logps": -torch.rand(4, width, generator=g)}
    trimmed = trim_completion_padding(inputs)
    assert trimmed["completion_ids"].shape == (4, 5) and trimmed["old_per_token_logps"].shape == (4, 5)
    assert trimmed["prompt_ids"] is prompt_ids and trimmed["advantages"] is inputs["advantages"]

    widths = []
    forward = type(trainer)._get_per_token_logps_and_entropies

    def recording(self, model, input_ids, *args, **kwargs):
        widths.append(input_ids.shape[1])
        return forward(self, model, input_ids, *args, **kwargs)

    type(trainer)._get_per_token_logps_and_entropies = recording
    try:
        results = []
        for compute in (lambda: trainer._compute_loss(model, inputs),
                        lambda: GRPOTrainer._compute_loss(trainer, model, inputs)):
            model.zero_grad()
            loss = compute()
            loss.backward()
            results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    finally:
        type(trainer)._get_per_token_logps_and_entropies = forward
    assert widths == [6 + 5, 6 + width]
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.allclose(loss_a, loss_b, atol=1e-7, rtol=1e-6)
    for name in grads_a:
        assert torch.allclose(grads_a[name], grads_b[name], atol=1e-7, rtol=1e-5), name
    assert trim_completion_padding(trimmed) is trimmed  # nothing more to cut
