"""Training jobs on one process or several.

A training job (a claim's GRPO run, the One-Shot reference run) with one
process runs inside the Snakemake job's own process. With several, the job
starts them itself, inside the one task the scheduler granted it:

- on GPUs, ``accelerate launch`` with the config's engine
  (``config/accelerate/<rl.distributed>.yaml``: DDP, DeepSpeed ZeRO-3 or FSDP2),
  one process per granted GPU;
- on the CPU, ``torchrun`` with ``resources.train.processes`` processes over
  gloo (accelerate 1.15 cannot start several CPU processes), in the environment
  ``accelerate launch`` would give them for the config's engine
  (``mirage.training.cpu_engines.engine_environment``: ZeRO-3 and FSDP2 rehearsed on the CPU).

Every process runs ``python -m mirage.training.launch SPEC``, SPEC being the job's
:class:`TrainingJob` as JSON. The launching process prepares the checkpoint
folder before the processes start (one process decides whether an old folder is
stale), and the processes die with it: a job killed by its scheduler leaves no
process behind that could write into a retried job's folders.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mirage.core import provenance
from mirage.core.checkpoints import EXIT_TIME_LIMIT, CheckpointDir, TimeLimit, TimeLimitReached, job_checkpoints
from mirage.core.registry import Registry
from mirage.core.settings import GRPOSettings
from mirage.training.cpu_engines import engine_environment
from mirage.training.runs import ClaimJob, ReferenceJob, RunOutputs, Runtime, reference_run, train_claim
from mirage.workflow import job_provenance, offline_hub

log = logging.getLogger(__name__)

# each job function with the run specification it takes
JOB_FUNCTIONS = Registry("training job function", {"train_claim": (train_claim, ClaimJob),
                                                   "reference_run": (reference_run, ReferenceJob)})
ENGINES = ("ddp", "zero3", "fsdp2")
PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class TrainingJob:
    """One training job, as every one of its processes runs it.

    ``function``: ``train_claim`` or ``reference_run`` (``mirage.training.runs``);
    ``arguments``: its run specification (``ClaimJob``, ``ReferenceJob``) as a dict;
    ``checkpoints``: the job's checkpoint folder (``root``, ``every``, ``keep``);
    ``resume_key``: what ties the folder to this job's params and inputs;
    ``provenance``: the job's params, recorded in the tables it writes;
    ``time_limit``: its ``mirage.core.checkpoints.TimeLimit`` as a dict."""

    function: str
    arguments: dict
    checkpoints: dict
    resume_key: str
    provenance: dict = field(default_factory=dict)
    time_limit: dict = field(default_factory=dict)

    def checkpoint_dir(self) -> CheckpointDir:
        return CheckpointDir(**self.checkpoints)

    def call(self, threads: int) -> None:
        """Run the job in this process (one of its processes when several)."""
        function, spec = JOB_FUNCTIONS.lookup(self.function)
        function(spec.from_dict(self.arguments),
                 Runtime(threads=threads, checkpoints=self.checkpoint_dir(), resume_key=self.resume_key,
                         time_limit=TimeLimit(**self.time_limit)))

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def read(cls, path: str | os.PathLike) -> "TrainingJob":
        return cls(**json.loads(Path(path).read_text()))


def visible_gpus(environ=None) -> int | None:
    """GPUs the job was granted, as the scheduler tells its processes
    (``CUDA_VISIBLE_DEVICES``, else SLURM's ``SLURM_GPUS_ON_NODE``); None when
    neither says."""
    environ = os.environ if environ is None else environ
    devices = environ.get("CUDA_VISIBLE_DEVICES")
    if devices is not None and devices.strip() not in ("", "NoDevFiles"):
        return len([d for d in devices.split(",") if d.strip() and d.strip() != "-1"])
    on_node = environ.get("SLURM_GPUS_ON_NODE", "")
    return int(on_node) if on_node.isdigit() else None


def granted_processes(gpus: int, cpu_processes: int, environ=None) -> int:
    """Processes of a training job: one per GPU when the job asked for GPUs
    (what it asked for, or fewer if fewer are visible to it: a workstation may
    show more GPUs than a job asked for, a scheduler grants what was asked),
    else the config's CPU processes."""
    if gpus <= 0:
        return cpu_processes
    visible = visible_gpus(environ)
    return min(gpus, visible) if visible else gpus


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch_command(processes: int, engine: str, use_cuda: bool, spec: Path, accelerate_dir: Path) -> list[str]:
    """The command that starts the job's ``processes`` processes on ``spec``."""
    port = str(free_port())
    if not use_cuda:
        return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", str(processes),
                "--master_port", port, "-m", "mirage.training.launch", str(spec)]
    if engine not in ENGINES:
        raise ValueError(f"rl.distributed is {engine!r}; known: {', '.join(ENGINES)}")
    config = accelerate_dir / f"{engine}.yaml"
    if not config.exists():
        raise FileNotFoundError(f"rl.distributed is {engine!r}, but its accelerate config {config} does not exist")
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
            "--num_processes", str(processes), "--main_process_port", port, "-m", "mirage.training.launch", str(spec)]


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the process that started it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:  # not Linux: nothing to ask for
        pass


