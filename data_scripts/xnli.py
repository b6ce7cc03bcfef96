"""XNLI-1.0 dev/test (official) → <data-dir>/xnli/XNLI-1.0/xnli.{dev,test}.tsv.  python -m data_scripts.xnli
XNLI's English training data is MNLI: run data_scripts.mnli too."""
import argparse
from pathlib import Path

from data_scripts.download import extract, fetch

URL = "https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip"  # SPEC §3


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args(argv).data_dir) / "xnli"
    archive = fetch(URL, out / "downloads" / "XNLI-1.0.zip")
    extract(archive, {f"XNLI-1.0/xnli.{s}.tsv": f"XNLI-1.0/xnli.{s}.tsv" for s in ("dev", "test")}, out)
    print(f"XNLI ready in {out}")


if __name__ == "__main__":
    main()
