"""Tiny tokenizers (and models) of the paper's model families, for tests: the real
chat templates (``tests/fixtures/chat_templates/``, verbatim), the families' special
tokens and their BOS / EOS / pad settings as the real models' ``tokenizer_config.json``
and ``generation_config.json`` set them (sources: the fixtures' README), around a
byte-level vocabulary of 256 tokens (token id b is byte b of the UTF-8 text, no merges),
so that any text tokenizes and decodes back exactly. No network.

The special tokens are numbered after the 256 bytes in the real models' order (the
real ids are 151643... and 128000...); nothing here depends on their values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"
QWEN25_TEMPLATE = TEMPLATES / "Qwen-Qwen2.5-7B-Instruct.jinja"
LLAMA31_TEMPLATE = TEMPLATES / "meta-llama-Llama-3.1-8B-Instruct.jinja"

# Qwen2.5's special added tokens, ids 151643-151656 (its tokenizer_config.json's added_tokens_decoder)
QWEN25_SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
                  "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
                  "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
# Llama 3.1's first special tokens, ids 128000-128010 (the rest, to 128255, are reserved ones)
LLAMA31_SPECIAL = ("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
                   "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>")


@dataclass(frozen=True)
class Family:
    """A model's tokenizer settings: ``template`` (None: the model ships no chat
    template), ``bos`` (added by the post-processor when ``add_bos``), ``eos`` and
    ``pad`` (tokenizer_config.json), ``generation_eos`` (generation_config.json's
    eos_token_id) and ``end_of_turn``, the token its chat template ends a turn with."""

    name: str
    special: tuple[str, ...]
    template: Path | None
    bos: str | None
    add_bos: bool
    eos: str
    pad: str | None
    generation_eos: tuple[str, ...]
    end_of_turn: str | None


FAMILIES = {f.name: f for f in (
    # Qwen/Qwen2.5-7B, Qwen/Qwen2.5-1.5B: no BOS, EOS and pad <|endoftext|>; generation_config eos 151643
    Family("qwen2.5-base", QWEN25_SPECIAL, QWEN25_TEMPLATE, None, False, "<|endoftext|>", "<|endoftext|>",
           ("<|endoftext|>",), "<|im_end|>"),
    # Qwen/Qwen2.5-7B-Instruct: EOS <|im_end|>, pad <|endoftext|>; generation_config eos [151645, 151643]
    Family("qwen2.5-instruct", QWEN25_SPECIAL, QWEN25_TEMPLATE, None, False, "<|im_end|>", "<|endoftext|>",
           ("<|im_end|>", "<|endoftext|>"), "<|im_end|>"),
    # meta-llama/Llama-3.1-8B-Instruct: BOS added by the post-processor, EOS <|eot_id|>, no pad;
    # generation_config eos [128001, 128008, 128009]
    Family("llama3.1-instruct", LLAMA31_SPECIAL, LLAMA31_TEMPLATE, "<|begin_of_text|>", True, "<|eot_id|>", None,
           ("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"), "<|eot_id|>"),
    # the same model's files as released in July 2024: tokenizer EOS <|end_of_text|> (changed to <|eot_id|>
    # in August 2024); an older pinned revision loads this way
    Family("llama3.1-instruct-2024-07", LLAMA31_SPECIAL, LLAMA31_TEMPLATE, "<|begin_of_text|>", True,
           "<|end_of_text|>", None, ("<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"), "<|eot_id|>"),
    # meta-llama/Llama-3.1-8B (base): no chat template, EOS <|end_of_text|>, generation_config eos 128001
    Family("llama3.1-base", LLAMA31_SPECIAL, None, "<|begin_of_text|>", True, "<|end_of_text|>", None,
           ("<|end_of_text|>",), None),
)}


def byte_chars() -> dict[int, str]:
    """The printable character byte-level BPE writes each byte as (GPT-2's table: a
    printable byte stands for itself, the others for 256, 257, ... in byte order), so
    that token id b is byte b."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte] = chr(256 + extra)
            extra += 1
    return chars


def build_tokenizer(family: str | Family):
    """The family's tiny tokenizer, a ``PreTrainedTokenizerFast`` like the real ones."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    fam = FAMILIES[family] if isinstance(family, str) else family
    core = Tokenizer(models.BPE(vocab={char: byte for byte, char in byte_chars().items()}, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    core.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in fam.special])
    if fam.add_bos:
        bos_id = core.token_to_id(fam.bos)
        core.post_processor = processors.TemplateProcessing(
            single=f"{fam.bos} $A", pair=f"{fam.bos} $A {fam.bos} $B", special_tokens=[(fam.bos, bos_id)])
    kwargs = {"bos_token": fam.bos, "eos_token": fam.eos, "model_max_length": 131072}
    if fam.pad is not None:
        kwargs["pad_token"] = fam.pad
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, **kwargs)
    if fam.template is not None:
        tokenizer.chat_template = fam.template.read_text()
    return tokenizer


def save_tiny_model(family: str | Family, out: Path, arch: str = "auto") -> Path:
    """A tiny random causal LM of the family's architecture (Qwen2 or Llama) beside the
    family's tokenizer in ``out``, its generation_config.json holding the family's EOS ids."""
    import torch
    import transformers

    fam = FAMILIES[family] if isinstance(family, str) else family
    tokenizer = build_tokenizer(fam)
    kind = arch if arch != "auto" else ("qwen2" if fam.name.startswith("qwen") else "llama")
    generation_eos = [tokenizer.convert_tokens_to_ids(t) for t in fam.generation_eos]
    config_class = {"qwen2": transformers.Qwen2Config, "llama": transformers.LlamaConfig}[kind]
    config = config_class(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                          num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                          bos_token_id=tokenizer.bos_token_id, eos_token_id=generation_eos, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(config)
    model.generation_config = transformers.GenerationConfig(bos_token_id=tokenizer.bos_token_id,
                                                            eos_token_id=generation_eos)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out
