from transformers import AutoTokenizer

from mirage.toy.tokenizer import build_tokenizer, save_tokenizer


def test_round_trip_and_single_token_tags(tmp_path):
    text = "12+34 -> <think> <answer>\n<think>S:2+4+0=6;1+3+0=4</think><answer>46</answer>"
    tok = build_tokenizer()
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    for tag in ("<think>", "</think>", "<answer>", "</answer>"):
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1
    # characters are one token each
    assert len(tok("12+34", add_special_tokens=False)["input_ids"]) == 5

    save_tokenizer(tmp_path / "tok")
    loaded = AutoTokenizer.from_pretrained(str(tmp_path / "tok"))
    assert loaded(text, add_special_tokens=False)["input_ids"] == ids
    assert loaded.padding_side == "left"
    assert loaded.eos_token == "<eos>" and loaded.pad_token == "<pad>"


def test_unknown_characters_map_to_unk():
    tok = build_tokenizer()
    ids = tok("é", add_special_tokens=False)["input_ids"]
    assert ids == [tok.unk_token_id]
