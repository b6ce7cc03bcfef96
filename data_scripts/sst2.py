"""SST-2 from GLUE → <data-dir>/sst2/{train,dev}.tsv.  python -m data_scripts.sst2
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip", "SST-2.zip", None,
            {f"SST-2/{s}.tsv": f"{s}.tsv" for s in ("train", "dev")})]

if __name__ == "__main__":
    run("sst2", SOURCES, doc=__doc__)
