import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

# The tiers (docs/testing.md): `slow` (whole studies, SLURM, kill and resume) and `integration`
# (Snakemake runs, training, several processes) as marked; every other test is `unit`, and a unit
# test that starts a process or runs a backward pass fails, naming the marker it needs.
TIERS = ("unit", "integration", "slow")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(tier) for tier in TIERS[1:]):
            continue
        # the GPU path rehearsed on the CPU (vLLM engines, several training processes): integration
        item.add_marker(pytest.mark.integration if item.get_closest_marker("gpu_path") else pytest.mark.unit)


@pytest.fixture(scope="session", autouse=True)
def snakemake_plugins_loaded():
    """Snakemake's executor plugins, loaded once before any test: the SLURM plugin probes for
    ``sacct`` in a process when it is first imported, whichever test imports Snakemake first.
    (The GPU path's environment has no Snakemake.)"""
    import importlib.util

    if importlib.util.find_spec("snakemake") is not None:
        import snakemake.api  # noqa: F401


@pytest.fixture(autouse=True)
def unit_tests_stay_in_process(request, monkeypatch):
    if request.node.get_closest_marker("unit") is None:
        return
    from multiprocessing.process import BaseProcess

    import torch

    def refuse(what):
        def refused(*args, **kwargs):
            raise RuntimeError(f"{request.node.nodeid} {what}: a unit test does neither; mark it "
                               "@pytest.mark.integration (docs/testing.md)")
        return refused

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("starts a process"))
    monkeypatch.setattr(BaseProcess, "start", refuse("starts a process"))
    monkeypatch.setattr(torch.Tensor, "backward", refuse("trains (a backward pass)"))
    monkeypatch.setattr(torch.autograd, "backward", refuse("trains (a backward pass)"))


def run_snakemake(*args, cwd=REPO, check=True, timeout=1800, env=None):
    """Run the real Snakemake CLI on this repository's workflow (``env``: its
    environment, this process's by default)."""
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), *args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def repo():
    return REPO


@pytest.fixture
def workdir(tmp_path):
    """A fresh study directory holding a copy of the config folder."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path


class Killed(BaseException):
    """Stands in for SIGKILL: unwinds past the job's own code, which catches no BaseException."""


def stop_after_saving_class():
    from transformers import TrainerCallback

    class StopAfterSaving(TrainerCallback):
        """Kills a training run right after it saved the checkpoint of ``step``."""

        def __init__(self, step):
            self.step = step

        def on_save(self, args, state, control, **kwargs):
            if state.global_step == self.step:
                raise Killed()

    return StopAfterSaving


StopAfterSaving = stop_after_saving_class()
