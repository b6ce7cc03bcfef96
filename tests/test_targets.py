"""XTREME targets on the real files in ../shared/data: complete parses with the published counts, tagging
segments that score every word, and chunk-F1 scoring through the loop's scorer."""
import json

import pytest
import torch
from conftest import shared

import xstilts
from tasks import panx, pawsx, udpos, xquad
from tasks.lib import heads
from chain.train import score


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
    assert score(udpos, examples, features, perfect) == {"f1": 100.0, "precision": 100.0, "recall": 100.0}
    wrong = [torch.full((len(f["label"]),), udpos.LABELS.index("NOUN")) for f in features]
    assert score(udpos, examples, features, wrong)["f1"] < 30


def brute_force_mining(x, y, k=4):
    import numpy as np
    xn, yn = x / np.linalg.norm(x, axis=1, keepdims=True), y / np.linalg.norm(y, axis=1, keepdims=True)
    sim = xn.astype(np.float64) @ yn.T
    kx, ky = np.sort(sim, 1)[:, -k:].mean(1), np.sort(sim, 0)[-k:, :].mean(0)
    margin = sim / ((kx[:, None] + ky[None, :]) / 2)
    cands = [(margin[i, j], i, j) for i in range(len(x)) for j in [max(np.argsort(-sim[i])[:k], key=lambda j: margin[i, j])]]
    cands += [(margin[i, j], i, j) for j in range(len(y)) for i in [max(np.argsort(-sim[:, j])[:k], key=lambda i: margin[i, j])]]
    used_x, used_y, out = set(), set(), []
    for s, i, j in sorted(cands, key=lambda t: -t[0]):
        if i not in used_x and j not in used_y:
            used_x.add(i), used_y.add(j), out.append((i, j))
    return out


def test_bucc_mining_equals_brute_force_on_random_embeddings():
    import numpy as np

    from tasks import bucc
    rng = np.random.default_rng(0)
    for n, m in ((300, 400), (50, 37)):
        x, y = rng.normal(size=(n, 16)).astype(np.float32), rng.normal(size=(m, 16)).astype(np.float32)
        y[: n // 2] = x[: n // 2] + 0.3 * rng.normal(size=(n // 2, 16))  # half of x has a translation
        got = bucc.mine(x, y)
        assert [(i, j) for _, i, j in got] == brute_force_mining(x, y)


def test_bucc_duplicate_texts_expand_to_every_id_and_the_threshold_is_tuned(tiny_dir, tmp_path):
    from model.load import load_model
    from model.tokenizer import Tokenizer
    from tasks import bucc
    from chain.config import Config
    example = dict(src={"de-1": "Das Haus ist rot.", "de-2": "Das Haus ist rot.", "de-3": "Ich trinke Tee."},
                   trg={"en-1": "The house is red.", "en-2": "I drink tea.", "en-3": "Unrelated words here."},
                   gold={("de-1", "en-1"), ("de-2", "en-1"), ("de-3", "en-2")})
    model = load_model(tiny_dir)
    scored = bucc.scored_pairs(model, Tokenizer(tiny_dir), Config(layer=1, dtype="fp32"), example, None)
    by_text = {}
    for s, a, b in scored:
        by_text.setdefault((example["src"][a], b), set()).add(a)
    assert all(ids == {"de-1", "de-2"} for (text, _), ids in by_text.items() if text == "Das Haus ist rot.")
    scored = [(0.9, "a", "x"), (0.8, "b", "y"), (0.7, "c", "z"), (0.6, "d", "w")]
    gold = {("a", "x"), ("b", "y"), ("d", "w")}
    assert bucc.best_threshold(scored, gold) == pytest.approx(0.6, abs=1e-5)  # keep all four (F1 6/7): just below 0.6
    assert bucc.best_threshold(scored, {("a", "x")}) == pytest.approx(0.85)
