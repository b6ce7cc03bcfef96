"""SQuAD v1.1 (SQuAD-explorer) → <data-dir>/squad_v1/{train,dev}-v1.1.json; with --lang de,hi (or all), also
XTREME's translate-train SQuAD (its xtreme_translations bucket) →
<data-dir>/squad_v1/translate-train/squad.translate.train.en-{lang}.json, as tasks/squad_v1.py reads them.
python -m data_scripts.squad_v1 [--lang de]   (make data TASK=squad_v1 LANG=de)
Official sources; sha256 pinned where known, else recorded at the first download (data_scripts/download.py)."""
from data_scripts.download import run

SOURCES = [(f"https://rajpurkar.github.io/SQuAD-explorer/dataset/{f}", f, None, None)
           for f in ("train-v1.1.json", "dev-v1.1.json")]
LANGS = "ar de el es hi ru th tr vi zh".split()  # = tasks/squad_v1.py TRAIN_LANGS without en (SPEC §2)
MT = "translate-train/squad.translate.train.en-{}.json"
TRANSLATIONS = {lang: ("https://storage.googleapis.com/xtreme_translations/SQuAD/" + MT.format(lang), MT.format(lang),
                       None, None) for lang in LANGS}

if __name__ == "__main__":
    run("squad_v1", SOURCES, doc=__doc__, translations=TRANSLATIONS)
