"""A character-level tokenizer, saved and loaded like any Hugging Face tokenizer."""

from __future__ import annotations

import string
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from mirage.core.atomic import atomic_directory
from mirage.toy.tasks import SPECIAL_TAGS

PAD, BOS, EOS, UNK = "<pad>", "<bos>", "<eos>", "<unk>"


def build_tokenizer() -> PreTrainedTokenizerFast:
    """Printable ASCII and newline, one token each; the four format tags are one
    token each so that a format decision is a single step of the policy."""
    chars = [c for c in string.printable if c not in "\t\r\x0b\x0c"]
    vocab_list = [PAD, BOS, EOS, UNK, *SPECIAL_TAGS, *chars]
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tag_alternatives = "|".join(t.replace("/", r"\/") for t in SPECIAL_TAGS)
    core.pre_tokenizer = pre_tokenizers.Split(
        Regex(f"{tag_alternatives}|.|\\n"), behavior="isolated"
    )
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        unk_token=UNK,
        padding_side="left",
        model_max_length=512,
    )


def save_tokenizer(path: str | Path) -> None:
    with atomic_directory(path) as tmp:
        build_tokenizer().save_pretrained(str(tmp))
