"""Real jobs killed with SIGKILL through Snakemake at random points, several
times, then run again: each resumes from its last checkpoint, and the final
model, its evaluation and its training tables equal those of an uninterrupted
run, bit for bit (CPU).

A kill is either of the job's process alone (Snakemake sees the job fail and
removes its outputs) or of Snakemake and the job together, as a lost node
(Snakemake is unlocked and run with --rerun-incomplete, as a user would).
MIRAGE_KILL_SEED=<int> picks other kill points and kinds."""

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import polars as pl
import psutil
import pytest
import yaml
from conftest import REPO, SNAKEMAKE
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

CONFIG = REPO / "tests" / "configs" / "kill_resume.yaml"
STUDY = yaml.safe_load(CONFIG.read_text())
TARGETS = ["results/samples/rl/toy_k/add/random/seed1.parquet", "results/samples/base/toy_k/add.eval.parquet"]
SFT = ("pretrain_toy_model", "results/checkpoints/pretrain_toy_model/model=toy_k",
       "results/models/toy_k/base", STUDY["models"]["toy_k"]["sft"]["steps"])
# GRPO counts rollout batches (steps, rl_every); its checkpoint folders are named by optimizer step
UPDATES = STUDY["rl"]["grpo"]["steps_per_generation"]
RL = ("train_claim", "results/checkpoints/train_claim/claim=random/model=toy_k/seed=1/task=add",
      "results/rl/toy_k/add/random/seed1/model", STUDY["rl"]["grpo"]["steps"] * UPDATES)


def snakemake(workdir, *extra, env=None):
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(CONFIG), "--directory", str(workdir),
           "--cores", "2", *extra]
    log = open(workdir / "snakemake-runs.log", "a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=env)


def complete_checkpoints(folder: Path) -> list[int]:
    return sorted(int(d.name.split("-")[1]) for d in folder.glob("checkpoint-*") if (d / "mirage_complete").exists())


def job_process(snakemake_pid: int, rule: str):
    """The process running ``rule``'s script (Snakemake runs it as .snakemake/scripts/tmp*.<script>.py)."""
    for proc in psutil.Process(snakemake_pid).children(recursive=True):
        try:
            if any(arg.endswith(f".{rule}.py") for arg in proc.cmdline()):
                return proc
        except psutil.NoSuchProcess:
            continue
    return None


def kill_during(workdir: Path, job, resumed_at: int, rng: random.Random) -> dict:
    """Start the study; once ``job`` saved a randomly chosen checkpoint past
    ``resumed_at`` (in the first half of its steps on the first kill; short of
    its end, leaving time for the delay, on the next), wait a random moment
    and SIGKILL it."""
    rule, folder, output, steps = job
    folder = workdir / folder
    every = STUDY["checkpoints"]["sft_every"] if rule == SFT[0] else STUDY["checkpoints"]["rl_every"] * UPDATES
    last = steps // 2 if resumed_at == 0 else steps - 3 * every
    wait_for = rng.choice(range(resumed_at + every, last + 1, every))
    proc = snakemake(workdir, "--rerun-incomplete", *TARGETS)
    deadline = time.monotonic() + 600
    while wait_for not in complete_checkpoints(folder):
        assert proc.poll() is None, f"the study ended before {rule} could be killed; see {workdir}/snakemake-runs.log"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.5))
    target = job_process(proc.pid, rule)
    assert target is not None and target.is_running()
    how = rng.choice(["job", "job and snakemake"])
    if how == "job":
        target.send_signal(signal.SIGKILL)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=300) != 0
    psutil.wait_procs([target], timeout=30)
    if how != "job":
        subprocess.run([SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(CONFIG), "--directory",
                        str(workdir), "--unlock"], check=True, capture_output=True)
    assert not (workdir / output).exists(), "a killed job left an output that looks complete"
    return {"rule": rule, "how": how, "last_checkpoint": max(complete_checkpoints(folder))}


def weights(folder: Path):
    return load_file(str(folder / "model.safetensors"))


