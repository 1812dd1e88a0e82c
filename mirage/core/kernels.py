"""Which CPU kernels a study's jobs use, so that the same study gives the same
numbers on another CPU (``cpu_kernels`` in the config).

A CPU job's numbers depend on the kernels each library picks for the CPU it
finds: ATen's vectorised kernels (softmax, norms, activations, reductions: AVX-512
where the CPU has it), MKL's BLAS code path (matrix products) and oneDNN's ISA.
Two CPUs that pick differently round differently, and a training run amplifies
the difference: the toy study's base model, and 4 of its 19 verdicts, changed
between two x86-64 machines (issue 25). Each library reads its choice from the
environment once, when it loads, so the Snakefile sets it for every job before
any job starts (``apply``); provenance records it, with the CPU, in every table
(``machine``)."""

from __future__ import annotations

import functools
import os
import platform
import sys

# isa -> the environment that asks every library for that instruction set
SETTINGS: dict[str, dict[str, str]] = {
    # MKL's conditional numerical reproducibility on its AVX2 path, STRICT: also independent of
    # the thread count for the BLAS functions that support it
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "baseline": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "native": {},
}
VARIABLES = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
             "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# the CPU features that decide which kernels a library may pick
FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile",
         "asimd", "sve")


X86 = ("x86_64", "amd64", "i686")


def environment(settings: dict | None, arch: str | None = None) -> dict[str, str]:
    """The variables ``cpu_kernels`` sets (none for ``native``, and none on a CPU
    that is not x86, whose kernels these variables do not name: an Arm CPU's
    numbers differ from an x86 one's whatever is set)."""
    isa = (settings or {}).get("isa", "avx2")
    if isa not in SETTINGS:
        raise ValueError(f"cpu_kernels.isa: {isa!r} is not one of {', '.join(SETTINGS)}")
    if (arch or platform.machine()).lower() not in X86:
        return {}
    return dict(SETTINGS[isa])


def apply(settings: dict | None, environ=os.environ, warn=sys.stderr) -> dict[str, str]:
    """Set ``environment(settings)`` in ``environ`` (the Snakefile: for every job),
    over a value the user set, with one line saying so; returns what was set."""
    wanted = environment(settings)
    for name, value in wanted.items():
        if environ.get(name, value) != value and warn is not None:
            print(f"cpu_kernels: {name}={environ[name]} in the environment is replaced by {value} "
                  "(the config's cpu_kernels.isa; 'native' sets nothing)", file=warn)
        environ[name] = value
    return wanted


@functools.lru_cache(maxsize=1)
def cpu() -> dict[str, str]:
    """The CPU model and its kernel-relevant features (Linux: /proc/cpuinfo)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = set((info.get("flags") or info.get("Features") or "").split())
    model = info.get("model name") or info.get("Model") or platform.processor() or platform.machine()
    return {"cpu_model": model, "cpu_flags": " ".join(f for f in FLAGS if f in flags)}


def machine() -> dict[str, str]:
    """What a written table records about where it was computed: the CPU, the
    kernel variables of the job, and (where torch is loaded) the ATen kernels it
    runs and its thread count."""
    out = {**cpu(), "machine": platform.machine(),
           **{f"env.{name}": os.environ[name] for name in VARIABLES if name in os.environ}}
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "backends"):
        out["aten_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        out["torch_threads"] = str(torch.get_num_threads())
    return out
