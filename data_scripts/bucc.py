"""BUCC 2018 (comparable.limsi.fr) → <data-dir>/bucc/{lang}-en.{sample,training}.{lang,en,gold}; sample
serves as dev, training as test (SPEC §3).  python -m data_scripts.bucc"""
from data_scripts.download import run

URL = "https://comparable.limsi.fr/bucc2018/bucc2018-{lang}-en.{split}-gold.tar.bz2"
SOURCES = [(URL.format(lang=lang, split=split), f"bucc2018-{lang}-en.{split}-gold.tar.bz2", None,
            {f"bucc2018/{lang}-en/{lang}-en.{split}.{ext}": f"{lang}-en.{split}.{ext}" for ext in (lang, "en", "gold")})
           for lang in ("de", "fr", "ru", "zh") for split in ("sample", "training")]

if __name__ == "__main__":
    run("bucc", SOURCES, doc=__doc__)
