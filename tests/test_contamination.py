"""The contamination check: the metric, and a deliberately contaminated toy
model flagged where a clean one is not."""

import pytest

from mirage.analysis.contamination import check_model, rouge_l, split_question
from mirage.analysis.evaluation import contamination_summary


def test_split_question_keeps_at_least_one_character_on_each_side():
    assert split_question("86+67", 0.6) == ("86+", "67")
    assert split_question("ab", 0.01) == ("a", "b") and split_question("ab", 0.99) == ("a", "b")


def test_rouge_l_is_the_lcs_f1():
    assert rouge_l(list("abcd"), list("abcd")) == 1.0
    assert rouge_l(list("abcd"), list("xyz")) == 0.0
    # LCS "abd" = 3: precision 3/4, recall 3/4
    assert rouge_l(list("abcd"), list("abxd")) == pytest.approx(0.75)
    assert rouge_l(list("ab"), []) == 0.0


@pytest.mark.slow
def test_a_contaminated_toy_model_is_flagged_and_a_clean_one_is_not(tmp_path):
    from mirage.core.schemas import PROBLEMS
    from mirage.toy.data import generate_task_splits
    from mirage.toy.pretrain import PretrainJob, pretrain_toy_model
    from mirage.toy.tokenizer import build_tokenizer

    template = "{question} -> <think> <answer>\n"
    task = {"family": "add", "params": {"digits": 2}, "n_train": 64, "n_eval": 24, "verifier": "integer"}
    problems = tmp_path / "add.parquet"
    PROBLEMS.write(generate_task_splits("add", "add", task["params"], 64, 24, 3, template), problems)
    build_tokenizer().save_pretrained(str(tmp_path / "tok"))
    base = {"source": "toy",
            "architecture": {"type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                             "intermediate_size": 128, "max_position_embeddings": 64},
            "sft": {"steps": 400, "batch_size": 32, "learning_rate": 3e-3, "warmup_steps": 10, "max_length": 48},
            "mixture": {"add": {"weight": 1.0, "styles": {"procedure": 1.0}}}}
    checks = []
    for name, share in (("clean", 0.0), ("contaminated", 0.5)):
        cfg = {**base, "name": name, **({"contamination": share} if share else {})}
        out = tmp_path / name
        pretrain_toy_model(PretrainJob(tokenizer_dir=tmp_path / "tok", problem_files=[problems], out_dir=out,
                                       model_cfg=cfg, task_families={"add": task}, prompt_template=template, seed=5))
        checks.append(check_model(name, str(out), str(problems), fraction=0.6))
    summary = contamination_summary(checks, flag_exact_match=0.2).sort("model")
    flagged = dict(summary.select("model", "flagged").iter_rows())
    assert flagged == {"clean": False, "contaminated": True}, summary
    rates = dict(summary.select("model", "exact_match_rate").iter_rows())
    assert rates["clean"] < 0.1 and rates["contaminated"] > 0.5
