"""Support for the thin workflow scripts: logging into the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys


@contextlib.contextmanager
def rule_logging(snakemake):
    """Send stdout, stderr and ``logging`` of a ``script:`` job to its log file,
    and make sure nothing reaches a model or data set hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from mirage import provenance

    provenance.set_job({"rule": snakemake.rule, "params": dict(snakemake.params.items())})
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
                    # bad input: one line on the console naming what was wrong; the traceback stays in the log
                    print(f"mirage: rule {snakemake.rule} failed: {error} (details: {log_path})", file=console)
                    raise SystemExit(1) from None
                raise
            finally:
                root.removeHandler(handler)
