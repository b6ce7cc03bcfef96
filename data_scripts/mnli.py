"""MNLI from GLUE's official archive → <data-dir>/mnli/{train,dev_matched}.tsv.  python -m data_scripts.mnli"""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/glue/data/MNLI.zip", "MNLI.zip", None,  # GLUE's MNLI (SPEC §2)
            {"MNLI/train.tsv": "train.tsv", "MNLI/dev_matched.tsv": "dev_matched.tsv"})]

if __name__ == "__main__":
    run("mnli", SOURCES, doc=__doc__)
