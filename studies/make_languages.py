"""Regenerate studies/languages.tsv: one row per language of every XTREME / XTREME-R target task (the LANGS of
tasks/<name>.py), with its ISO 639-3 code, WALS family and genus, main script, Joshi et al. (2020) resource
class and five URIEL distances to English.

    python -m studies.make_languages --joshi lang2tax.csv [--out studies/languages.tsv]

--joshi: Joshi et al.'s classes keyed by ISO 639-3, `iso639-3,class,name` per line, no header (the copy the
tests check against: ../shared/data/typology/joshi2020_lang2tax_iso639-3.csv). Needs lang2vec (imported here
only: xstilts ships the TSV and reads it without lang2vec). The output is written atomically.
Sources: LANGUAGES below (ISO 639-3, SIL; WALS Online, Dryer & Haspelmath 2013; ISO 15924); Joshi et al.
2020, "The State and Fate of Linguistic Diversity and Inclusion in the NLP World" (ACL); URIEL (Littell et
al. 2017, EACL) through lang2vec. HEADER, written atop the TSV, says how each column was chosen.
"""
import argparse
import os
import sys
from pathlib import Path

import util
from util import UserError

OUT = Path(__file__).with_name("languages.tsv")
COLUMNS = ("lang iso639_3 name family genus script joshi_class dist_syntax dist_phonology dist_inventory "
           "dist_genetic dist_geographic").split()
URIEL = dict(dist_syntax="syntax_knn", dist_phonology="phonology_knn", dist_inventory="inventory_knn",
             dist_genetic="fam", dist_geographic="geo")  # TSV column → lang2vec feature set
SCRIPTS = dict(Arab="Arabic", Beng="Bengali", Cyrl="Cyrillic", Deva="Devanagari", Geor="Georgian", Grek="Greek",
               Gujr="Gujarati", Guru="Gurmukhi", Hang="Hangul", Hani="Han", Hebr="Hebrew", Jpan="Japanese",
               Latn="Latin", Mlym="Malayalam", Mymr="Myanmar", Taml="Tamil", Telu="Telugu", Thai="Thai")
# ISO 15924 code → its English name, short form (unicode.org/iso15924; "Bengali (Bangla)" → Bengali)

