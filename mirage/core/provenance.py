"""Provenance of every table and figure: the hash of the config subtree the job
depends on (its Snakemake params), the code version (git commit, and whether
the tree was dirty), the versions of the packages that shape results and the
machine: the CPU and the kernels the job ran (``mirage.core.kernels``). Kept
in Parquet key-value metadata and in PNG text chunks / SVG metadata; no
timestamps, so two builds from the same commit and config are byte-identical.

    python -m mirage provenance FILE"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import json
import subprocess
from importlib import metadata
from pathlib import Path

from mirage.core.kernels import machine

KEY = "mirage.provenance"  # the metadata key in every table and figure written so far: a file format, not a module path
PACKAGES = ("torch", "transformers", "trl", "vllm", "numpy", "polars", "snakemake")
# the config hash of the job whose ``recording`` block is open (none outside one)
_job_hash: contextvars.ContextVar[str] = contextvars.ContextVar("mirage_job_config_hash", default="none")


def config_hash(subtree) -> str:
    """sha256 of the canonical JSON of a config subtree."""
    text = json.dumps(subtree, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    repo = Path(__file__).resolve().parents[2]

    def git(*args) -> str:
        try:
            return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no")) if commit != "unknown" else False
    return {"git_commit": commit, "git_dirty": str(dirty).lower()}


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@contextlib.contextmanager
def recording(job: dict):
    """Within the block, every table (``mirage.core.schemas``) and figure
    (``mirage.analysis.plots``) written records the hash of ``job`` (the rule and its
    params: the config subtree the job depends on); outside any block, "none".
    A workflow job opens one around its work (``mirage.workflow.rule_job``, and
    each training process in ``mirage.training.launch``)."""
    token = _job_hash.set(config_hash(job))
    try:
        yield
    finally:
        _job_hash.reset(token)


def record() -> dict[str, str]:
    """What goes into a written file's metadata: the open job's config hash,
    the code version, the package versions and the machine (its CPU and the
    kernels the job ran: ``mirage.core.kernels.machine``)."""
    return {"config_hash": _job_hash.get(), **code_version(),
            **{f"version.{k}": v for k, v in package_versions().items()}, **machine()}


def read(path: str | Path) -> dict[str, str]:
    """The provenance stored in a Parquet, PNG or SVG file."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        raw = meta.get(KEY.encode())
        return json.loads(raw) if raw else {}
    if path.suffix == ".png":
        from PIL import Image

        with Image.open(path) as img:
            raw = img.info.get(KEY)
        return json.loads(raw) if raw else {}
    if path.suffix == ".svg":
        text = path.read_text(errors="replace")
        start = text.find(f"<!-- {KEY} ")
        if start < 0:
            return {}
        return json.loads(text[start + len(KEY) + 6:text.index(" -->", start)])
    raise ValueError(f"{path}: no provenance for {path.suffix} files (Parquet, PNG, SVG)")
