"""SQuAD v2.0 (SQuAD-explorer) → <data-dir>/squad_v2/{train,dev}-v2.0.json.  python -m data_scripts.squad_v2
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}", f, None, None)
           for f in ("train-v2.0.json", "dev-v2.0.json")]

if __name__ == "__main__":
    run("squad_v2", SOURCES, doc=__doc__)