def run_training_job(job: TrainingJob, processes: int, threads: int, engine: str = "ddp",
                     accelerate_dir: Path | None = None, output=None) -> None:
    """Run ``job`` with ``processes`` processes (see the module's docstring);
    ``threads``: the job's CPU threads, shared by its processes; ``output``: a
    file the processes' output goes to (the job's log)."""
    if processes == 1:
        job.call(threads)
        return
    import torch

    use_cuda = torch.cuda.is_available()
    job.checkpoint_dir().prepare(job.resume_key)  # once, before any process reads the folder
    with tempfile.TemporaryDirectory(prefix="mirage-job-") as tmp:
        spec = Path(tmp) / "job.json"
        job.write(spec)
        accelerate_dir = accelerate_dir or Path("config/accelerate")
        command = launch_command(processes, engine, use_cuda, spec, accelerate_dir)
        env = {**os.environ, "MIRAGE_THREADS": str(max(1, threads // processes)),
               "OMP_NUM_THREADS": str(max(1, threads // processes))}
        if not use_cuda:  # torchrun: the environment accelerate launch would give (mirage.training.cpu_engines)
            env.update(engine_environment(engine, processes, accelerate_dir))
        where = ("GPUs, " + engine if use_cuda else "CPU, gloo") + ("" if use_cuda or engine == "ddp" else f", {engine}")
        log.info("training with %d processes (%s): %s", processes, where, " ".join(command))
        if output is not None:
            output.flush()
        done = subprocess.run(command, env=env, stdout=output, stderr=subprocess.STDOUT if output else None,
                              preexec_fn=die_with_parent)
    if done.returncode == EXIT_TIME_LIMIT:
        raise TimeLimitReached(f"the job's {processes} training processes stopped before the job's time limit after "
                               "a checkpoint (above in this log): run the job again (its retry) to resume from there")
    if done.returncode:
        raise RuntimeError(f"the job's {processes} training processes failed (exit status {done.returncode}); "
                           "their output is above in this log")


def grpo_job_fields(snakemake) -> dict:
    """What every GRPO job's specification takes from its rule (a claim's run, the One-Shot
    reference run): the model, the problems, the outputs and the training settings."""
    params, out = snakemake.params, snakemake.output
    return dict(model_path=params.model_path, problems_path=snakemake.input.problems,
                outputs=RunOutputs(model_dir=out.model, curves=out.curves, history=out.history),
                grpo=GRPOSettings.from_dict(params.grpo), verifier=params.verifier,
                prompt_format=params.prompt_format, answer_fallback=params.answer_fallback, load=params.load)


def run_grpo_rule(snakemake, function: str, spec: ClaimJob | ReferenceJob, started: float, output=None) -> None:
    """A GRPO rule's job: ``function`` (``train_claim``, ``reference_run``) on ``spec``, in one
    process or one per granted GPU (``resources.train.processes`` on the CPU), checkpointed in the
    job's folder and stopped before its time limit (counted from ``started``)."""
    checkpoints, resume_key = job_checkpoints(snakemake, "rl_every")
    job = TrainingJob(function, spec.as_dict(), checkpoints=dict(root=str(checkpoints.root), every=checkpoints.every,
                                                                 keep=checkpoints.keep, base=str(checkpoints.base)),
                      resume_key=resume_key, provenance=job_provenance(snakemake),
                      time_limit=vars(TimeLimit.for_job(snakemake, started)))
    run_training_job(job, granted_processes(snakemake.resources.gpu, snakemake.params.processes), snakemake.threads,
                     engine=snakemake.params.distributed,
                     accelerate_dir=Path(snakemake.scriptdir).parent / "config" / "accelerate", output=output)


def main(argv: list[str] | None = None) -> int:
    """One process of a training job: ``python -m mirage.training.launch SPEC``."""
    die_with_parent()
    if os.getppid() == 1:  # the launcher died before the line above
        return 1
    argv = sys.argv[1:] if argv is None else argv
    rank = os.environ.get("RANK", "0")
    logging.basicConfig(level=logging.INFO if rank == "0" else logging.WARNING,
                        format=f"%(asctime)s [process {rank}] %(levelname)s %(name)s: %(message)s")
    offline_hub()
    job = TrainingJob.read(argv[0])
    status = 0
    with provenance.recording(job.provenance):
        try:
            job.call(int(os.environ.get("MIRAGE_THREADS", "1")))
        except TimeLimitReached as stop:
            logging.getLogger(__name__).warning("%s", stop)
            status = EXIT_TIME_LIMIT
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()  # else gloo's threads may abort the exit ("terminate called ...")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