LANGUAGES = {  # xstilts code: (ISO 639-3, name, WALS family, WALS genus, ISO 15924, WALS language it is from)
    "af": ("afr", "Afrikaans", "Indo-European", "Germanic", "Latn", "afr"),
    "ar": ("ara", "Arabic", "Afro-Asiatic", "Semitic", "Arab", "ams"),  # WALS: Arabic (Modern Standard)
    "az": ("aze", "Azerbaijani", "Altaic", "Turkic", "Latn", "aze"),
    "bg": ("bul", "Bulgarian", "Indo-European", "Slavic", "Cyrl", "bul"),
    "bn": ("ben", "Bengali", "Indo-European", "Indic", "Beng", "ben"),
    "de": ("deu", "German", "Indo-European", "Germanic", "Latn", "ger"),
    "el": ("ell", "Greek", "Indo-European", "Greek", "Grek", "grk"),  # WALS: Greek (Modern)
    "en": ("eng", "English", "Indo-European", "Germanic", "Latn", "eng"),
    "es": ("spa", "Spanish", "Indo-European", "Romance", "Latn", "spa"),
    "et": ("est", "Estonian", "Uralic", "Finnic", "Latn", "est"),
    "eu": ("eus", "Basque", "Basque", "Basque", "Latn", "bsq"),
    "fa": ("fas", "Persian", "Indo-European", "Iranian", "Arab", "prs"),
    "fi": ("fin", "Finnish", "Uralic", "Finnic", "Latn", "fin"),
    "fr": ("fra", "French", "Indo-European", "Romance", "Latn", "fre"),
    "gu": ("guj", "Gujarati", "Indo-European", "Indic", "Gujr", "guj"),
    "he": ("heb", "Hebrew", "Afro-Asiatic", "Semitic", "Hebr", "heb"),  # WALS: Hebrew (Modern)
    "hi": ("hin", "Hindi", "Indo-European", "Indic", "Deva", "hin"),
    "ht": ("hat", "Haitian Creole", "other", "Creoles and Pidgins", "Latn", "hcr"),
    "hu": ("hun", "Hungarian", "Uralic", "Ugric", "Latn", "hun"),
    "id": ("ind", "Indonesian", "Austronesian", "Malayo-Sumbawan", "Latn", "ind"),
    "it": ("ita", "Italian", "Indo-European", "Romance", "Latn", "ita"),
    "ja": ("jpn", "Japanese", "Japanese", "Japanese", "Jpan", "jpn"),  # Jpan = Han + Hiragana + Katakana
    "jv": ("jav", "Javanese", "Austronesian", "Javanese", "Latn", "jav"),
    "ka": ("kat", "Georgian", "Kartvelian", "Kartvelian", "Geor", "geo"),
    "kk": ("kaz", "Kazakh", "Altaic", "Turkic", "Cyrl", "kaz"),
    "ko": ("kor", "Korean", "Korean", "Korean", "Hang", "kor"),
    "lt": ("lit", "Lithuanian", "Indo-European", "Baltic", "Latn", "lit"),
    "ml": ("mal", "Malayalam", "Dravidian", "Southern Dravidian", "Mlym", "mym"),
    "mr": ("mar", "Marathi", "Indo-European", "Indic", "Deva", "mhi"),
    "ms": ("zlm", "Malay", "Austronesian", "Malayo-Sumbawan", "Latn", "mly"),
    "my": ("mya", "Burmese", "Sino-Tibetan", "Burmese-Lolo", "Mymr", "brm"),
    "nl": ("nld", "Dutch", "Indo-European", "Germanic", "Latn", "dut"),
    "pa": ("pan", "Panjabi", "Indo-European", "Indic", "Guru", "pan"),
    "pl": ("pol", "Polish", "Indo-European", "Slavic", "Latn", "pol"),
    "pt": ("por", "Portuguese", "Indo-European", "Romance", "Latn", "por"),
    "qu": ("que", "Quechua", "Quechuan", "Quechuan", "Latn", "qcu"),  # WALS: Quechua (Cuzco)
    "ro": ("ron", "Romanian", "Indo-European", "Romance", "Latn", "rom"),
    "ru": ("rus", "Russian", "Indo-European", "Slavic", "Cyrl", "rus"),
    "sw": ("swh", "Swahili", "Niger-Congo", "Bantoid", "Latn", "swa"),
    "ta": ("tam", "Tamil", "Dravidian", "Southern Dravidian", "Taml", "tml"),
    "te": ("tel", "Telugu", "Dravidian", "South-Central Dravidian", "Telu", "tel"),
    "th": ("tha", "Thai", "Tai-Kadai", "Kam-Tai", "Thai", "tha"),
    "tl": ("tgl", "Tagalog", "Austronesian", "Greater Central Philippine", "Latn", "tag"),
    "tr": ("tur", "Turkish", "Altaic", "Turkic", "Latn", "tur"),
    "uk": ("ukr", "Ukrainian", "Indo-European", "Slavic", "Cyrl", "ukr"),
    "ur": ("urd", "Urdu", "Indo-European", "Indic", "Arab", "urd"),
    "vi": ("vie", "Vietnamese", "Austro-Asiatic", "Viet-Muong", "Latn", "vie"),
    "wo": ("wol", "Wolof", "Niger-Congo", "Northern Atlantic", "Latn", "wlf"),
    "yo": ("yor", "Yoruba", "Niger-Congo", "Defoid", "Latn", "yor"),
    "zh": ("cmn", "Mandarin Chinese", "Sino-Tibetan", "Chinese", "Hani", "mnd"),
}
JOSHI_ROW = {"pan": "pnb"}  # the file has no pan row: its only Punjabi is pnb (Western Punjabi), whose class pa takes

HEADER = """\
xstilts language table: one row per language of every XTREME / XTREME-R target task (tasks/<name>.py LANGS).
Generated by `python -m studies.make_languages --joshi FILE`: edit that script, not this file.
lang: the code xstilts uses (ISO 639-1 where the language has one).
iso639_3: ISO 639-3 (SIL, iso639-3.sil.org), the code under which both Joshi's file and URIEL list the language.
  Macrolanguages: ar=ara, fa=fas, az=aze, qu=que, et=est (the macrolanguage codes; Joshi lists no arb, pes, azj,
  quz, ekk); ms=zlm, zh=cmn, sw=swh (individual languages; Joshi lists no msa, zho, swa). pa=pan (Eastern
  Panjabi, Gurmukhi, the language of PAN-X's pa): Joshi's file has no pan row, so joshi_class is that of its
  only Punjabi row, pnb (Western Punjabi) - uncertain.
name: English name.
family, genus: WALS Online (Dryer & Haspelmath 2013), as in its CLDF release v2014 (cldf-datasets/wals,
  cldf/languages.csv); each row's WALS language is named in make_languages.py (ar: Arabic (Modern Standard),
  qu: Quechua (Cuzco), zh: Mandarin). Isolates as wals.info prints them (Basque, Japanese, Korean: family =
  genus). These are WALS's choices, not a consensus: Turkic (az kk tr) under family Altaic; Haitian Creole
  under family "other", genus "Creoles and Pidgins"; Mandarin's genus "Chinese" (Glottolog: Sinitic).
  WALS's later release v2020.4 names four genera differently: sw Bantu (here Bantoid), ml ta te Dravidian
  (here Southern / South-Central Dravidian), vi Vietic (Viet-Muong), wo Wolof (Northern Atlantic).
script: ISO 15924 name of the language's main script in the benchmark text (zh: Han, Simplified and
  Traditional; ja: Japanese = Han + Hiragana + Katakana; ko: Hangul; az: Latin; kk: Cyrillic; pa: Gurmukhi).
joshi_class: Joshi et al. 2020, "The State and Fate of Linguistic Diversity and Inclusion in the NLP World",
  resource classes 0 (left-behinds) to 5 (winners), from their lang2tax.txt (microsoft/linguisticdiversity)
  as keyed by ISO 639-3 in hamid-amir/data_lang2vec data/lang2tax.txt.codes (commit 7feb3a8).
dist_*: 1 - cos(v, v_eng) between this language's and English's (eng) URIEL vectors (Littell et al. 2017)
  from lang2vec {version}: syntax_knn, phonology_knn, inventory_knn, fam (genetic), geo (geographic); 4
  decimals. An all-zero fam vector (que, eus: URIEL gives them no family) counts as sharing nothing: 1.
  So every language outside URIEL's Indo-European has dist_genetic 1; ht is 0.9038 because URIEL's fam
  places Haitian Creole under Romance (WALS: "other"). These are cosine distances of the shipped vectors,
  not lang2vec's precomputed distance() tables (GitHub only, not reproducible from these vectors: eng-fra
  syntactic 0.4569 there, 0.1882 here) nor URIEL's great-circle geographic distance: the geo vectors hold
  distances to fixed points on Earth, so dist_geographic spans only 0 to about 0.2."""


