from mirage.toy.tokenizer import save_tokenizer
from mirage.workflow import rule_job

with rule_job(snakemake):
    save_tokenizer(snakemake.output[0])
