"""PAWS-X (official x-final.tar.gz) → <data-dir>/pawsx/x-final/{lang}/{train,dev_2k,test_2k}.tsv.
python -m data_scripts.pawsx"""
from data_scripts.download import run

LANGS = "de en es fr ja ko zh".split()
FILES = {"en": ("train.tsv", "dev_2k.tsv", "test_2k.tsv")}
SOURCES = [("https://storage.googleapis.com/paws/pawsx/x-final.tar.gz", "x-final.tar.gz", None,
            {f"x-final/{lang}/{f}": f"x-final/{lang}/{f}" for lang in LANGS
             for f in FILES.get(lang, ("translated_train.tsv", "dev_2k.tsv", "test_2k.tsv"))})]

if __name__ == "__main__":
    run("pawsx", SOURCES, doc=__doc__)
