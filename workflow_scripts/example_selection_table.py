from mirage.core.schemas import EXAMPLE_SELECTION
from mirage.training.selection import example_selection_table
from mirage.workflow import rule_job

# the examples every cell's one-shot and few-shot claims train on, in one table
with rule_job(snakemake):
    params = snakemake.params
    table = example_selection_table(params.cells, list(snakemake.input), params.few_shot["k"], params.examples)
    EXAMPLE_SELECTION.write(table, snakemake.output[0])
    print(table.head(10))
