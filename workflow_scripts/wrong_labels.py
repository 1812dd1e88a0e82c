from mirage.rl import wrong_labels
from mirage.schemas import PROBLEMS, SAMPLES, WRONG_LABELS
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    problems = PROBLEMS.read(snakemake.input.problems)
    labels = wrong_labels(
        SAMPLES.read(snakemake.input.samples),
        problems.filter(problems["split"] == "train"),
        snakemake.params.verifier,
    )
    WRONG_LABELS.write(labels, snakemake.output[0])
    print(f"{labels['from_samples'].sum()} of {labels.height} wrong labels from the base model's samples")
