"""CommonsenseQA v1.11 → <data-dir>/commonsenseqa/{train,dev}_rand_split.jsonl.  python -m data_scripts.commonsenseqa
Official source; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://s3.amazonaws.com/commensenseqa/{s}_rand_split.jsonl", f"{s}_rand_split.jsonl", h, None)
           for s, h in (("train", None),
                        ("dev", "4c036e81eec3cb86477bc1b97c21c56aa17d92ab9f8537c855dc0cf724b05fe0"))]

if __name__ == "__main__":
    run("commonsenseqa", SOURCES, doc=__doc__)
