"""PAN-X (WikiANN with the Rahimi et al. splits) has no direct download: its historic link asks for a
manual step. python -m data_scripts.panx says what to do and checks the result."""
import argparse
import sys
from pathlib import Path

HOW = ("download AmazonPhotos.zip (the WikiANN link in google-research/xtreme's README), run XTREME's "
       "utils_preprocess.py panx step, and put its {train,dev,test}-{lang}.tsv files (token<TAB>IOB2 tag, blank "
       "line between sentences) in {out}; the HF hub dataset unimelb-nlp/wikiann holds the same splits")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args().data_dir) / "panx"
    have = sorted(p.name for p in out.glob("*-*.tsv")) if out.exists() else []
    if not have:
        sys.exit(f"data_scripts.panx: no files in {out}: " + HOW.replace("{out}", str(out)) + ".")
    print(f"panx: {len(have)} files in {out}")
