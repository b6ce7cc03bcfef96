"""MNLI from GLUE's official archive → <data-dir>/mnli/{train,dev_matched}.tsv.  python -m data_scripts.mnli"""
import argparse
from pathlib import Path

from data_scripts.download import extract, fetch

URL = "https://dl.fbaipublicfiles.com/glue/data/MNLI.zip"  # GLUE's MNLI (SPEC §2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args(argv).data_dir) / "mnli"
    archive = fetch(URL, out / "downloads" / "MNLI.zip")
    extract(archive, {"MNLI/train.tsv": "train.tsv", "MNLI/dev_matched.tsv": "dev_matched.tsv"}, out)
    print(f"MNLI ready in {out}")


if __name__ == "__main__":
    main()