def read_joshi(path):
    """`iso639-3,class,name` lines → {iso: class}. Split by hand: a name with a stray '"' (kxo) would make the
    csv module swallow the following lines into one field."""
    classes = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"--joshi {path}: cannot read it ({e}).") from None
    for n, line in enumerate(lines, 1):
        iso, klass, _ = (line.split(",", 2) + ["", ""])[:3]
        if not klass.isdigit() or not 0 <= int(klass) <= 5:
            raise UserError(f"{path}:{n}: expected `iso639-3,class 0-5,name`, got {line!r}.")
        classes[iso] = int(klass)
    return classes


def load_lang2vec():
    """lang2vec.lang2vec; 1.1.2 calls pkg_resources.resource_filename at import, which recent setuptools no
    longer ships: a one-function stand-in gives it the same answer (a path next to its module)."""
    import importlib.util
    if importlib.util.find_spec("lang2vec") is None:
        raise UserError("lang2vec is missing: pip install lang2vec")
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import types
        def resource_filename(module, name):
            return os.path.join(os.path.dirname(sys.modules[module].__file__), name)
        sys.modules["pkg_resources"] = types.SimpleNamespace(resource_filename=resource_filename)
    import lang2vec.lang2vec as l2v
    return l2v


def distances(l2v, codes):
    """{iso: {column: 1 - cos(v, v_eng)}} over the URIEL sets; a zero vector shares nothing with English: 1."""
    import numpy as np
    out = {c: {} for c in codes}
    for column, feature_set in URIEL.items():
        vectors = l2v.get_features(["eng", *codes], feature_set)
        eng = np.array(vectors["eng"], dtype=float)
        for c in codes:
            if "--" in vectors[c]:  # missing values: only the observed sets have them, not knn, fam or geo
                raise UserError(f"URIEL's {feature_set} vector of {c} has missing values; choose another code.")
            v = np.array(vectors[c], dtype=float)
            norms = np.linalg.norm(v) * np.linalg.norm(eng)
            out[c][column] = 1.0 - float(v @ eng) / norms if norms else 1.0
    return out


def render(joshi, joshi_path, l2v, version):
    dist = distances(l2v, [row[0] for row in LANGUAGES.values()])
    lines = [f"# {line}" if line else "#" for line in HEADER.format(version=version).splitlines()]
    lines.append("\t".join(COLUMNS))
    for lang, (iso, name, family, genus, script, _wals) in sorted(LANGUAGES.items()):
        key = JOSHI_ROW.get(iso, iso)
        if key not in joshi:
            raise UserError(f"--joshi {joshi_path}: no row for {key} ({lang}); is it Joshi et al.'s lang2tax file?")
        d = [f"{max(dist[iso][c], 0.0):.4f}" for c in URIEL]  # max: English's 1 - 1 may round to -0.0000
        lines.append("\t".join([lang, iso, name, family, genus, SCRIPTS[script], str(joshi[key]), *d]))
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--joshi", required=True, help="Joshi et al. 2020 classes: iso639-3,class,name per line")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    out = Path(args.out)
    try:
        if not out.parent.is_dir():
            raise UserError(f"--out {out}: the folder {out.parent} does not exist.")
        from importlib.metadata import version
        text = render(read_joshi(args.joshi), args.joshi, load_lang2vec(), version("lang2vec"))
    except UserError as e:
        sys.exit(f"studies.make_languages: {e}")
    util.write_text(out, text)  # atomically: the ground floor's writer (it imports no torch)
    print(f"wrote {len(LANGUAGES)} languages to {out}")


if __name__ == "__main__":
    main()
