"""A data file with a missing or mistyped column stops the study at the job that
reads it, with one console line naming the file and the column, and leaves no
output behind."""

import shutil

import pytest
from conftest import REPO, run_snakemake

FIXTURES = REPO / "tests" / "fixtures"


@pytest.mark.parametrize("broken,message", [
    ("math500_missing_answer.jsonl", "tests/fixtures/hub/math500.jsonl: column 'answer' missing (expected by source "
                                     "'math500'; found: problem, solution, subject, level, unique_id)"),
    ("math500_mistyped_answer.jsonl", "tests/fixtures/hub/math500.jsonl: column 'answer' has type List(String), expected text or a number"),
    ("math500_mixed_answer.jsonl", "tests/fixtures/hub/math500.jsonl: column 'answer' mixes types in its rows (e.g. "),
    ("math500_empty.jsonl", "tests/fixtures/hub/math500.jsonl: the file is empty (no rows)"),
])
@pytest.mark.integration
def test_a_broken_data_file_fails_its_job_naming_the_file_and_the_column(tmp_path, broken, message):
    shutil.copytree(FIXTURES, tmp_path / "tests" / "fixtures")
    shutil.copy(FIXTURES / "hub" / broken, tmp_path / "tests" / "fixtures" / "hub" / "math500.jsonl")
    proc = run_snakemake("--configfile", str(REPO / "tests" / "configs" / "data_errors.yaml"), "--directory", str(tmp_path),
                         "--cores", "1", "results/data/math.parquet", check=False, timeout=300)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("mirage: rule prepare_task failed")]
    assert len(lines) == 1 and message in lines[0] and "details: logs/prepare_task/math.log" in lines[0], lines
    assert not (tmp_path / "results" / "data" / "math.parquet").exists()


@pytest.mark.integration
def test_the_same_study_with_intact_files_prepares_the_task(tmp_path):
    shutil.copytree(FIXTURES, tmp_path / "tests" / "fixtures")
    run_snakemake("--configfile", str(REPO / "tests" / "configs" / "data_errors.yaml"), "--directory", str(tmp_path),
                  "--cores", "1", "results/data/math.parquet", timeout=300)
    assert (tmp_path / "results" / "data" / "math.parquet").exists()
