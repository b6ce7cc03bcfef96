"""HellaSwag (rowanz/hellaswag) → <data-dir>/hellaswag/hellaswag_{train,val}.jsonl.  python -m data_scripts.hellaswag
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_{s}.jsonl",
            f"hellaswag_{s}.jsonl", None, None) for s in ("train", "val")]

if __name__ == "__main__":
    run("hellaswag", SOURCES, doc=__doc__)
