"""The eval tables from graded samples: avg@n and pass@n per run and benchmark, and
the long style table, with rows only where the samples carry a style."""

import polars as pl
import pytest

from mirage.analysis.evaluation import eval_tables
from mirage.core.schemas import EVAL, EVAL_STYLES, RUN_CURVES, SAMPLES, TRAINING_CURVES


def samples(model, task, styles, correct):
    return SAMPLES.frame([
        {"model": model, "task": task, "benchmark": task, "problem_id": f"p{i // 2}", "sample_idx": i % 2,
         "completion": "x", "extracted_answer": "1", "well_formed": True, "correct": c, "style": s,
         "n_tokens": 3, "finish_reason": "stop"}
        for i, (s, c) in enumerate(zip(styles, correct))])


@pytest.mark.integration
def test_eval_tables_write_style_shares_only_for_styled_samples(tmp_path):
    files = {
        "base_toy": samples("m", "add", ["procedure", "procedure", "flawed", "direct"], [True, True, False, True]),
        "base_file": samples("m", "sums", [None] * 4, [True, False, False, False]),
        "rl_toy": samples("m", "add", ["procedure", "procedure", "procedure", "flawed"], [True, True, True, False]),
    }
    for name, df in files.items():
        SAMPLES.write(df, tmp_path / f"{name}.parquet")
    TRAINING_CURVES.write(TRAINING_CURVES.frame([]), tmp_path / "curves.parquet")
    out = {k: str(tmp_path / f"{k}.parquet") for k in ("eval", "runs", "styles")}
    eval_tables([str(tmp_path / "base_toy.parquet"), str(tmp_path / "base_file.parquet")],
                [("random", 2, str(tmp_path / "rl_toy.parquet"))], [str(tmp_path / "curves.parquet")],
                out["eval"], out["runs"], out["styles"])
    ev = EVAL.read(out["eval"])
    assert ev.select("task", "claim", "seed", "avg_at_n", "pass_at_k").rows() == [
        ("add", "base", 0, 0.75, 1.0), ("add", "random", 2, 0.75, 1.0), ("sums", "base", 0, 0.25, 0.5)]
    styles = EVAL_STYLES.read(out["styles"])
    assert set(styles["task"]) == {"add"}  # the file task's samples carry no style
    shares = {(r["claim"], r["style"]): r["share"] for r in styles.iter_rows(named=True)}
    assert shares == pytest.approx({("base", "direct"): 0.25, ("base", "flawed"): 0.25, ("base", "procedure"): 0.5,
                                    ("random", "flawed"): 0.25, ("random", "procedure"): 0.75})
    assert styles.filter(pl.col("claim") == "random")["seed"].to_list() == [2, 2]
    assert RUN_CURVES.read(out["runs"]).is_empty()
