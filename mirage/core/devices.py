"""What a job was granted and what torch can use: a job that asked for GPUs and sees none
stops in its first seconds instead of running on the CPU for days.

A GPU job whose torch sees no CUDA device (a CUDA build newer than the node's driver, a
CPU build of torch, CUDA_VISIBLE_DEVICES emptied) raises :class:`NoUsableGPU` with one
line: what it was granted, what torch sees, torch's CUDA build and the driver. A test
cluster whose GPUs are fake (the CI's SLURM cluster: GRES on /dev/null) sets
``MIRAGE_ALLOW_CPU=1`` in the environment the jobs inherit: they then run on the CPU,
as they did before this check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ALLOW_CPU = "MIRAGE_ALLOW_CPU"
# CUDA 13.0's minimum Linux driver (its release notes' compatibility table: >= 580.65.06);
# requirements-gpu.lock's torch 2.13.0 is a CUDA 13 build
MIN_DRIVER_CUDA13 = "580.65.06"


class NoUsableGPU(RuntimeError):
    """A job granted GPUs that torch cannot use."""


def driver_version(proc: Path = Path("/proc/driver/nvidia/version")) -> str | None:
    """The NVIDIA kernel driver's version ("580.159.04"), or None without one."""
    try:
        text = proc.read_text()
    except OSError:
        return None
    found = re.search(r"Kernel Module(?: for [\w-]+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return found.group(1) if found else None


def parse_version(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def check_granted_gpus(gpus: int, what: str, environ=None) -> bool:
    """For a job that asked for ``gpus`` GPUs (its rule's ``gpu`` resource): True when
    torch sees a CUDA device; raises :class:`NoUsableGPU` when it sees none, unless
    ``MIRAGE_ALLOW_CPU=1`` (then False: the job runs on the CPU). A job without GPUs: False."""
    environ = os.environ if environ is None else environ
    if gpus <= 0:
        return False
    import torch

    if torch.cuda.is_available():
        return True
    if environ.get(ALLOW_CPU) == "1":
        return False
    visible = environ.get("CUDA_VISIBLE_DEVICES", "unset")
    driver = driver_version()
    build = torch.version.cuda or "none (a CPU build)"
    hint = ""
    if driver and torch.version.cuda and torch.version.cuda.startswith("13") and \
            parse_version(driver) < parse_version(MIN_DRIVER_CUDA13):
        hint = f"; CUDA 13 needs driver >= {MIN_DRIVER_CUDA13}"
    raise NoUsableGPU(
        f"{what} was granted {gpus} GPU(s) (CUDA_VISIBLE_DEVICES={visible}, "
        f"SLURM_GPUS_ON_NODE={environ.get('SLURM_GPUS_ON_NODE', 'unset')}) but torch {torch.__version__} sees no CUDA "
        f"device (its CUDA build: {build}; NVIDIA driver: {driver or 'none found'}{hint}); stopping rather than "
        f"running on the CPU ({ALLOW_CPU}=1 allows that, for a test cluster with fake GPUs)")


def check_job_gpus(snakemake) -> bool:
    """``check_granted_gpus`` for a Snakemake job: its rule's ``gpu`` resource. Called first
    by the adapters of the GPU rules (training, sampling, the contamination check)."""
    return check_granted_gpus(int(snakemake.resources.get("gpu", 0) or 0), f"job {snakemake.rule}")
