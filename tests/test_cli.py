"""``python -m mirage``: help on every command and option; check-config,
download (what it would fetch, and its one-line failure without network) and
passk. No test reaches the network."""

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_snakemake

from mirage.__main__ import build_parser, main
from mirage.config import load_config
from mirage.tasks.download import hub_fetches

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["init", "check-config", "plan", "download", "passk", "provenance", "readme-table", "verdict-tables", "docs"]


def run_cli(*args, env=None, cwd=REPO):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "mirage", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=600)


def subparsers(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action, action.choices


# -- help ------------------------------------------------------------------------------------------

@pytest.mark.integration
def test_help_lists_every_command_with_a_sentence():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert command in proc.stdout, command
    action, choices = subparsers(build_parser())
    assert sorted(choices) == sorted(COMMANDS)
    assert all(len(c.help.split()) >= 5 for c in action._choices_actions)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_is_explained(command, capsys):
    _, choices = subparsers(build_parser())
    sub = choices[command]
    assert sub.description, command
    for action in sub._actions:
        assert action.help and action.help != argparse.SUPPRESS, (command, action.dest)
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    assert command in capsys.readouterr().out


# -- check-config ----------------------------------------------------------------------------------

@pytest.mark.integration
def test_check_config_prints_the_job_count_per_rule_of_the_default_config(capsys):
    from mirage.plan import job_counts

    assert main(["check-config"]) == 0
    out = capsys.readouterr().out.splitlines()
    counts = job_counts()
    assert out[0] == f"config/config.yaml: valid; {sum(n for _, n in counts)} jobs"
    assert [line.split() for line in out[1:]] == [[rule, str(n)] for rule, n in counts]
    rules = dict(counts)
    assert rules["all"] == 1 and rules["prepare_task"] == 2  # add and mul


@pytest.mark.integration
def test_check_config_names_the_bad_key_in_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampler:\n  n: 0\n")
    proc = run_cli("check-config", "--configfile", str(REPO / "config" / "config.yaml"), str(bad))
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "sampler.n" in lines[0], proc.stderr
    assert proc.stdout == ""


@pytest.mark.integration
def test_check_config_and_the_snakefile_list_every_error_of_a_config(tmp_path):
    # mistakes in several sections: one line each, in one run; first two schema errors, then three
    # errors of a config the schema accepts (a missing data file, an unknown claim, k > n)
    bad = tmp_path / "bad.yaml"
    bad.write_text("sampler: {n: 0}\nrl: {seeds: []}\n")
    proc = run_cli("check-config", "--configfile", str(REPO / "config" / "config.yaml"), str(bad))
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 2, proc.stderr
    assert "rl.seeds" in lines[0] and "sampler.n" in lines[1]
    bad.write_text("rl: {claims: [ground_truth, nope]}\nanalysis: {regime: {k: 99, threshold: 0.5}}\n"
                   "tasks: {extra: {source: file, data: {path: no/such.jsonl}, n_eval: 4, question: q, answer: a, verifier: integer}}\n")
    for proc in (run_cli("check-config", "--configfile", str(REPO / "config" / "config.yaml"), str(bad)),
                 run_snakemake("-n", "--configfile", str(REPO / "config" / "config.yaml"), str(bad),
                               "--directory", str(tmp_path), check=False)):
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("config error")]
        assert proc.returncode == 1 and len(lines) == 3, proc.stdout + proc.stderr
        assert "'tasks.extra' reads 'no/such.jsonl': no such file" in lines[0]
        assert "unknown claim 'nope'" in lines[1] and "'analysis.regime.k' (99)" in lines[2]


