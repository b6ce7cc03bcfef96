"""XNLI-1.0 dev/test (official) → <data-dir>/xnli/XNLI-1.0/xnli.{dev,test}.tsv.  python -m data_scripts.xnli
XNLI's English training data is MNLI: run data_scripts.mnli too."""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip", "XNLI-1.0.zip", None,  # SPEC §3
            {f"XNLI-1.0/xnli.{s}.tsv": f"XNLI-1.0/xnli.{s}.tsv" for s in ("dev", "test")})]

if __name__ == "__main__":
    run("xnli", SOURCES, doc=__doc__)
