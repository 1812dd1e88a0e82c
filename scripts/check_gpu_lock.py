"""Resolve the GPU environment's lock (requirements-gpu.lock) with pip's own resolver, for the GPU
nodes' platform (Linux x86_64, glibc >= 2.31, CPython 3.11), without installing anything.

    python3.11 scripts/check_gpu_lock.py            # make check-gpu-lock
    python3.11 scripts/check_gpu_lock.py --update   # make gpu-lock: re-resolve, rewrite the lock and envs/gpu.yaml

The check resolves the lock's top-level requirements (its '# requires:' line, TRL's vllm and
deepspeed extras included) together with every pin of the lock, and fails unless the result is
exactly the lock: nothing missing, nothing left over, every requirement of every package met.
How:

- in a throwaway venv (its own pip, PIP_VERSION), so the caller's environment plays no part;
- binary wheels only (``--only-binary=:all:`` with ``--platform`` tags), so the CUDA wheels of
  the GPU node are resolved, not this machine's;
- pip refuses source distributions for a foreign platform, so the lock's packages that publish
  nothing else (its '# source distributions:' line: deepspeed, connection_pool) are first built
  into pure-Python wheels here (their metadata is static; deepspeed builds no CUDA op without
  torch, it compiles them at run time) and offered to the resolver through --find-links;
- without pip's configured find-links (this machine's /opt/wheels holds torch 2.13.0+cpu,
  which would satisfy ``torch==2.13.0``): the configured indexes are kept, and the resolved
  torch must carry no local version label.

Environment markers are evaluated for the interpreter that runs pip, so run it on Linux x86_64
with Python 3.11 (it exits 3 elsewhere). Exit status 2: pip could not reach the package index.
Every wheel is downloaded to read its metadata (the index here serves no separate metadata
files), about 3 GB in all, not kept."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements-gpu.lock"
ENV_FILE = REPO / "envs" / "gpu.yaml"
PIP_VERSION = "26.3"
PYTHON = "3.11"
# the highest manylinux tag among the lock's wheels (llguidance 1.7.6: manylinux_2_31); a node
# with an older glibc (RHEL 8: 2.28) cannot install the lock
GLIBC_MINOR = 31
PLATFORMS = ([f"manylinux_2_{m}_x86_64" for m in range(GLIBC_MINOR, 4, -1)]
             + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"])

ENV_HEADER = """\
# GRPO training and sampling on GPUs, under --use-conda (rules: train_claim, one_shot_reference,
# sample_base, sample_votes, evaluate_base, evaluate_claim). TRL 1.16's vLLM colocate mode needs
# vllm <= 0.31.0, which pins torch==2.13.0 and transformers < 5.18, so it cannot share
# envs/torch.yaml's transformers 5.24. This is requirements-gpu.lock, every pin of it, installed
# by one pip command (torch==2.13.0 from the index is its CUDA 13 build on Linux x86_64). Written
# by `make gpu-lock` (scripts/check_gpu_lock.py); tests/test_envs.py checks that it equals the lock.
name: mirage-gpu
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def header_list(text: str, key: str) -> list[str]:
    """The words of the lock's '# <key>: ...' comment line."""
    for line in text.splitlines():
        m = re.match(rf"#\s*{re.escape(key)}:\s*(.*)$", line)
        if m:
            return m.group(1).split()
    raise SystemExit(f"{LOCK.name}: no '# {key}:' line")


