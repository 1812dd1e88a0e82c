import polars as pl
import pytest
from transformers import AutoModelForCausalLM

from mirage.toy.pretrain import build_model, sft_rows
from mirage.toy.tokenizer import build_tokenizer

MIXTURE = {
    "add": {"weight": 3, "practice": 0.5, "styles": {"procedure": 0.04, "flawed": 0.84, "direct": 0.12}},
    "sub": {"weight": 1, "practice": 0.0, "styles": {"procedure": 1.0}},
}
FAMILIES = {"add": {"family": "add", "params": {"digits": 2}}, "sub": {"family": "sub", "params": {"digits": 2}}}


def test_sft_rows_follow_the_mixture():
    excluded = {f"{a}+{b}" for a in range(10, 30) for b in range(10, 100)}
    rows = pl.DataFrame(sft_rows(MIXTURE, FAMILIES, excluded, 4000, "{question}\n", seed=1))
    assert rows.height == 4000
    assert rows.filter(pl.col("task") == "add").height / 4000 == pytest.approx(0.75, abs=0.03)
    add = rows.filter(pl.col("task") == "add")
    practice = add.filter(pl.col("practice"))
    assert practice.height / add.height == pytest.approx(0.5, abs=0.03)
    # practice rows carry the procedure's marker in the prompt: the model is not taught to choose it
    assert practice["prompt"].str.ends_with("<think>S:").all()
    assert not practice["completion"].str.starts_with("<think>").any()
    natural = add.filter(~pl.col("practice"))
    shares = dict(natural.group_by("style").len().select("style", pl.col("len") / natural.height).rows())
    assert shares["flawed"] == pytest.approx(0.84, abs=0.03) and shares["procedure"] == pytest.approx(0.04, abs=0.02)
    assert natural["completion"].str.starts_with("<think>").all()
    # evaluation problems never enter the SFT data
    questions = rows["prompt"].str.split("\n").list.first()
    assert not questions.is_in(list(excluded)).any()
    assert sft_rows(MIXTURE, FAMILIES, excluded, 50, "{question}\n", seed=1) == rows.head(50).to_dicts()


def test_model_saves_and_loads_like_a_hub_model(tmp_path):
    tok = build_tokenizer()
    model = build_model({"type": "qwen2", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                         "intermediate_size": 64, "max_position_embeddings": 64}, tok)
    model.save_pretrained(tmp_path)
    loaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert loaded.config.model_type == "qwen2" and loaded.config.vocab_size == len(tok)
    with pytest.raises(ValueError, match="unknown architecture type 'gpt9'"):
        build_model({"type": "gpt9"}, tok)
