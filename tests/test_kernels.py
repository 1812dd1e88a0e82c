"""The same study on another CPU: with cpu_kernels set, a short pretraining and GRPO run
give the same weights whichever kernels the machine would have picked (issue 25)."""

import io
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from mirage.core import kernels

# "Another machine": a CPU without AVX-512, as this one presents itself when every library is
# capped at AVX2 (ATen, MKL, oneDNN). This machine itself picks its native kernels (AVX-512 where
# it has them).
ANOTHER_MACHINE = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}


def run(tmp_path, name, machine: dict, settings: dict | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in kernels.VARIABLES}
    env.update(machine)
    if settings is not None:
        kernels.apply(settings, env, warn=None)  # what the Snakefile does for every job
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    out = tmp_path / name
    out.mkdir()
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "kernel_run.py"), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()[-2:]


@pytest.mark.slow
def test_with_the_kernel_settings_another_machine_trains_the_same_weights(tmp_path):
    if "avx512f" not in kernels.cpu()["cpu_flags"].split():
        pytest.skip("this CPU has no AVX-512: both machines would pick the same kernels")
    here, there = run(tmp_path, "here", {}, None), run(tmp_path, "there", ANOTHER_MACHINE, None)
    # without the settings the two machines differ from the SFT on (the test can fail)
    assert here[0] != there[0] and here[1] != there[1]
    settings = {"isa": "avx2"}
    assert run(tmp_path, "here_set", {}, settings) == run(tmp_path, "there_set", ANOTHER_MACHINE, settings)


def test_the_settings_replace_what_the_user_set_and_say_so():
    environ, warn = {"ATEN_CPU_CAPABILITY": "avx512", "MKL_CBWR": "AVX2,STRICT"}, io.StringIO()
    assert kernels.apply({"isa": "avx2"}, environ, warn) == kernels.SETTINGS["avx2"]
    assert environ == kernels.SETTINGS["avx2"]
    assert warn.getvalue().count("\n") == 1 and "ATEN_CPU_CAPABILITY=avx512 in the environment is replaced by avx2" \
        in warn.getvalue()
    environ = {"ATEN_CPU_CAPABILITY": "avx512"}
    assert kernels.apply({"isa": "native"}, environ, None) == {} and environ == {"ATEN_CPU_CAPABILITY": "avx512"}
    with pytest.raises(ValueError, match="cpu_kernels.isa: 'sse' is not one of avx2, baseline, native"):
        kernels.environment({"isa": "sse"})
    # an Arm CPU: these variables name x86 kernels, so nothing is set
    assert kernels.environment({"isa": "avx2"}, arch="aarch64") == {}
    assert kernels.environment({"isa": "avx2"}, arch="x86_64") == kernels.SETTINGS["avx2"]


@pytest.mark.integration
def test_provenance_names_the_cpu_and_the_kernels_a_job_ran(tmp_path):
    code = ("import json, sys, torch, polars as pl; from mirage.core.schemas import write_parquet_atomic; "
            "from mirage.core import provenance; "
            "write_parquet_atomic(pl.DataFrame({'a': [1]}), sys.argv[1]); print(json.dumps(provenance.read(sys.argv[1])))")
    env = {k: v for k, v in os.environ.items() if k not in kernels.VARIABLES}
    kernels.apply({"isa": "avx2"}, env, None)
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.parquet")], env={**env, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=300, check=True)
    record = json.loads(proc.stdout)
    assert record["env.ATEN_CPU_CAPABILITY"] == "avx2" and record["env.MKL_CBWR"] == "AVX2,STRICT"
    assert record["aten_cpu_capability"] in ("AVX2", "DEFAULT") and record["torch_threads"].isdigit()
    assert record["cpu_model"] == kernels.cpu()["cpu_model"] and "version.numpy" in record


def test_the_docs_reproducibility_block_is_the_recorded_runs():
    sys.path.insert(0, str(REPO / "benchmarks"))
    from reproducibility import END, RECORD, START, readme_block

    record = json.loads(RECORD.read_text())
    block = (REPO / "docs" / "reproducibility.md").read_text().split(START)[1].split(END)[0]
    assert block == "\n" + readme_block(record)
    # the settings' own claims: the machine without AVX-512 reproduces every file; native does not
    runs = {r["run"]: r for r in record["runs"]}
    assert runs["avx2_on_avx2_cpu"]["files_differing"] == 0 and runs["native"]["first_stage_differing"] == "sft"
