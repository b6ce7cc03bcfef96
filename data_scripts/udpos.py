"""UD-POS: Universal Dependencies v2.5 (lindat; v2.7 for XTREME-R's lt pl uk wo ro, as XTREME's own script)
→ <data-dir>/udpos/{train,dev,test}-{lang}.tsv in XTREME's
layout: word<TAB>UPOS, a blank line between sentences, all treebanks of a language concatenated in sorted
file order; multiword-token ranges and empty nodes are skipped. python -m data_scripts.udpos"""
import sys
from pathlib import Path

from data_scripts.download import UserError, fetch, open_archive, write_text

URL = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3105/ud-treebanks-v2.5.tgz"
URL_27 = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3424/ud-treebanks-v2.7.tgz"
LANG_27 = dict(lt="Lithuanian", pl="Polish", uk="Ukrainian", wo="Wolof", ro="Romanian")
LANG = dict(af="Afrikaans", ar="Arabic", bg="Bulgarian", de="German", el="Greek", en="English", es="Spanish",
            et="Estonian", eu="Basque", fa="Persian", fi="Finnish", fr="French", he="Hebrew", hi="Hindi",
            hu="Hungarian", id="Indonesian", it="Italian", ja="Japanese", kk="Kazakh", ko="Korean", mr="Marathi",
            nl="Dutch", pt="Portuguese", ru="Russian", ta="Tamil", te="Telugu", th="Thai", tl="Tagalog",
            tr="Turkish", ur="Urdu", vi="Vietnamese", yo="Yoruba", zh="Chinese")


def convert(archive, out, langs=LANG):
    with open_archive(archive) as (names, open_member):  # a damaged archive or member: one line naming both
        conllu = sorted(n for n in names if n.endswith(".conllu"))
        for code, name in langs.items():
            for split in ("train", "dev", "test"):
                rows = []
                for n in conllu:
                    if f"/UD_{name}-" in n and n.endswith(f"-ud-{split}.conllu"):
                        with open_member(n) as f:
                            text = f.read().decode("utf-8")
                        for line in text.splitlines():
                            cols = line.split("\t")
                            if not line:
                                rows.append("")
                            elif len(cols) == 10 and cols[0].isdigit():  # not "1-2" ranges, not "1.1" nodes
                                rows.append(f"{cols[1]}\t{cols[3]}")
                if rows:
                    write_text(out / f"{split}-{code}.tsv", "\n".join(rows) + "\n")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default="data")
    out = Path(ap.parse_args().data_dir) / "udpos"
    try:
        convert(fetch(URL, out / "downloads" / "ud-treebanks-v2.5.tgz"), out)
        convert(fetch(URL_27, out / "downloads" / "ud-treebanks-v2.7.tgz"), out, LANG_27)
    except UserError as e:  # offline, disk full, a damaged archive: one line
        sys.exit(f"data_scripts.udpos: {e}")
    print(f"udpos ready in {out}")
