"""TyDiQA-GoldP v1.1 → <data-dir>/tydiqa/: the training file, and the dev file split per language the way
XTREME does it (by the language name that starts each id).  python -m data_scripts.tydiqa"""
import json
import sys
from pathlib import Path

from data_scripts.download import UserError, fetch, open_archive, write_text

BASE = "https://storage.googleapis.com/tydiqa/v1.1/"
NAMES = dict(arabic="ar", bengali="bn", english="en", finnish="fi", indonesian="id", korean="ko", russian="ru",
             swahili="sw", telugu="te")
SOURCES = [(BASE + "tydiqa-goldp-v1.1-train.json", "tydiqa-goldp-v1.1-train.json", None, None),
           (BASE + "tydiqa-goldp-v1.1-dev.tgz", "tydiqa-goldp-v1.1-dev.tgz", None, None)]


def split_dev(dev, out):
    for name, code in NAMES.items():
        keep = [dict(a, paragraphs=[dict(p, qas=[q for q in p["qas"] if q["id"].startswith(name + "-")])
                                    for p in a["paragraphs"]]) for a in dev["data"]]
        write_text(out / "tydiqa-goldp-v1.1-dev" / f"tydiqa-goldp-dev-{code}.json", json.dumps(dict(dev, data=keep)))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args().data_dir) / "tydiqa"
    try:
        fetch(SOURCES[0][0], out / SOURCES[0][1])
        with open_archive(fetch(SOURCES[1][0], out / "downloads" / SOURCES[1][1])) as (names, open_member):
            name = next((n for n in names if n.endswith("tydiqa-goldp-v1.1-dev.json")), "tydiqa-goldp-v1.1-dev.json")
            with open_member(name) as f:
                split_dev(json.load(f), out)  # not TyDiQA JSON: one line naming the archive and member
    except UserError as e:
        sys.exit(f"data_scripts.tydiqa: {e}")
    print(f"tydiqa ready in {out}")
