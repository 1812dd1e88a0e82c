"""Resumable training jobs.

A training job checkpoints every N steps into its own folder outside its
outputs (Snakemake deletes a failed job's outputs, and must not delete these).
Run again after a kill, it resumes from the newest *complete* checkpoint: one
whose marker file was written after everything else, so a checkpoint cut short
by the kill is never read. A folder written for other params or other inputs is
wiped first, so a changed config never resumes a stale run. The folder is
removed when the job succeeds.

Exact resumption on the CPU rests on TRL/transformers checkpoints (weights,
optimizer, scheduler, RNG states, trainer state) plus :class:`Resumable` state
of our own (a stateful reward's generator, the reward history so far), saved
beside them by :func:`resume_callback`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mirage.core.atomic import write_text_atomic
from mirage.core.provenance import config_hash
from mirage.core.settings import CheckpointSettings

log = logging.getLogger(__name__)

KEY_FILE = "resume_key.json"
COMPLETE = "mirage_complete"
EXTRA_STATE = "mirage_state.json"
PREFIX = "checkpoint-"


class Resumable(Protocol):
    """Something whose state a checkpoint must carry beyond the trainer's."""

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def inputs_fingerprint(paths) -> list:
    """Path, size and mtime of every file under ``paths``: a re-created input
    (a retrained base model) makes an old checkpoint stale."""
    out = []
    for p in sorted(str(p) for p in paths if p):
        path = Path(p)
        files = sorted(f for f in path.rglob("*") if f.is_file()) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            out.append([str(f), st.st_size, st.st_mtime_ns])
    return out


def run_key(params, input_paths) -> str:
    return config_hash({"params": params, "inputs": inputs_fingerprint(input_paths)})


class CheckpointDir:
    """The checkpoint folder of one training job."""

    def __init__(self, root: str | os.PathLike, every: int, keep: int = 2, base: str | os.PathLike | None = None):
        """``base``: the folder of every job's checkpoints (``checkpoints.dir``),
        below which ``finish`` leaves no empty folder."""
        if every < 0 or keep < 1:
            raise ValueError(f"checkpoints: every must be >= 0 and keep >= 1, got every={every}, keep={keep}")
        self.root = Path(root)
        self.every = every
        self.keep = keep
        self.base = None if base is None else Path(base)

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def prepare(self, key: str) -> Path | None:
        """Wipe the folder unless it belongs to the run ``key``; return the newest
        complete checkpoint to resume from, or None."""
        key_file = self.root / KEY_FILE
        if self.root.exists():
            found = json.loads(key_file.read_text()).get("key") if key_file.exists() else None
            if found != key:
                log.info("checkpoints in %s belong to another run (params or inputs changed): removed", self.root)
                shutil.rmtree(self.root)
        if not self.enabled:
            return None
        self.root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(key_file, json.dumps({"key": key}))
        latest = self.latest()
        if latest is not None:
            log.info("resuming from %s", latest)
        return latest

    def latest(self) -> Path | None:
        complete = [d for d in self.root.glob(f"{PREFIX}*") if (d / COMPLETE).exists()]
        return max(complete, key=checkpoint_step, default=None)

    def trainer_args(self) -> dict:
        """The checkpointing arguments of a transformers ``TrainingArguments``."""
        if not self.enabled:
            return {"output_dir": str(self.root), "save_strategy": "no"}
        return {"output_dir": str(self.root), "save_strategy": "steps", "save_steps": self.every,
                "save_total_limit": self.keep, "save_only_model": False}

    def finish(self) -> None:
        """The run is done: its checkpoints go, and with them the folders above
        them that hold nothing else, up to ``base`` (included)."""
        shutil.rmtree(self.root, ignore_errors=True)
        if self.base is None or not self.root.is_relative_to(self.base):
            return
        for folder in self.root.parents:
            if not folder.is_relative_to(self.base):
                break
            try:
                folder.rmdir()  # only an empty folder: another job's checkpoints stay
            except OSError:
                break


def checkpoint_step(checkpoint: Path | None) -> int:
    """The step a checkpoint folder was saved at; 0 for none (a fresh run)."""
    return int(checkpoint.name[len(PREFIX):]) if checkpoint is not None else 0


def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process in a multi-process job; (0, 1) alone."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier() -> None:
    """Wait for every process of a multi-process job (nothing when alone)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def extra_state_file(rank: int) -> str:
    """Each process keeps its own state (its reward's generator, its share of
    the reward history); process 0's file has the single-process name."""
    return EXTRA_STATE if rank == 0 else f"mirage_state.rank{rank}.json"


