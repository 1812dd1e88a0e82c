"""The conda env files of the rule groups pin the same versions as the lock file."""

import re

import yaml

from conftest import REPO


def lock_versions():
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_torch_is_pinned_to_the_cpu_release_in_the_lock():
    assert lock_versions()["torch"] == "2.13.0"


def test_env_files_agree_with_the_lock():
    lock = lock_versions()
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert len(env_files) >= 2
    for path in env_files:
        env = yaml.safe_load(path.read_text())
        pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        assert pip_section, path
        for spec in pip_section:
            m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", spec)
            assert m, f"{path.name}: '{spec}' is not pinned with =="
            name = m.group(1).lower().replace("_", "-")
            assert name in lock, f"{path.name}: {name} is not in requirements.lock"
            assert lock[name] == m.group(2), f"{path.name}: {name}=={m.group(2)} but the lock has {lock[name]}"


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
