"""ANLI v1.0 rounds 1-3 → <data-dir>/anli/anli_v1.0/R{1,2,3}/{train,dev,test}.jsonl.  python -m data_scripts.anli
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/anli/anli_v1.0.zip", "anli_v1.0.zip", None,
            {f"anli_v1.0/R{r}/{s}.jsonl": f"anli_v1.0/R{r}/{s}.jsonl" for r in (1, 2, 3) for s in ("train", "dev", "test")})]

if __name__ == "__main__":
    run("anli", SOURCES, doc=__doc__)
