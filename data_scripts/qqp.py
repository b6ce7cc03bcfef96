"""QQP from GLUE → <data-dir>/qqp/{train,dev}.tsv.  python -m data_scripts.qqp
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/glue/data/QQP-clean.zip", "QQP-clean.zip", None,
            {f"QQP/{s}.tsv": f"{s}.tsv" for s in ("train", "dev")})]

if __name__ == "__main__":
    run("qqp", SOURCES, doc=__doc__)
