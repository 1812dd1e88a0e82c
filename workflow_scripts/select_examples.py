from mirage.selection import example_selection_table, rank_cell_candidates
from mirage.schemas import CANDIDATE_RANKING, EXAMPLE_SELECTION
from mirage.seeding import stable_seed
from mirage.workflow import rule_job

# one adapter for One-Shot RLVR's example selection: a cell's ranking, or the table of every cell
with rule_job(snakemake):
    if snakemake.rule == "select_examples":
        wc = snakemake.wildcards
        table = rank_cell_candidates(
            history_path=snakemake.input.history,
            problems_path=snakemake.input.problems,
            one_shot=snakemake.params.one_shot,
            # the reference run's seed: the same candidate pool
            seed=stable_seed(snakemake.params.seed, "one-shot-reference", wc.model, wc.task),
        )
        CANDIDATE_RANKING.write(table, snakemake.output[0])
    else:
        table = example_selection_table(snakemake.params.cells, list(snakemake.input), snakemake.params.few_shot["k"],
                                        snakemake.params.examples)
        EXAMPLE_SELECTION.write(table, snakemake.output[0])
    print(table.head(10))
