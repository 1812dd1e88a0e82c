"""A training job as a Snakemake job's adapter runs it (``mirage.training.launch.run_training_job``), in a
process of its own, so that tests/test_gpu_path.py can SIGKILL it (and its torchrun processes die
with it):

    python tests/gpu_path_job.py SPEC PROCESSES ENGINE
"""

import logging
import sys
from pathlib import Path

from mirage.training.launch import TrainingJob, run_training_job

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    spec, processes, engine = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    run_training_job(TrainingJob.read(spec), processes, threads=2, engine=engine,
                     accelerate_dir=Path(__file__).resolve().parents[1] / "config" / "accelerate")
