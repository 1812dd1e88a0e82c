"""A training job with 2 processes (torchrun, gloo, the CPU) through Snakemake:
it trains, writes each output once from one process, and, SIGKILLed after a
checkpoint, leaves no process and no output behind, then resumes to the
uninterrupted run's result."""

import json
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

from mirage.training.launch import TrainingJob, granted_processes, launch_command, visible_gpus

pytestmark = pytest.mark.integration

BASE = REPO / "tests" / "configs" / "kill_resume.yaml"
STUDY = yaml.safe_load(BASE.read_text())
TARGET = "results/rl/toy_k/add/random/seed1/curves.parquet"
RUN = Path("results/rl/toy_k/add/random/seed1")
CKPT = Path("results/checkpoints/train_claim/claim=random/model=toy_k/seed=1/task=add")
STEPS = 12  # rollout batches, 2 optimizer steps each; a checkpoint every 2 batches
TWO = {"resources": {"train": {"gpu": 0, "mem_mb": 4000, "runtime": 60, "cpus_per_task": 2, "threads": 2,
                               "processes": 2}},
       "rl": {"grpo": {"steps": STEPS}},
       "models": {"toy_k": {"sft": {"steps": 150}}},
       "checkpoints": {"dir": "results/checkpoints", "sft_every": 0, "rl_every": 2, "keep": 2}}


def start(workdir: Path, *extra):
    (workdir / "two.yaml").write_text(yaml.safe_dump(TWO))
    cmd = [SNAKEMAKE, "-s", str(REPO / "Snakefile"), "--configfile", str(BASE), "two.yaml", "--directory",
           str(workdir), "--cores", "2", *extra, TARGET]
    log = open(workdir / "snakemake-runs.log", "a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)


def training_processes():
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "mirage.training.launch" in cmdline:
            found.append(proc)
    return found


def complete_checkpoints(folder: Path) -> list[int]:
    return sorted(int(d.name.split("-")[1]) for d in folder.glob("checkpoint-*") if (d / "mirage_complete").exists())


@pytest.mark.slow
def test_two_processes_train_write_once_and_resume_after_a_kill(tmp_path):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    straight.mkdir(), killed.mkdir()
    assert start(straight).wait(timeout=900) == 0, (straight / "snakemake-runs.log").read_text()[-3000:]
    run = json.loads((straight / RUN / "model" / "run.json").read_text())
    assert run["processes"] == 2 and run["resumed_from_step"] == 0
    log = (straight / "logs/train_claim/toy_k/add/random/seed1.log").read_text()
    assert "training with 2 processes (CPU, gloo)" in log
    # each process scored its half of every batch; the history holds both halves, once
    history = pl.read_parquet(straight / RUN / "reward_history.parquet")
    grpo = STUDY["rl"]["grpo"]
    assert history.height == STEPS * grpo["prompts_per_generation"] * grpo["num_generations"]
    assert history.group_by("step").len()["len"].to_list() == [16] * STEPS
    curves = pl.read_parquet(straight / RUN / "curves.parquet")
    assert curves.height == STEPS * grpo["steps_per_generation"]
    assert not (straight / CKPT).exists()  # removed once the job succeeded
    assert not list((straight / RUN).glob(".*partial"))

    # the job's own process SIGKILLed after its second checkpoint: its training processes die with it
    proc = start(killed)
    deadline = time.monotonic() + 600
    while len(complete_checkpoints(killed / CKPT)) < 1 or max(complete_checkpoints(killed / CKPT)) < 8:
        assert proc.poll() is None, (killed / "snakemake-runs.log").read_text()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    job = next(p for p in psutil.Process(proc.pid).children(recursive=True)
               if any(a.endswith(".train_claim.py") for a in p.cmdline()))
    workers = [p for p in training_processes() if p.pid in {c.pid for c in job.children(recursive=True)}]
    assert len(workers) == 3  # torchrun and its two training processes
    job.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=300) != 0
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, "training processes outlived their killed job"
    assert not (killed / RUN / "model").exists()
    resumable = max(complete_checkpoints(killed / CKPT))
    assert resumable >= 8

    assert start(killed).wait(timeout=900) == 0, (killed / "snakemake-runs.log").read_text()[-3000:]
    run = json.loads((killed / RUN / "model" / "run.json").read_text())
    assert run["processes"] == 2 and run["resumed_from_step"] >= resumable
    a, b = load_file(str(straight / RUN / "model/model.safetensors")), load_file(str(killed / RUN / "model/model.safetensors"))
    assert a.keys() == b.keys() and all(a[k].equal(b[k]) for k in a), "the resumed run's weights differ"
    for table in ("curves.parquet", "reward_history.parquet"):
        assert pl.read_parquet(straight / RUN / table).equals(pl.read_parquet(killed / RUN / table)), table


