from mirage.rl import majority_labels
from mirage.schemas import PROBLEMS, SAMPLES, WRONG_LABELS
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    problems = PROBLEMS.read(snakemake.input.problems)
    labels = majority_labels(
        SAMPLES.read(snakemake.input.samples),
        problems.filter(problems["split"] == "train"),
        snakemake.params.verifier,
        snakemake.params.votes,
    )
    WRONG_LABELS.write(labels, snakemake.output[0])
    print(f"majority answer wrong on {labels['majority_wrong'].sum()} of {labels.height} training problems "
          f"({snakemake.params.votes} votes each): incorrect_label trains on those")