@pytest.mark.integration
def test_check_config_takes_overrides_as_snakemake_does(capsys):
    assert main(["check-config", "--config", "rl={seeds: [1, 2]}"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("config/config.yaml --config rl={seeds: [1, 2]}: valid")
    default = main(["check-config"]) == 0 and dict(line.split() for line in capsys.readouterr().out.splitlines()[1:])
    assert int(dict(line.split() for line in out[1:])["train_claim"]) == 2 * int(default["train_claim"])
    # a dotted key, which Snakemake refuses with a traceback: the form it takes
    assert main(["check-config", "--config", "rl.grpo.steps=2"]) == 1
    assert "--config 'rl={grpo: {steps: 2}}'" in capsys.readouterr().err


BAD_CONFIGS = sorted((REPO / "tests" / "configs" / "bad").glob("*.yaml"))


def header(path, field):
    match = re.search(rf"^# {field}: (.*)$", path.read_text(), re.MULTILINE)
    return match.group(1).strip() if match else ""


@pytest.mark.integration
@pytest.mark.parametrize("path", BAD_CONFIGS, ids=[p.stem for p in BAD_CONFIGS])
def test_check_config_refuses_each_bad_config_as_the_snakefile_does(path, capsys):
    base = header(path, "base")
    files = ([] if base == "none" else [str(REPO / base)]) + [str(path)]
    assert main(["check-config", "--configfile", *files]) == 1
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and re.search(header(path, "expect"), lines[0]), lines
    assert captured.out == ""


def test_check_config_refuses_a_missing_file_in_one_line(capsys):
    assert main(["check-config", "--configfile", "no/such.yaml"]) == 1
    assert capsys.readouterr().err.strip() == "no/such.yaml: no such config file"


# -- download --------------------------------------------------------------------------------------

PAPER = [
    "model    Qwen/Qwen2.5-7B@main (models.qwen2_5_7b)",
    "model    meta-llama/Llama-3.1-8B-Instruct@main (models.llama3_1_8b_instruct)",
    "dataset  agentica-org/DeepScaleR-Preview-Dataset@main split 'train' (tasks.math.train)",
    "dataset  HuggingFaceH4/aime_2024@main split 'train' (tasks.math.eval[0])",
    "dataset  HuggingFaceH4/MATH-500@main split 'test' (tasks.math.eval[1])",
    "dataset  math-ai/amc23@main split 'test' (tasks.math.eval[2])",
    "dataset  MiniMaxAI/SynLogic@main subset 'easy' split 'train' (tasks.logic.train)",
    *[f"local    data/kor-bench/{c}/sample.jsonl (not fetched; tasks.logic.eval[{i}])"
      for i, c in enumerate(["operation", "counterfactual", "puzzle", "cipher", "logic"])],
    "dataset  MiniMaxAI/SynLogic@main subset 'easy' split 'validation' (tasks.logic.eval[5])",
]
ONE_GPU = [
    "model    Qwen/Qwen2.5-1.5B@main (models.qwen2_5_1_5b)",
    "model    meta-llama/Llama-3.2-1B-Instruct@main (models.llama3_2_1b_instruct)",
    "dataset  agentica-org/DeepScaleR-Preview-Dataset@main split 'train' (tasks.math.train)",
    "dataset  HuggingFaceH4/MATH-500@main split 'test' (tasks.math.eval[0])",
    "dataset  MiniMaxAI/SynLogic@main subset 'easy' split 'train' (tasks.logic.train)",
    "dataset  MiniMaxAI/SynLogic@main subset 'easy' split 'validation' (tasks.logic.eval[0])",
]


@pytest.mark.parametrize("config, expected", [("paper.yaml", PAPER), ("one-gpu.yaml", ONE_GPU)])
def test_download_lists_every_model_and_data_set_of_a_config(config, expected, capsys):
    assert main(["download", "--configfile", str(REPO / "config" / config), "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines() == expected


def test_download_fetches_at_the_pinned_revision(tmp_path):
    extra = tmp_path / "pin.yaml"
    extra.write_text("models:\n  qwen2_5_1_5b:\n    revision: 8faed761d45a263340a0528343f099c05c9a4323\n"
                     "tasks:\n  math:\n    train: {dataset: deepscaler, revision: abc, max_problems: 320}\n")
    items = hub_fetches(load_config([REPO / "config" / "one-gpu.yaml", extra]))
    assert (items[0].name, items[0].revision) == ("Qwen/Qwen2.5-1.5B", "8faed761d45a263340a0528343f099c05c9a4323")
    assert (items[2].name, items[2].revision) == ("agentica-org/DeepScaleR-Preview-Dataset", "abc")


def test_a_toy_config_has_nothing_to_fetch(capsys):
    assert main(["download", "--dry-run"]) == 0
    assert "nothing to fetch" in capsys.readouterr().out


def test_a_local_model_folder_is_not_fetched(tmp_path):
    config = load_config([REPO / "config" / "one-gpu.yaml"])
    config["models"]["qwen2_5_1_5b"]["path"] = str(tmp_path)
    assert [i.name for i in hub_fetches(config) if i.kind == "model"] == ["meta-llama/Llama-3.2-1B-Instruct"]


@pytest.mark.integration
def test_download_without_network_fails_in_one_line(tmp_path):
    # an empty cache and no network: the first fetch fails, named in one line
    proc = run_cli("download", "--configfile", "config/one-gpu.yaml", env={"HF_HOME": str(tmp_path / "hf")})
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mirage download: could not fetch model Qwen/Qwen2.5-1.5B@main: ")
    assert proc.stdout == ""


# -- passk -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def toy_model_dir(tmp_path_factory):
    from mirage.toy.pretrain import save_random_model

    return save_random_model(tmp_path_factory.mktemp("toy"), {
        "type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
        "intermediate_size": 32})


def test_passk_of_a_model_folder_on_a_configured_task(toy_model_dir, capsys):
    assert main(["passk", "--model", toy_model_dir, "--task", "add", "--n", "4", "--k", "1", "4",
                 "--max-problems", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["benchmark", "k", "n", "num_problems", "pass_at_k"]
    rows = [line.split() for line in lines[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("add", "1", "4", "3"), ("add", "4", "4", "3")]
    assert all(0.0 <= float(r[4]) <= 1.0 for r in rows)


def test_passk_names_an_unknown_task_in_one_line(toy_model_dir, capsys):
    assert main(["passk", "--model", toy_model_dir, "--task", "nope", "--n", "2"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "mirage passk: unknown task 'nope'; configured: add, mul"


def test_passk_refuses_k_above_n(toy_model_dir, capsys):
    assert main(["passk", "--model", toy_model_dir, "--task", "add", "--n", "2", "--k", "4"]) == 1
    assert "k=4 is larger than n=2" in capsys.readouterr().err
