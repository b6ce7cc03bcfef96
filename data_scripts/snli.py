"""SNLI 1.0 (Stanford) → <data-dir>/snli/snli_1.0_{train,dev}.jsonl.  python -m data_scripts.snli
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [("https://nlp.stanford.edu/projects/snli/snli_1.0.zip", "snli_1.0.zip", None,
            {f"snli_1.0/snli_1.0_{s}.jsonl": f"snli_1.0_{s}.jsonl" for s in ("train", "dev")})]

if __name__ == "__main__":
    run("snli", SOURCES, doc=__doc__)
