"""XTREME targets on the real files in ../shared/data: complete parses with the published counts, tagging
segments that score every word, and chunk-F1 scoring through the loop's scorer."""
import json

import pytest
import torch
from conftest import shared

import xstilts
from tasks import heads, panx, pawsx, udpos, xquad
from tasks.train import score


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("targets")
    (d / "panx").symlink_to(shared("xtreme_panx"))  # read in place
    (d / "udpos").symlink_to(shared("xtreme_udpos"))
    (d / "xquad").symlink_to(shared("xquad"))
    (d / "pawsx" / "x-final").mkdir(parents=True)
    (d / "pawsx" / "x-final" / "de").symlink_to(shared("pawsx_de"))
    return d


@pytest.mark.parametrize("task, split, lang, sentences", [
    (panx, "test", "en", 10000), (panx, "test", "de", 10000), (panx, "test", "hi", 1000),
    (panx, "test", "sw", 1000), (panx, "dev", "en", 10000),
    (udpos, "test", "en", 5440), (udpos, "test", "ar", 1680), (udpos, "test", "hi", 2684),
    (udpos, "test", "tr", 4785), (udpos, "test", "ur", 535), (udpos, "dev", "en", 3974),
    (pawsx, "dev", "de", 2000), (pawsx, "test", "de", 2000),  # quotes inside sentences drop no row
])
def test_real_files_parse_completely(data, task, split, lang, sentences):
    examples, skipped = task.load(data, split, lang)
    assert len(examples) == sentences and not skipped


@pytest.mark.parametrize("lang", "ar de el en es ro ru tr vi".split())
def test_every_xquad_language_has_1190_questions(data, lang):
    examples, skipped = xquad.load(data, "test", lang)
    assert len(examples) == 1190 and not skipped


def test_stats_reports_the_real_files(data, capsys):
    for args, n in ((["--task", "panx", "--lang", "hi"], 1000), (["--task", "pawsx", "--lang", "de"], 2000),
                    (["--task", "udpos", "--lang", "ur"], 535)):
        assert xstilts.main(["stats", *args, "--split", "test", "--data-dir", str(data), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["examples"] == n and out["skipped"] == 0


def test_long_sentences_become_segments_and_every_word_is_scored(tok):
    words = ("Die Zusammenarbeit zwischen den Ländern wurde 1957 verstärkt , sagte Xi’an . " * 60).split()
    example = dict(words=words, label=[i % 7 for i in range(len(words))])
    features = panx.encode([example], tok, 64)
    assert len(features) > 5 and all(len(f["ids"]) <= 64 for f in features)
    scored = [lab for f in features for lab in f["label"] if lab != heads.IGNORE]
    assert scored == example["label"]  # every word, once, in order


def test_chunk_f1_through_the_loop_scorer(data, tok):
    examples, _ = udpos.load(data, "test", "ur")
    features = udpos.encode(examples, tok, 32)  # short segments: many sentences are split
    perfect = [torch.tensor([max(lab, 0) for lab in f["label"]]) for f in features]
    assert score(udpos, examples, features, perfect) == {"f1": 100.0}
    wrong = [torch.full((len(f["label"]),), udpos.LABELS.index("NOUN")) for f in features]
    assert score(udpos, examples, features, wrong)["f1"] < 30
