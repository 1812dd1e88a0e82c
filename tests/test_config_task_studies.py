"""Two real studies through Snakemake whose task is given in the config alone:
a local JSONL file with its own nested column names (source: file), and a
reasoning-gym generator (source: reasoning_gym). The model is a tiny random
Llama with the toy world's character tokenizer, saved as a pretrained model."""

import json
import os
import shutil

import polars as pl
import pytest
from conftest import REPO, run_snakemake
from safetensors.torch import load_file, save_file
from test_workflow import jobs_in_dry_run

from mirage.core.schemas import EVAL_STYLES, PASSK, PROBLEMS, SAMPLES, STYLE_SHARES

CONFIGS = REPO / "tests" / "configs"


def save_tiny_pretrained(path) -> None:
    """A random 1-layer Llama and the toy character tokenizer, as from_pretrained reads them."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from mirage.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id))
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)


def sums_rows() -> list[dict]:
    """Questions and answers under names of their own, nested; a kind and a level to filter on."""
    rows = []
    for i in range(40):
        a, b = i % 7 + 1, i // 7 + 2
        kind = "sum" if i % 4 else "riddle"
        rows.append({"item": {"prompt": {"text": f"{a}+{b}="}, "solutions": [str(a + b), f"{a + b}.0"]},
                     "meta": {"kind": kind, "level": i % 3}})
    return rows


def run_study(tmp_path, config: str):
    shutil.copy(CONFIGS / config, tmp_path / "study.yaml")
    save_tiny_pretrained(tmp_path / "tiny_model")
    run_snakemake("--configfile", str(tmp_path / "study.yaml"), "--directory", str(tmp_path), "--cores", "2",
                  timeout=900)
    return tmp_path / "results"


def check_outputs(res, model: str, task: str, n_eval: int) -> pl.DataFrame:
    problems = PROBLEMS.read(res / "data" / f"{task}.parquet")
    samples = SAMPLES.read(res / "samples" / "base" / model / f"{task}.eval.parquet")
    assert samples.height == n_eval * 2 and samples["problem_id"].n_unique() == n_eval
    passk = PASSK.read(res / "tables" / "passk.parquet")
    assert passk.select("model", "task").unique().rows() == [(model, task)]
    assert (res / "tables" / "claims.parquet").exists() and (res / "tables" / "eval.parquet").exists()
    # no toy family, so no solution styles: null in the samples, no rows, no style figure
    assert samples["style"].is_null().all()
    assert STYLE_SHARES.read(res / "tables" / "style_shares.parquet").is_empty()
    assert EVAL_STYLES.read(res / "tables" / "eval_styles.parquet").is_empty()
    assert not (res / "figures" / "style_shift.png").exists() and (res / "figures" / "claim_gains.png").exists()
    # the RL stage trained on the task, graded by the task's verifier
    run = json.loads((res / "rl" / model / task / "ground_truth" / "seed1" / "model" / "run.json").read_text())
    assert run["trained"] is True and run["optimizer_steps"] == 1
    return problems


@pytest.mark.slow
def test_a_study_runs_on_a_local_jsonl_task_with_its_own_column_names(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in sums_rows()))
    res = run_study(tmp_path, "file_study.yaml")
    problems = check_outputs(res, "tiny", "sums", 6)
    assert problems.group_by("split").len().sort("split")["len"].to_list() == [6, 8]
    # the filters kept sums of levels 1 and 2 only; the answer is the first solution
    kept = {f"{r['item']['prompt']['text']}": r["item"]["solutions"][0] for r in sums_rows()
            if r["meta"]["kind"] == "sum" and r["meta"]["level"] in (1, 2)}
    assert all(kept[q] == a for q, a in zip(problems["question"], problems["answer"]))
    assert set(problems["verifier"]) == {"integer"} and set(problems["benchmark"]) == {"sums"}
    assert not set(problems.filter(pl.col("split") == "train")["question"]) & set(
        problems.filter(pl.col("split") == "eval")["question"])
    # the data file and the model folder are inputs of the DAG: up to date now; one gold answer
    # edited reruns the task's preparation and what follows; new weights rerun what read the
    # model, not the data
    args = ("-n", "--configfile", str(tmp_path / "study.yaml"), "--directory", str(tmp_path))
    assert "Nothing to be done" in run_snakemake(*args).stdout
    data = tmp_path / "data" / "sums.jsonl"
    text, stat = data.read_text(), data.stat()
    data.write_text(text.replace('"solutions": ["5"', '"solutions": ["6"', 1))
    jobs = jobs_in_dry_run(run_snakemake(*args).stdout)
    assert jobs["prepare_task"] == 1 and jobs["sample_base"] == 1 and jobs["train_claim"] == 1, jobs
    data.write_text(text)  # back as it was, time stamp included
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert "Nothing to be done" in run_snakemake(*args).stdout
    # the model retrained in place (Snakemake reruns on an input whose content changed; the same
    # bytes written again rerun nothing)
    weights = tmp_path / "tiny_model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes())
    assert "Nothing to be done" in run_snakemake(*args).stdout
    tensors = load_file(str(weights))
    name = sorted(tensors)[0]
    save_file({**tensors, name: tensors[name] + 0.01}, str(weights), metadata={"format": "pt"})
    jobs = jobs_in_dry_run(run_snakemake(*args).stdout)
    assert "prepare_task" not in jobs and jobs["sample_base"] == 1 and jobs["train_claim"] == 1, jobs


@pytest.mark.slow
def test_a_study_runs_on_a_reasoning_gym_generator(tmp_path):
    res = run_study(tmp_path, "rg_study.yaml")
    problems = check_outputs(res, "tiny", "arith", 6)
    assert problems.group_by("split").len().sort("split")["len"].to_list() == [6, 8]
    assert set(problems["verifier"]) == {"reasoning_gym"} and set(problems["benchmark"]) == {"basic_arithmetic"}
    gold = json.loads(problems["answer"][0])
    assert gold["reasoning_gym"] == "basic_arithmetic" and gold["entry"]["question"] == problems["question"][0]
    assert not set(problems.filter(pl.col("split") == "train")["question"]) & set(
        problems.filter(pl.col("split") == "eval")["question"])


@pytest.mark.integration
def test_a_file_task_whose_file_lacks_a_column_fails_its_job_naming_file_column_and_what_was_found(tmp_path):
    shutil.copy(CONFIGS / "file_study.yaml", tmp_path / "study.yaml")
    (tmp_path / "tiny_model").mkdir()  # the data job needs no model
    (tmp_path / "data").mkdir()
    rows = [{"item": {"prompt": {"text": r["item"]["prompt"]["text"]}}, "meta": r["meta"]} for r in sums_rows()]
    (tmp_path / "data" / "sums.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = run_snakemake("--configfile", str(tmp_path / "study.yaml"), "--directory", str(tmp_path), "--cores", "1",
                         "results/data/sums.parquet", check=False, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("mirage: rule prepare_task failed")]
    assert len(lines) == 1, proc.stderr[-2000:]
    assert ("data/sums.jsonl: column 'item.solutions' missing (expected by task 'sums'; found in 'item': prompt)"
            in lines[0]), lines[0]
    assert not (tmp_path / "results" / "data" / "sums.parquet").exists()
