import polars as pl

from mirage.core.schemas import PROBLEMS, SAMPLES, WRONG_LABELS
from mirage.training.selection import majority_labels
from mirage.workflow import rule_job

with rule_job(snakemake):
    problems = PROBLEMS.read(snakemake.input.problems)
    train = problems.filter(problems["split"] == "train")
    samples = pl.concat([SAMPLES.read(f) for f in snakemake.input.samples])  # one table, or one per shard
    # the problems that got votes (rule sample_votes: all, or a seeded subset)
    voted = train.filter(train["problem_id"].is_in(samples["problem_id"].unique().to_list()))
    labels = majority_labels(samples, voted, snakemake.params.verifier, snakemake.params.votes,
                             snakemake.params.answers)
    WRONG_LABELS.write(labels, snakemake.output[0])
    print(f"majority answer wrong on {labels['majority_wrong'].sum()} of {labels.height} training problems "
          f"with votes, of {train.height} ({snakemake.params.votes} votes each): incorrect_label trains on those")
