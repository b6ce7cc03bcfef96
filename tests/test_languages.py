"""studies/languages.tsv: a row for every language of every target task and both suites, Joshi classes equal to
the lang2tax file, English at distance 0, distances in [0, 1], URIEL distances that recompute from lang2vec's
own vector files, a generator that reproduces the shipped file byte for byte, and check() naming unknown codes."""
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, shared

from util import UserError
from studies import languages, make_languages

TARGETS = "xnli pawsx udpos panx xquad mlqa tydiqa bucc tatoeba xcopa lareqa mewslix".split()
JOSHI = ("typology", "joshi2020_lang2tax_iso639-3.csv")


def suite_languages():
    """Every language of XTREME's and XTREME-R's official tables (tasks/lib/submission.py, formerly tasks/)."""
    for name in ("tasks.lib.submission", "tasks.submission"):
        try:
            suites = importlib.import_module(name).SUITES
        except ModuleNotFoundError as e:
            if e.name not in (name, name.rsplit(".", 1)[0]):
                raise
            continue
        return {lg for langs, _ in suites.values() for v in langs.values() for lg in v}
    pytest.fail("found no SUITES in tasks.lib.submission or tasks.submission")


def test_one_row_per_target_language():
    want = {lg for t in TARGETS for lg in importlib.import_module(f"tasks.{t}").LANGS} | suite_languages()
    assert set(languages.table()) == want
    isos = [r["iso639_3"] for r in languages.table().values()]
    assert len(set(isos)) == len(isos) and all(len(c) == 3 and c.isalpha() and c.islower() for c in isos)
    assert all(r["name"] and r["family"] and r["genus"] and r["script"] for r in languages.table().values())


def test_joshi_classes_equal_the_lang2tax_file():
    # split by hand: one name in the file holds a stray '"' that derails the csv module
    joshi = dict(line.split(",")[:2] for line in shared(*JOSHI).read_text(encoding="utf-8").splitlines())
    for lang, row in languages.table().items():
        key = make_languages.JOSHI_ROW.get(row["iso639_3"], row["iso639_3"])
        assert row["joshi_class"] == int(joshi[key]), lang
    assert languages.resource_group("en") == "high" and languages.resource_group("sw") == "low"


def test_english_is_at_zero_and_every_distance_in_unit_interval():
    assert all(languages.table()["en"][f] == 0.0 for f in languages.FEATURES)
    for lang, row in languages.table().items():
        assert all(0.0 <= row[f] <= 1.0 for f in languages.FEATURES), lang
        assert lang == "en" or row["dist_syntax"] > 0, lang


def test_uriel_distances_recompute_from_lang2vec_vectors():
    lang2vec = pytest.importorskip("lang2vec")
    data = Path(lang2vec.__file__).parent / "data"  # read the npz files directly: a second path to the numbers
    sets = dict(dist_syntax=("feature_predictions", "S_"), dist_phonology=("feature_predictions", "P_"),
                dist_inventory=("feature_predictions", "INV_"), dist_genetic=("family_features", "F_"),
                dist_geographic=("geocoord_features", "GC_"))
    for column, (file, prefix) in sets.items():
        npz = np.load(data / f"{file}.npz")
        langs, feats = list(npz["langs"]), np.char.startswith(npz["feats"].astype(str), prefix)
        assert feats.any(), (file, prefix)

        def vec(iso):
            return npz["data"][langs.index(iso), feats, 0].astype(float)
        eng = vec("eng")
        for lang in ("de", "zh", "sw", "qu", "hi"):
            row = languages.table()[lang]
            v = vec(row["iso639_3"])
            norms = np.linalg.norm(v) * np.linalg.norm(eng)
            want = 1 - v @ eng / norms if norms else 1.0  # qu (que) has no URIEL family: shares nothing
            assert abs(row[column] - want) <= 5e-5 + 1e-9, (lang, column, row[column], want)


def test_generator_reproduces_the_shipped_table(tmp_path):
    pytest.importorskip("lang2vec")
    out = tmp_path / "languages.tsv"
    run = subprocess.run([sys.executable, "-m", "studies.make_languages", "--joshi", str(shared(*JOSHI)),
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == languages.TSV.read_bytes()


def test_check_names_unknown_languages():
    languages.check(["en", "qu", "zh"])
    with pytest.raises(UserError, match=r"no language xx, klingon;"):
        languages.check(["en", "xx", "klingon"])
    with pytest.raises(UserError, match="xx"):
        languages.resource_group("xx")
