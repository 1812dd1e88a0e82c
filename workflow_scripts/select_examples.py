from mirage.core.schemas import CANDIDATE_RANKING
from mirage.training.selection import rank_cell_candidates, reference_seed
from mirage.workflow import rule_job

# One-Shot RLVR's ranking of a cell's candidates, from its reference run's reward history
with rule_job(snakemake):
    wc = snakemake.wildcards
    table = rank_cell_candidates(
        history_path=snakemake.input.history,
        problems_path=snakemake.input.problems,
        one_shot=snakemake.params.one_shot,
        seed=reference_seed(snakemake.params.seed, wc.model, wc.task),  # the reference run's: the same pool
    )
    CANDIDATE_RANKING.write(table, snakemake.output[0])
    print(table.head(10))