def lock_pins(text: str) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version)."""
    pins = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[canon(name)] = (name, version)
    return pins


def requirement_name(req: str) -> str:
    return canon(re.split(r"[\[=<>!~; ]", req, maxsplit=1)[0])


def pip_environment(python: str) -> dict:
    """The caller's pip settings without find-links: the configured indexes and certificate
    are passed on as environment variables, no config file is read."""
    out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    settings = {}
    for line in out.splitlines():
        m = re.match(r"[\w:]+\.([\w-]+)='(.*)'$", line)
        if m:
            settings[m.group(1)] = m.group(2)
    env = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_CONSTRAINT")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for key, var in (("index-url", "PIP_INDEX_URL"), ("extra-index-url", "PIP_EXTRA_INDEX_URL"),
                     ("cert", "PIP_CERT"), ("timeout", "PIP_TIMEOUT")):
        if key in settings:
            env.setdefault(var, settings[key])
    return env


def run(cmd: list[str], env: dict, log: Path) -> subprocess.CompletedProcess:
    with log.open("a") as fh:
        fh.write("$ " + " ".join(cmd) + "\n")
        fh.flush()
        return subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)


def unreachable(log: Path) -> bool:
    text = log.read_text(errors="replace")
    return any(s in text for s in ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
                                   "Network is unreachable", "ConnectTimeout", "Could not fetch URL",
                                   "ConnectionError", "connection error"))


def fail(message: str, log: Path | None = None, status: int = 1):
    print(f"check-gpu-lock: {message}", file=sys.stderr)
    if log is not None:
        print("".join(log.read_text(errors="replace").splitlines(keepends=True)[-40:]), file=sys.stderr)
    raise SystemExit(status)


def resolve(requirements: list[str], sdists: dict[str, str], work: Path, env: dict, timings: dict) -> list[dict]:
    """pip's resolution of ``requirements`` for the GPU platform: the report's 'install' items."""
    log = work / "pip.log"
    venv = work / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    # pip itself is on every working index: not finding it means the index is out of reach
    # (pip reports a refused or timed-out connection only as "no matching distribution")
    if run(pip + ["install", f"pip=={PIP_VERSION}"], env, log).returncode:
        fail(f"pip could not reach the package index (it found no pip=={PIP_VERSION} there)", log, 2)
    timings["venv_s"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    wheels = work / "wheels"
    specs = [f"{name}=={version}" for name, version in sdists.items()]
    if specs and run(pip + ["wheel", "--no-deps", "--no-binary", ":all:", "-w", str(wheels), *specs], env, log).returncode:
        fail(f"could not build wheels of the source distributions {specs}", log)
    timings["sdist_wheels_s"] = round(time.perf_counter() - start, 1)

    start = time.perf_counter()
    req_file = work / "requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n")
    report = work / "report.json"
    cmd = pip + ["install", "--dry-run", "--ignore-installed", "--no-cache-dir", "--report", str(report),
                 "--only-binary=:all:", "--python-version", PYTHON, "--implementation", "cp",
                 "--abi", "cp" + PYTHON.replace(".", "")]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    if specs:
        cmd += ["--find-links", str(wheels)]
    cmd += ["-r", str(req_file)]
    if run(cmd, env, log).returncode:
        fail("pip's resolver found no installation of the requirements" if not unreachable(log)
             else "pip could not reach the package index", log, 2 if unreachable(log) else 1)
    timings["resolve_s"] = round(time.perf_counter() - start, 1)
    return json.loads(report.read_text())["install"]


def check_torch(items: list[dict]) -> str:
    by_name = {canon(i["metadata"]["name"]): i for i in items}
    torch = by_name.get("torch")
    if torch is None:
        fail("torch is not in the resolution")
    if "+" in torch["metadata"]["version"] or torch["download_info"]["url"].startswith("file:"):
        fail(f"torch resolved to {torch['metadata']['version']} from {torch['download_info']['url']}: "
             "a local build, not the index's CUDA wheel")
    cuda = by_name.get("nvidia-cuda-runtime") or by_name.get("nvidia-cuda-runtime-cu12")
    return cuda["metadata"]["version"] if cuda else "none"


def lock_text(header: str, items: list[dict]) -> str:
    lines = sorted((f"{i['metadata']['name']}=={i['metadata']['version']}" for i in items), key=str.lower)
    return header + "\n".join(lines) + "\n"


def env_text(pins: dict[str, tuple[str, str]]) -> str:
    lines = sorted((f"{name}=={version}" for name, version in pins.values()), key=str.lower)
    return ENV_HEADER + "".join(f"      - {line}\n" for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true",
                        help="re-resolve from the '# requires:' line and rewrite the lock and envs/gpu.yaml")
    args = parser.parse_args()
    if not (sys.platform == "linux" and platform.machine() == "x86_64"
            and f"{sys.version_info.major}.{sys.version_info.minor}" == PYTHON):
        fail(f"run this with Python {PYTHON} on Linux x86_64 (pip evaluates the requirements' markers for the "
             f"interpreter that runs it); this is Python {platform.python_version()} on {sys.platform} "
             f"{platform.machine()}", status=3)
    text = LOCK.read_text()
    requires = header_list(text, "requires")
    pins = lock_pins(text)
    sdist_names = [canon(n) for n in header_list(text, "source distributions")]
    pinned_requires = {requirement_name(r): r for r in requires}
    sdists = {}
    for name in sdist_names:
        if name in pins:
            sdists[pins[name][0]] = pins[name][1]
        else:
            m = re.search(r"==([^\s;,]+)", pinned_requires.get(name, ""))
            if not m:
                fail(f"{name} is a source distribution with no version in the lock")
            sdists[name] = m.group(1)

    timings: dict = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check-gpu-lock-") as tmp:
        env = pip_environment(sys.executable)
        if args.update:
            items = resolve(requires, sdists, Path(tmp), env, timings)
        else:
            items = resolve(requires + [f"{name}=={version}" for name, version in pins.values()], sdists, Path(tmp),
                            env, timings)
    cuda = check_torch(items)
    resolved = {canon(i["metadata"]["name"]): (i["metadata"]["name"], i["metadata"]["version"]) for i in items}
    timings["total_s"] = round(time.perf_counter() - start, 1)

    if args.update:
        header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
        LOCK.write_text(lock_text(header, items))
        ENV_FILE.write_text(env_text(resolved))
        print(f"check-gpu-lock: wrote {LOCK.name} and envs/gpu.yaml: {len(items)} packages, "
              f"torch {resolved['torch'][1]} (CUDA runtime {cuda}); {json.dumps(timings)}")
        return 0

    missing = sorted(set(resolved) - set(pins))
    extra = sorted(set(pins) - set(resolved))
    differ = sorted(n for n in set(pins) & set(resolved) if pins[n][1] != resolved[n][1])
    if missing or extra or differ:
        fail("the lock is not its own resolution: "
             + "; ".join(f"{what}: {', '.join(names)}" for what, names in
                         (("needed but not in the lock", [f"{resolved[n][0]}=={resolved[n][1]}" for n in missing]),
                          ("in the lock but not needed", extra), ("other versions", differ)) if names)
             + " (make gpu-lock re-resolves it)")
    key = {n: pins[n][1] for n in ("torch", "vllm", "transformers", "trl", "deepspeed", "accelerate") if n in pins}
    print(f"check-gpu-lock: OK: requirements-gpu.lock ({len(pins)} packages) is pip's resolution of {' '.join(requires)} "
          f"for CPython {PYTHON} on manylinux_2_{GLIBC_MINOR}_x86_64 (binary wheels; source distributions built here: "
          f"{', '.join(f'{n}=={v}' for n, v in sdists.items())}); "
          + ", ".join(f"{n} {v}" for n, v in key.items()) + f", CUDA runtime {cuda}; {json.dumps(timings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
