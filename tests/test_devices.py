"""A job granted GPUs that torch cannot use stops at once, with one line saying why."""

import pytest

from mirage.core.devices import ALLOW_CPU, NoUsableGPU, check_granted_gpus, driver_version


def test_a_gpu_job_without_a_usable_gpu_stops_with_what_it_was_granted(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    env = {"CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7", "SLURM_GPUS_ON_NODE": "8"}
    with pytest.raises(NoUsableGPU) as stop:
        check_granted_gpus(8, "job train_claim", env)
    line = str(stop.value)
    assert "\n" not in line and "granted 8 GPU(s)" in line and "CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7" in line
    assert f"torch {torch.__version__} sees no CUDA device" in line and ALLOW_CPU in line
    # a test cluster with fake GPUs runs its jobs on the CPU when it says so
    assert check_granted_gpus(8, "job train_claim", {**env, ALLOW_CPU: "1"}) is False
    assert check_granted_gpus(0, "job passk_table", {}) is False  # no GPU asked for: nothing to check


def test_the_driver_version_is_read_from_the_kernel_module(tmp_path):
    proc = tmp_path / "version"
    proc.write_text("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (dvs-builder)\n"
                    "GCC version:  gcc version 12.2.0\n")
    assert driver_version(proc) == "580.159.04"
    assert driver_version(tmp_path / "missing") is None


def test_make_gpu_env_states_the_driver_the_check_requires(repo):
    from mirage.core.devices import MIN_DRIVER_CUDA13

    makefile = (repo / "Makefile").read_text()
    assert f"driver >= {MIN_DRIVER_CUDA13}" in makefile and "scripts/check_driver.py" in makefile
    assert f"driver ≥ {MIN_DRIVER_CUDA13}" in (repo / "docs" / "gpu.md").read_text()


def test_every_gpu_rules_adapter_checks_its_gpus_first(repo):
    """The adapters of the rules whose resources come from the sample or train group stop a
    job whose granted GPUs torch cannot use (mirage.core.devices.check_job_gpus)."""
    import re

    scripts = set()
    for smk in (repo / "rules").glob("*.smk"):
        for rule in re.split(r"\nrule ", smk.read_text())[1:]:
            if re.search(r'rule_resources\("(sample|train)"\)', rule):
                scripts.add(re.search(r'script:\s*"\.\./(workflow_scripts/\w+\.py)"', rule).group(1))
    assert scripts == {"workflow_scripts/sample.py", "workflow_scripts/train_claim.py", "workflow_scripts/one_shot_reference.py",
                       "workflow_scripts/contamination_check.py"}
    for script in scripts:
        assert "check_job_gpus(snakemake)" in (repo / script).read_text(), script