def same_tables(a: Path, b: Path) -> bool:
    return pl.read_parquet(a).equals(pl.read_parquet(b))


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The study run without interruption."""
    folder = tmp_path_factory.mktemp("straight")
    assert snakemake(folder, *TARGETS).wait(timeout=900) == 0
    return folder


@pytest.mark.slow
def test_jobs_killed_at_random_points_resume_to_the_uninterrupted_result(tmp_path, straight):
    killed = tmp_path / "killed"
    killed.mkdir()

    rng = random.Random(int(os.environ.get("MIRAGE_KILL_SEED", "7")))
    kills = []
    for job in (SFT, SFT, RL, RL):
        resumed_at = kills[-1]["last_checkpoint"] if kills and kills[-1]["rule"] == job[0] else 0
        kills.append(kill_during(killed, job, resumed_at, rng))
    assert snakemake(killed, "--rerun-incomplete", *TARGETS).wait(timeout=900) == 0
    print(kills)
    summary = json.loads((killed / SFT[2] / "pretrain_summary.json").read_text())
    run = json.loads((killed / RL[2] / "run.json").read_text())
    assert summary["resumed_from_step"] == kills[1]["last_checkpoint"] > kills[0]["last_checkpoint"] > 0
    assert run["resumed_from_step"] == kills[3]["last_checkpoint"] > kills[2]["last_checkpoint"] > 0

    for model in (SFT[2], RL[2]):
        a, b = weights(straight / model), weights(killed / model)
        assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a), model
    for table in [*TARGETS, "results/rl/toy_k/add/random/seed1/curves.parquet",
                  "results/rl/toy_k/add/random/seed1/reward_history.parquet"]:
        assert same_tables(straight / table, killed / table), table
    assert not (killed / SFT[1]).exists() and not (killed / RL[1]).exists()  # removed once the jobs succeeded


@pytest.mark.slow
def test_a_training_job_longer_than_its_runtime_finishes_through_its_retries(tmp_path, straight):
    """resources.train.runtime 1 minute, checkpoints.stop_before_limit 0.99: each attempt of a
    4-rollout-batch training job checkpoints at its first rollout-batch boundary and stops (exit
    status 75); the rule's retries resume it, attempt after attempt, to the weights, evaluation
    and tables of the same job run without a limit (the study's other jobs are the straight run's)."""
    import shutil

    steps = tmp_path / "steps.yaml"
    steps.write_text("rl: {grpo: {steps: 4}}\n")
    limit = tmp_path / "time_limit.yaml"
    limit.write_text("checkpoints: {stop_before_limit: 0.99}\n"
                     "resources: {train: {gpu: 0, mem_mb: 1000, runtime: 1, cpus_per_task: 1, threads: 1, retries: 8}}\n")
    runs = {}
    for name, overlays in (("unlimited", [steps]), ("limited", [steps, limit])):
        runs[name] = tmp_path / name
        shutil.copytree(straight, runs[name], symlinks=True)
        # the deadline as a SLURM job has it (no scheduler here enforces runtime)
        env = {**os.environ, "MIRAGE_TIME_LIMIT": "1"}
        assert snakemake(runs[name], *TARGETS, "--configfile", str(CONFIG), *map(str, overlays),
                         env=env).wait(timeout=900) == 0, runs[name]
    log = (runs["limited"] / "snakemake-runs.log").read_text()
    assert log.count("Trying to restart job") == 3  # 4 attempts, one rollout batch each
    assert "Trying to restart job" not in (runs["unlimited"] / "snakemake-runs.log").read_text()
    run = json.loads((runs["limited"] / RL[2] / "run.json").read_text())
    assert run["resumed_from_step"] == 3 * UPDATES and run["optimizer_steps"] == 4 * UPDATES
    a, b = weights(runs["unlimited"] / RL[2]), weights(runs["limited"] / RL[2])
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a)
    for table in [TARGETS[0], "results/rl/toy_k/add/random/seed1/curves.parquet",
                  "results/rl/toy_k/add/random/seed1/reward_history.parquet"]:
        assert same_tables(runs["unlimited"] / table, runs["limited"] / table), table
