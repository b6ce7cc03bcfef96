"""`xstilts.py compare`: the per-example split of every metric sums back to the official score (so the paired
bootstrap resamples what the scorer measures), seeds grouped, deltas with CIs that see a real difference."""
import json
import random

import numpy as np
import pytest

import xstilts
from studies import compare
from tasks.lib import submission

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"]


def write_run(root, objects):
    """objects {(target, lang): (predictions, gold)} in XTREME's layout + a results.json."""
    for (target, lang), (pred, gold) in objects.items():
        folder = submission.folder(target)
        for kind, value in (("predictions", pred), ("labels", gold)):
            path = root / kind / folder / f"test-{lang}.{submission.suffix(folder)}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(submission.render(folder, value, gold=kind == "labels"), encoding="utf-8")
    (root / "results.json").write_text("{}")
    return root


def noisy(gold, rate, rng, choices):
    return [rng.choice(choices) if rng.random() < rate else g for g in gold]


def objects(rng, rate):
    labels = ["entailment", "neutral", "contradiction"]
    nli = [rng.choice(labels) for _ in range(300)]
    tags = [[rng.choice(TAGS) for _ in range(rng.randint(1, 12))] for _ in range(80)]
    words = "the red ball a house of cards in paris".split()
    gold_qa = {f"q{i}": [" ".join(rng.sample(words, 3)) for _ in range(rng.randint(1, 3))] for i in range(60)}
    pred_qa = {q: (g[0] if rng.random() > rate else " ".join(rng.sample(words, 2))) for q, g in gold_qa.items()}
    ranked_gold = {f"q{i}": [f"c{rng.randrange(30)}"] for i in range(40)}
    ranked = {q: rng.sample([f"c{j}" for j in range(30)], 25) for q in ranked_gold}
    return {("xnli", "de"): (noisy(nli, rate, rng, labels), nli),
            ("panx", "de"): ([noisy(s, rate, rng, TAGS) for s in tags], tags),
            ("xquad", "de"): (pred_qa, gold_qa), ("mlqa", "de"): (pred_qa, gold_qa),
            ("tatoeba", "de"): ([str(rng.randrange(5)) for _ in range(50)], [str(rng.randrange(5)) for _ in range(50)]),
            ("lareqa", "de"): (ranked, ranked_gold)}


@pytest.mark.parametrize("target, metric", [("xnli", "accuracy"), ("panx", "f1"), ("xquad", "f1"),
                                            ("xquad", "exact_match"), ("mlqa", "f1"), ("tatoeba", "accuracy"),
                                            ("lareqa", "map@20")])
def test_per_example_split_sums_to_the_official_score(tmp_path, target, metric):
    run = write_run(tmp_path / "r", objects(random.Random(0), 0.4))
    value, (num, den) = compare.load(run, target, "de", metric)
    assert 100.0 * num.sum() / den.sum() == pytest.approx(value, abs=1e-9)


def test_seeds_grouped_and_deltas_see_a_real_difference(tmp_path, capsys):
    base = [write_run(tmp_path / f"b{i}", objects(random.Random(10 + i), 0.6)) for i in range(2)]
    good = write_run(tmp_path / "g", objects(random.Random(10), 0.05))
    out = tmp_path / "cmp.json"
    argv = ["compare", f"base={base[0]},{base[1]}", f"good={good}", "--baseline", "base", "--out", str(out)]
    assert xstilts.main(argv) == 0
    result = json.loads(out.read_text())
    assert len(result["table"]["xnli/de"]["base"]) == 2 and len(result["table"]["xnli/de"]["good"]) == 1
    xnli = next(d for d in result["deltas"] if d["target"] == "xnli")
    assert xnli["delta"] == pytest.approx(result["table"]["xnli/de"]["good"][0] - np.mean(result["table"]["xnli/de"]["base"]))
    assert 0 < xnli["ci_low"] < xnli["delta"] < xnli["ci_high"]
    panx = next(d for d in result["deltas"] if d["target"] == "panx")
    assert panx["ci_low"] > 0 and xnli["method"] == "examples"  # one seed of `good`: its seed variance is unknown
    assert "examples only: 1 seed" in capsys.readouterr().out
    good2 = write_run(tmp_path / "g2", objects(random.Random(11), 0.05))  # two seeds a side: both levels count
    assert xstilts.main(["compare", f"base={base[0]},{base[1]}", f"good={good},{good2}", "--baseline", "base",
                         "--out", str(out)]) == 0
    two = next(d for d in json.loads(out.read_text())["deltas"] if d["target"] == "xnli")
    assert two["method"] == "seeds+examples" and two["ci_high"] - two["ci_low"] > xnli["ci_high"] - xnli["ci_low"]
    assert xstilts.main(argv) == 0
    printed = capsys.readouterr().out
    assert "| xnli | de |" in printed and "± " in printed and "**avg** (worst)" in printed
    same = write_run(tmp_path / "s", objects(random.Random(10), 0.05))  # identical predictions: nothing varies,
    assert xstilts.main(["compare", f"a={good}", f"b={same}", "--baseline", "a", "--out", str(out)]) == 0
    for d in json.loads(out.read_text())["deltas"]:  # so no interval: never a zero-width one
        assert d["delta"] == 0 and d["ci_low"] is None and d["ci_high"] is None and "no variation" in d["method"]
    assert "(no variation: identical seeds and examples)" in capsys.readouterr().out