def resume_callback(extra: dict[str, Resumable] | None = None):
    """A TrainerCallback that saves ``extra`` states into each checkpoint and
    then marks it complete (``on_save`` runs after the trainer wrote it all;
    with several processes, the mark waits for every process's files)."""
    from transformers import TrainerCallback

    extra = extra or {}

    class MarkComplete(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            folder = Path(args.output_dir) / f"{PREFIX}{state.global_step}"
            rank, _ = process_rank()
            if extra:
                folder.mkdir(parents=True, exist_ok=True)
                write_text_atomic(folder / extra_state_file(rank),
                                  json.dumps({k: v.state_dict() for k, v in extra.items()}))
            barrier()
            if rank == 0:
                write_text_atomic(folder / COMPLETE, "")
            return control

    return MarkComplete()


def load_extra_state(checkpoint: Path, extra: dict[str, Resumable]) -> None:
    if not extra:
        return
    rank, world = process_rank()
    path = checkpoint / extra_state_file(rank)
    if not path.exists():
        raise ValueError(f"{checkpoint} has no state of process {rank} ({path.name}): it was written by a run with "
                         f"fewer processes than this one's {world}; delete the folder to start afresh")
    saved = json.loads(path.read_text())
    for name, obj in extra.items():
        obj.load_state_dict(saved[name])


def job_checkpoints(snakemake, every_key: str):
    """The checkpoint folder of a training job, below ``checkpoints.dir`` by rule and
    wildcards, and the key that ties it to this job's params and inputs."""
    cfg = CheckpointSettings.from_dict(snakemake.config.get("checkpoints"))
    parts = [snakemake.rule, *(f"{k}={v}" for k, v in sorted(snakemake.wildcards.items()))]
    folder = os.path.join(cfg.dir, *parts)
    key = run_key(dict(snakemake.params.items()), list(snakemake.input))
    return CheckpointDir(folder, getattr(cfg, every_key), cfg.keep, base=cfg.dir), key


# -- checkpoints by the clock: a run longer than its job's time limit ---------------------------

EXIT_TIME_LIMIT = 75  # a training process that stopped at its time limit after a checkpoint (EX_TEMPFAIL)
TIME_LIMIT_ENV = "MIRAGE_TIME_LIMIT"  # "1": stop before the runtime ends outside SLURM too (tests)


class TimeLimitReached(RuntimeError):
    """A training job stopped before its runtime limit, after a checkpoint: its retry resumes there."""


@dataclass(frozen=True)
class TimeLimit:
    """When a GRPO job checkpoints by the clock: at ``deadline`` (seconds since the epoch;
    None: never) it checkpoints at the next rollout-batch boundary and stops; every
    ``every`` seconds (0: never) it checkpoints there and goes on."""

    deadline: float | None = None
    every: float = 0.0

    @classmethod
    def for_job(cls, snakemake, started: float, environ=None) -> "TimeLimit":
        """A GRPO job's: ``checkpoints.rl_minutes``, and, where a scheduler enforces its
        ``runtime`` resource (a SLURM job; ``MIRAGE_TIME_LIMIT=1`` anywhere), the deadline
        ``checkpoints.stop_before_limit`` minutes before it ends, counted from ``started``
        (none where the runtime is not longer than that). Nothing without checkpoints."""
        environ = os.environ if environ is None else environ
        cfg = CheckpointSettings.from_dict(snakemake.config.get("checkpoints"))
        runtime = snakemake.resources.get("runtime")
        if cfg.rl_every <= 0:
            return cls()
        enforced = "SLURM_JOB_ID" in environ or environ.get(TIME_LIMIT_ENV) == "1"
        deadline = None
        if enforced and isinstance(runtime, (int, float)) and runtime > cfg.stop_before_limit:
            deadline = started + (runtime - cfg.stop_before_limit) * 60
        return cls(deadline=deadline, every=cfg.rl_minutes * 60)

    @property
    def active(self) -> bool:
        return self.deadline is not None or self.every > 0


def agreed_flags(*flags: bool) -> list[bool]:
    """Each flag true on any process of the job (one all-reduce), so that every process
    saves and stops at the same step; the flags themselves on one process."""
    import torch
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return list(flags)
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    values = torch.tensor([int(f) for f in flags], dtype=torch.long, device=device)
    dist.all_reduce(values, op=dist.ReduceOp.MAX)
    return [bool(v) for v in values.tolist()]


def clock_callback(limit: TimeLimit, updates_per_rollout: int, clock=time.time):
    """A TrainerCallback that, at a rollout-batch boundary (a checkpoint there resumes
    exactly), saves when ``limit.every`` seconds passed since the last save and saves and
    stops the training once ``limit.deadline`` passed; ``stopped`` tells the run."""
    from transformers import TrainerCallback

    class ClockCheckpoints(TrainerCallback):
        stopped = False

        def on_train_begin(self, args, state, control, **kwargs):
            self.last = clock()

        def on_save(self, args, state, control, **kwargs):
            self.last = clock()

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step % updates_per_rollout or state.global_step >= state.max_steps:
                return control
            now = clock()
            stop, save = agreed_flags(limit.deadline is not None and now >= limit.deadline,
                                      limit.every > 0 and now - self.last >= limit.every)
            if stop or save:
                control.should_save = True
            if stop:
                control.should_training_stop = True
                self.stopped = True
            return control

    return ClockCheckpoints()
