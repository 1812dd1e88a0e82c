"""Support for the thin workflow scripts: what every ``script:`` job does around
its work, each piece named (``rule_job`` opens them all)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from mirage.core import provenance


def offline_hub() -> None:
    """Nothing reaches a model or data set hub from a job: models and data come
    from the local cache (``python -m mirage download`` fills it). huggingface_hub
    reads the variables once, when it is imported: the Snakefile calls this for
    every job before any job starts; ``rule_job`` and each training process
    again, for a job run some other way. A variable the user set wins."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


@contextlib.contextmanager
def rule_logging(snakemake):
    """Send stdout, stderr and ``logging`` of a ``script:`` job to its log file.
    A failure with bad input (ValueError, OSError) prints one line naming it on
    the console and exits 1; the traceback stays in the log."""
    log_path = snakemake.log[0] if len(snakemake.log) else os.devnull
    console = sys.stderr  # before the redirect: what Snakemake shows the user
    with open(log_path, "w", buffering=1) as handle:
        with contextlib.redirect_stdout(handle), contextlib.redirect_stderr(handle):
            root = logging.getLogger()
            handler = logging.StreamHandler(handle)
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
            root.setLevel(logging.INFO)
            try:
                yield
            except BaseException as error:
                logging.exception("job failed")
                if isinstance(error, (ValueError, OSError)):
                    print(f"mirage: rule {snakemake.rule} failed: {error} (details: {log_path})", file=console)
                    raise SystemExit(1) from None
                raise
            finally:
                root.removeHandler(handler)


def job_provenance(snakemake) -> dict:
    """What a job's tables and figures record: its rule and params."""
    return {"rule": snakemake.rule, "params": dict(snakemake.params.items())}


@contextlib.contextmanager
def rule_job(snakemake):
    """Around a ``script:`` job's work: the hub offline (``offline_hub``), its
    log file (``rule_logging``) and its provenance recorded in every table and
    figure it writes (``mirage.core.provenance.recording``)."""
    offline_hub()
    with rule_logging(snakemake), provenance.recording(job_provenance(snakemake)):
        yield