def test_processes_follow_the_granted_gpus():
    assert granted_processes(0, 3, {}) == 3
    assert granted_processes(8, 1, {}) == 8  # no scheduler variables: what the job asked for
    assert granted_processes(8, 1, {"CUDA_VISIBLE_DEVICES": "0,1"}) == 2  # granted fewer than asked
    assert granted_processes(2, 1, {"SLURM_GPUS_ON_NODE": "2"}) == 2
    assert granted_processes(1, 1, {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}) == 1  # a workstation shows all its GPUs
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) is None
    assert visible_gpus({}) is None


def test_launch_commands(tmp_path):
    spec = tmp_path / "job.json"
    cpu = launch_command(2, "zero3", False, spec, tmp_path)
    assert "torch.distributed.run" in cpu and cpu[cpu.index("--nproc_per_node") + 1] == "2"
    assert cpu[-3:] == ["-m", "mirage.training.launch", str(spec)]
    gpu = launch_command(8, "zero3", True, spec, REPO / "config" / "accelerate")
    assert "accelerate.commands.launch" in gpu and gpu[gpu.index("--num_processes") + 1] == "8"
    assert gpu[gpu.index("--config_file") + 1] == str(REPO / "config" / "accelerate" / "zero3.yaml")
    with pytest.raises(FileNotFoundError, match="zero3"):
        launch_command(8, "zero3", True, spec, tmp_path)
    with pytest.raises(ValueError, match="zero2"):
        launch_command(8, "zero2", True, spec, tmp_path)


def test_a_job_spec_round_trips(tmp_path):
    import yaml

    from mirage.core.settings import GRPOSettings
    from mirage.training.runs import ClaimJob, ReferenceJob, RunOutputs

    grpo = GRPOSettings.from_dict(yaml.safe_load((REPO / "config" / "config.yaml").read_text())["rl"]["grpo"])
    spec = ReferenceJob(model_path="base", problems_path="p.parquet", outputs=RunOutputs("m", "c", "h"), grpo=grpo,
                        verifier="integer", seed=3, one_shot={"candidates": 8, "min_visits": 2}, load={"dtype": "auto"})
    job = TrainingJob("reference_run", spec.as_dict(), {"root": str(tmp_path), "every": 2, "keep": 2}, "key",
                      {"rule": "one_shot_reference"})
    job.write(tmp_path / "job.json")
    read = TrainingJob.read(tmp_path / "job.json")
    assert read == job and ReferenceJob.from_dict(read.arguments) == spec  # the settings object comes back whole
    claim = ClaimJob(model_path="base", problems_path="p.parquet", outputs=RunOutputs("m", "c", "h"), grpo=grpo,
                     verifier="integer", seed=3, claim="few_shot", claim_settings={"k": 4},
                     selection_path="s.parquet", tracking={"report_to": "tensorboard", "run_name": "r"})
    job = TrainingJob("train_claim", claim.as_dict(), {"root": str(tmp_path), "every": 0, "keep": 1}, "key")
    job.write(tmp_path / "claim.json")
    assert ClaimJob.from_dict(TrainingJob.read(tmp_path / "claim.json").arguments) == claim
    with pytest.raises(ValueError, match="unknown training job function"):
        TrainingJob("train_everything", {}, {"root": str(tmp_path), "every": 0}, "").call(1)
