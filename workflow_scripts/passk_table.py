from mirage.analysis.evaluation import alignment_tables
from mirage.workflow import rule_job

with rule_job(snakemake):
    alignment_tables(
        sample_files=list(snakemake.input),
        ks=snakemake.params.ks,
        passk_path=snakemake.output.passk,
        styles_path=snakemake.output.styles,
    )
