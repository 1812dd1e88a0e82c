"""How a prompt becomes a model's input: one rendering for sampling (base models
and RL checkpoints, both backends), GRPO training and the contamination check.

A prompt is the plain text of the problems table (the study's template filled
with the question); the format is a property of the model (``models.<name>.
prompt_format``):

``plain``
    the text as is, tokenized as TRL's GRPOTrainer tokenizes a plain-text
    prompt, ``tokenizer(text)``: with the tokenizer's own special tokens (a BOS
    where its post-processor adds one, e.g. Llama's; none for the toy tokenizer).
``chat``
    the text is the user message of a one-message conversation, rendered by the
    tokenizer's chat template with the generation prompt and tokenized without
    adding special tokens (the template writes them): TRL's GRPOTrainer does
    exactly this with a conversational row ``{"prompt": [{"role": "user",
    "content": text}]}`` (``apply_chat_template(..., add_generation_prompt=True,
    tokenize=True)``), and so did the released code (verl renders the chat
    messages, then tokenizes with ``add_special_tokens=False``).

Either way the ids hold the tokenizer's BOS once, where it has one: the
template writes it for a chat model (Llama 3.1's ``{{- bos_token }}``), the
post-processor adds it to a plain text, and nothing adds it on top (the
samplers hand these ids to ``generate`` and to vLLM as they are).

A prompt's length is the length of these ids. ``drop_long_prompts`` keeps the
prompts of at most ``rl.grpo.max_prompt_tokens`` tokens of a model's training
problems: the released run's prompt budget (verl's ``max_prompt_length``,
2,048), where verl cut a longer prompt to its last 2,048 tokens instead.
"""

from __future__ import annotations

import logging

PROMPT_FORMATS = ("plain", "chat")

log = logging.getLogger(__name__)


def render_prompt(template: str, question: str) -> str:
    """The plain-text prompt of a problem: the study's ``prompt_template`` with
    ``{question}`` filled in (every task source builds its prompts this way)."""
    return template.format(question=question)


def check_prompt_format(tokenizer, fmt: str, model: str | None = None) -> None:
    """A ``chat`` model needs a tokenizer with a chat template."""
    if fmt not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}; known: {list(PROMPT_FORMATS)}")
    if fmt == "chat" and not getattr(tokenizer, "chat_template", None):
        name = model or getattr(tokenizer, "name_or_path", "") or "?"
        raise ValueError(f"model {name!r}: prompt_format is 'chat' but its tokenizer has no chat template "
                         f"(set models.{name}.prompt_format: plain, or use a tokenizer with a chat_template)")


def chat_messages(prompt: str) -> list[dict]:
    return [{"role": "user", "content": prompt}]


def training_prompt(prompt: str, fmt: str):
    """The ``prompt`` of a GRPO training row: the text for ``plain``, the
    messages for ``chat`` (TRL then renders them with the chat template itself)."""
    if fmt not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}; known: {list(PROMPT_FORMATS)}")
    return chat_messages(prompt) if fmt == "chat" else prompt


def render_prompt_text(tokenizer, prompt: str, fmt: str, *, model: str | None = None, open_end: bool = False) -> str:
    """The prompt as text. ``open_end`` (the contamination check): the user
    message is left open, so that the model continues the question itself
    rather than answering it (``continue_final_message``)."""
    check_prompt_format(tokenizer, fmt, model)
    if fmt == "plain":
        return prompt
    if open_end:
        return tokenizer.apply_chat_template(chat_messages(prompt), continue_final_message=True, tokenize=False)
    return tokenizer.apply_chat_template(chat_messages(prompt), add_generation_prompt=True, tokenize=False)


def training_prompt_token_ids(tokenizer, row_prompts: list) -> list[list[int]]:
    """The token ids TRL 1.16's GRPOTrainer builds for the ``prompt`` column of
    its rows (``GRPOTrainer._tokenize_prompts``): a list of messages through the
    chat template (generation prompt added, no special tokens added on top of
    the template's), a text as ``tokenizer(text)``. A reward function receives
    these rows' prompts as ``prompts``."""
    row_prompts = list(row_prompts)
    if not row_prompts:
        return []
    if not isinstance(row_prompts[0], str):  # conversational, as TRL's is_conversational decides
        tokenized = tokenizer.apply_chat_template(row_prompts, add_generation_prompt=True, tokenize=True,
                                                  return_dict=True)
        return [list(ids) for ids in tokenized["input_ids"]]
    return [list(ids) for ids in tokenizer(row_prompts)["input_ids"]]


def prompt_token_ids(tokenizer, prompts: list[str], fmt: str, *, model: str | None = None,
                     open_end: bool = False) -> list[list[int]]:
    """The token ids the model sees for each prompt text: those the trainer
    builds for the row prompt ``training_prompt(prompt, fmt)``. ``open_end``
    (the contamination check): a chat prompt ends inside the user message."""
    check_prompt_format(tokenizer, fmt, model)
    prompts = list(prompts)
    if fmt == "chat" and open_end:
        texts = [render_prompt_text(tokenizer, p, fmt, model=model, open_end=True) for p in prompts]
        return [list(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]] if texts else []
    return training_prompt_token_ids(tokenizer, [training_prompt(p, fmt) for p in prompts])


def prompt_lengths(tokenizer, prompts: list[str], fmt: str, *, model: str | None = None,
                   chunk: int = 1024) -> list[int]:
    """The number of tokens of each prompt as the model sees it (the ids of
    ``prompt_token_ids``: chat template, BOS and all), tokenized ``chunk``
    prompts at a time."""
    prompts = list(prompts)
    lengths: list[int] = []
    for start in range(0, len(prompts), chunk):
        lengths += [len(ids) for ids in prompt_token_ids(tokenizer, prompts[start:start + chunk], fmt, model=model)]
    return lengths


def drop_long_prompts(tokenizer, prompts: list[str], fmt: str, max_tokens: int | None, *,
                      model: str | None = None) -> tuple[list[int], int]:
    """(indices of the prompts of at most ``max_tokens`` tokens, in order; how
    many were longer). A prompt of exactly ``max_tokens`` tokens is kept, as
    verl keeps it (``filter_overlong_prompts``: length <= max_prompt_length);
    ``max_tokens`` None keeps every prompt without tokenizing any. The released
    run did not drop its long prompts: verl cut them to their last 2,048 tokens
    (``truncation: left``), which TRL cannot do; the count says how many that was."""
    prompts = list(prompts)
    if max_tokens is None:
        return list(range(len(prompts))), 0
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, not {max_tokens}")
    lengths = prompt_lengths(tokenizer, prompts, fmt, model=model)
    kept = [i for i, n in enumerate(lengths) if n <= max_tokens]
    dropped = len(prompts) - len(kept)
    name = model or getattr(tokenizer, "name_or_path", "") or "?"
    if dropped:
        log.warning("%s: dropped %d of %d prompts longer than %d tokens (the longest has %d)",
                    name, dropped, len(prompts), max_tokens, max(lengths))
    else:
        log.info("%s: all %d prompts within %d tokens", name, len(prompts), max_tokens)
    return kept, dropped


def drop_long_rows(table, tokenizer, fmt: str, max_tokens: int | None, *, model: str | None = None):
    """(``table`` without the rows whose ``prompt`` is over ``max_tokens`` tokens,
    how many rows that was): ``drop_long_prompts`` on a problems table (a polars
    frame), its rows kept in order."""
    kept, dropped = drop_long_prompts(tokenizer, table["prompt"].to_list(), fmt, max_tokens, model=model)
    return (table[kept] if dropped else table), dropped
