"""SQuAD v1.1 (SQuAD-explorer) → <data-dir>/squad_v1/{train,dev}-v1.1.json.  python -m data_scripts.squad_v1
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}", f, None, None)
           for f in ("train-v1.1.json", "dev-v1.1.json")]

if __name__ == "__main__":
    run("squad_v1", SOURCES, doc=__doc__)
