from mirage.toy.tokenizer import save_tokenizer
from mirage.workflow import rule_logging

with rule_logging(snakemake):
    save_tokenizer(snakemake.output[0])