def test_bad_arguments_are_one_line(tmp_path, capsys):
    run = write_run(tmp_path / "r", objects(random.Random(0), 0.4))
    assert xstilts.main(["compare", str(tmp_path / "nothing")]) == 2
    assert "not a finished run" in capsys.readouterr().err
    assert xstilts.main(["compare", str(run), "--baseline", "x"]) == 2
    assert "--baseline x: no such system" in capsys.readouterr().err
    assert xstilts.main(["compare", str(run), "--metric", "bleu"]) == 2
    assert "--metric bleu" in capsys.readouterr().err
    import shutil
    shutil.rmtree(run / "labels")  # predictions without labels: no blank column passed off as a result
    assert xstilts.main(["compare", str(run)]) == 2
    assert "no prediction file has its label file beside it" in capsys.readouterr().err


def test_each_system_names_its_encoder(tmp_path, capsys):
    """A run folder's encoder is its config.yaml `model`; a sweep's is cells.json's `model`, else the grid's, else
    study.yaml's base.model. Printed one line per system and returned as `models`."""
    run = write_run(tmp_path / "r", objects(random.Random(0), 0.4))
    (run / "config.yaml").write_text("model: microsoft/infoxlm-large\nseed: 1\n")
    sweep = tmp_path / "sw"
    (sweep / "study.yaml").parent.mkdir()
    (sweep / "study.yaml").write_text("base: {model: FacebookAI/xlm-roberta-large}\ngrid: {task: [none, mnli]}\n")
    cells = []
    for i, keys in enumerate([dict(task="none"), dict(task="mnli"), dict(task="mnli", model="cis-lmu/glot500-base")]):
        write_run(sweep / "stages" / f"eval-xnli-{i}", {("xnli", "de"): objects(random.Random(i), 0.3)[("xnli", "de")]})
        cells.append(dict(cell=f"c{i}", keys=keys, seed=1, stages=[f"stages/eval-xnli-{i}"],
                          **({"model": "intfloat/multilingual-e5-large"} if i == 1 else {})))
    cells.append(dict(cell="c9", keys=dict(task="ccg"), seed=1, stages=["stages/eval-xnli-9"], skipped="no CCGbank"))
    (sweep / "cells.json").write_text(json.dumps(cells))  # a cell the sweep left out: no system, a note
    out = tmp_path / "cmp.json"
    assert xstilts.main(["compare", f"run={run}", str(sweep), "--out", str(out)]) == 0
    models = json.loads(out.read_text())["models"]
    assert models == {"run": "microsoft/infoxlm-large", "none": "FacebookAI/xlm-roberta-large",
                      "task=mnli": "intfloat/multilingual-e5-large",
                      "task=mnli,model=cis-lmu/glot500-base": "cis-lmu/glot500-base"}
    printed = capsys.readouterr().out
    assert "Encoders:\n  run: microsoft/infoxlm-large\n  none: FacebookAI/xlm-roberta-large\n" in printed
    assert "cell c9 ({'task': 'ccg'}) was left out by the sweep: no CCGbank." in printed and "task=ccg |" not in printed
