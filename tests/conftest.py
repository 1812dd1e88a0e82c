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
