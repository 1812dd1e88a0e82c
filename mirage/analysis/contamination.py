"""The paper's contamination check: is a model's result on a benchmark just
memorised test data? Each evaluation question (the problem statement, without
the study's prompt template, which every model sees) is cut at a fraction of its
length, the model completes it greedily, and the completion is scored against the
true continuation with exact match and ROUGE-L (over the tokenizer's tokens).
The cut question is rendered as the model's prompts are (``mirage.generation.prompts``):
as is for a ``plain`` model; for a ``chat`` model, as a user message left open
(the chat template's opening, then the cut question), so that the model goes on
with the question rather than answering it."""

from __future__ import annotations

import logging

import polars as pl

from mirage.core.schemas import CONTAMINATION, PROBLEMS
from mirage.generation.models import load_model, load_tokenizer
from mirage.generation.prompts import prompt_token_ids

log = logging.getLogger(__name__)


def split_question(question: str, fraction: float) -> tuple[str, str]:
    """The first ``fraction`` of the question's characters (at least one, and
    at least one left over) and the rest."""
    cut = min(max(1, round(len(question) * fraction)), len(question) - 1)
    return question[:cut], question[cut:]


def lcs_length(a: list, b: list) -> int:
    """Length of the longest common subsequence (one row of the DP table at a time)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)  # Python lists: element access in this loop is slower on numpy arrays
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l(reference: list, candidate: list) -> float:
    """ROUGE-L F1 between two token sequences."""
    lcs = lcs_length(reference, candidate)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return 2 * precision * recall / (precision + recall)


def check_model(model_name: str, model_path: str, problems_path: str, fraction: float, batch_size: int = 64,
                threads: int = 1, prompt_format: str = "plain", load: dict | None = None) -> pl.DataFrame:
    """One row per evaluation problem: the cut prompt's true continuation, the
    model's greedy continuation of the same length in tokens, exact match and
    ROUGE-L. ``load``: the model's load settings (``mirage.generation.models``). The true
    continuation is tokenized without special tokens: it goes on from the
    prompt, which carries them."""
    import torch
    from tqdm.auto import tqdm

    torch.set_num_threads(threads)
    problems = PROBLEMS.read(problems_path).filter(pl.col("split") == "eval")
    tokenizer = load_tokenizer(model_path, load)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = load_model(model_path, load).to(device).eval()
    rows = []
    records = problems.to_dicts()
    for start in tqdm(range(0, len(records), batch_size), desc="contamination", unit="batch", mininterval=5):
        batch = records[start:start + batch_size]
        heads, tails = zip(*(split_question(r["question"], fraction) for r in batch))
        targets = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in tails]
        heads_ids = prompt_token_ids(tokenizer, list(heads), prompt_format, model=model_name, open_end=True)
        enc = tokenizer.pad({"input_ids": heads_ids}, return_tensors="pt").to(device)  # left padding
        with torch.no_grad():
            out = model.generate(**enc, do_sample=False, max_new_tokens=max(len(t) for t in targets),
                                 pad_token_id=tokenizer.pad_token_id)
        for record, target, generated in zip(batch, targets, out[:, enc["input_ids"].shape[1]:].tolist()):
            generated = generated[:len(target)]
            rows.append({
                "model": model_name, "task": record["task"], "benchmark": record["benchmark"],
                "problem_id": record["problem_id"], "fraction": fraction,
                "continuation": tokenizer.decode(generated, skip_special_tokens=True),
                "true_continuation": tokenizer.decode(target, skip_special_tokens=True),
                "exact_match": generated == target, "rouge_l": rouge_l(target, generated),
            })
    return CONTAMINATION.frame(rows)
