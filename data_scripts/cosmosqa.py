"""Cosmos QA (official repository) → <data-dir>/cosmosqa/{train,valid}.csv.  python -m data_scripts.cosmosqa
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://raw.githubusercontent.com/wilburOne/cosmosqa/master/data/{s}.csv", f"{s}.csv", h, None)
           for s, h in (("train", None),
                        ("valid", "a6a94fc1463ca82bb10f98ef68ed535405e6f5c36e044ff8e136b5c19dea63f3"))]

if __name__ == "__main__":
    run("cosmosqa", SOURCES, doc=__doc__)
