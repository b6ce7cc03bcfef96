"""MNLI from GLUE's official archive → <data-dir>/mnli/{train,dev_matched}.tsv; with --lang hi,sw (or all),
also XNLI-MT-1.0's machine-translated MNLI train sets (the XNLI paper's translate-train data) →
<data-dir>/mnli/XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv, as tasks/mnli.py reads them.
python -m data_scripts.mnli [--lang hi]   (make data TASK=mnli LANG=hi)"""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/glue/data/MNLI.zip", "MNLI.zip", None,  # GLUE's MNLI (SPEC §2)
            {"MNLI/train.tsv": "train.tsv", "MNLI/dev_matched.tsv": "dev_matched.tsv"})]
LANGS = "ar bg de el es fr hi ru sw th tr ur vi zh".split()  # = tasks/mnli.py TRAIN_LANGS without en (SPEC §2)
MT = "XNLI-MT-1.0/multinli/multinli.train.{}.tsv"  # one archive holds every language; only those asked for are kept
TRANSLATIONS = {lang: ("https://dl.fbaipublicfiles.com/XNLI/XNLI-MT-1.0.zip", "XNLI-MT-1.0.zip", None,
                       {MT.format(lang): MT.format(lang)}) for lang in LANGS}

if __name__ == "__main__":
    run("mnli", SOURCES, doc=__doc__, translations=TRANSLATIONS)
