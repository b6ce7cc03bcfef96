"""The submission folder and its scorer: `eval --all` over every target of a suite writes XTREME's layout,
`score` accepts it and reproduces eval's own numbers; the official evaluate.py rules (averages, categories,
all_task, missing files, unanswered questions) on hand-made folders."""
import json
import re

import pytest
import torch
from test_every_task import FIXTURES

import xstilts
from tasks import get_task, tatoeba
from tasks.lib import submission

FAST = ["--epochs", "1", "--batch-size", "2", "--max-len", "64", "--dtype", "fp32",
        "--eval-examples", "4", "--eval-batch-size", "8"]  # eval adds --layer 1: training commands take no --layer


def every_language(tmp_path, suite):
    """The small fixtures of every target, their German (or first-language) test files copied to every
    language of the suite."""
    langs, _ = submission.SUITES[suite]
    for files in FIXTURES.values():
        for rel, text in files.items():
            (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / rel).write_text(text, encoding="utf-8")
    for folder, codes in langs.items():
        task = submission.task_of(folder)
        source = "et" if task == "xcopa" else "de"
        for rel, text in FIXTURES[task].items():
            if task == "tatoeba" or re.search(rf"(?<=[-./]){source}(?=[-./]|$)", rel):
                for lang in codes:
                    new = (rel.replace("deu", tatoeba.CODE[lang]) if task == "tatoeba" else
                           re.sub(rf"(?<=[-./]){source}(?=[-./]|$)", lang, rel))
                    (tmp_path / new).parent.mkdir(parents=True, exist_ok=True)
                    (tmp_path / new).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["xtreme", "xtreme-r"])
def test_eval_all_writes_a_complete_submission_that_score_accepts(suite, tmp_path, tiny_dir, capsys):
    data = every_language(tmp_path / "data", suite)
    runs = tmp_path / "runs"
    argv = ["intermediate", "--task", "mnli", "--model", str(tiny_dir), "--data-dir", str(data), "--runs-dir",
            str(runs), "--name", "inter", *FAST]
    assert xstilts.main(argv) == 0
    argv = ["eval", "--all", "--suite", suite, "--init", str(runs / "inter"), "--data-dir", str(data),
            "--runs-dir", str(runs), "--name", "all", *FAST, "--layer", "1"]
    assert xstilts.main(argv) == 0
    root, (langs, groups) = runs / "all", submission.SUITES[suite]
    for folder, codes in langs.items():  # every task, every language, predictions and labels
        for kind in ("predictions", "labels"):
            have = sorted(p.name for p in (root / kind / folder).iterdir())
            assert have == sorted(f"test-{c}.{submission.suffix(folder)}" for c in codes), (kind, folder)
    out = tmp_path / "scores.json"
    assert xstilts.main(["score", "--predictions", str(root / "predictions"), "--labels", str(root / "labels"),
                         "--suite", suite, "--out", str(out)]) == 0
    scores = json.loads(out.read_text())
    assert scores == json.loads((root / "scores.json").read_text())
    assert set(scores) == {"all_task", *groups, *langs}
    results = json.loads((root / "results.json").read_text())
    for folder in langs:  # the scorer, reading the files, gives eval's own numbers
        mine = results[submission.task_of(folder)]
        for metric, per_lang in scores[folder].items():
            if not metric.startswith("avg"):
                assert per_lang == pytest.approx({c: mine[c][metric] for c in per_lang}, abs=1e-9), (folder, metric)
    mean = sum(scores[t]["avg_metric"] for t in langs) / len(langs)
    assert scores["all_task"] == pytest.approx(mean)
    if suite == "xtreme-r":  # XCOPA continued from the SIQA stage, head included
        (siqa,), (copa,) = (list((root / "stages").glob(f"target-{t}-*")) for t in ("siqa", "xcopa"))
        assert (siqa / "head.safetensors").exists() and (copa / "head.safetensors").exists()
        assert json.loads((copa / "stage.json").read_text())["init"] == str(siqa)


def write(root, rel, text):
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text, encoding="utf-8")


def test_official_rules_on_a_hand_made_folder(tmp_path, capsys):
    p, g = tmp_path / "p", tmp_path / "g"
    for lang in submission.SUITES["xtreme"][0]["pawsx"]:
        write(p, f"pawsx/test-{lang}.tsv", "1\n0\n1\n1\n")
        write(g, f"pawsx/test-{lang}.tsv", "1\n0\n0\n1\n")
    for lang in submission.SUITES["xtreme"][0]["bucc2018"]:
        write(p, f"bucc2018/test-{lang}.tsv", f"{lang}-1\ten-1\n{lang}-2\ten-9\n")
        write(g, f"bucc2018/test-{lang}.tsv", f"{lang}-1\ten-1\n{lang}-2\ten-2\n{lang}-3\ten-3\n")
    scores = submission.score(p, g, "xtreme")
    assert scores["pawsx"]["accuracy"]["de"] == 75.0 and scores["pawsx"]["avg_metric"] == 75.0
    b = scores["bucc2018"]  # P = 1/2, R = 1/3, F1 = 40
    assert b["precision"]["fr"] == 50.0 and b["recall"]["fr"] == pytest.approx(100 / 3) and b["avg_f1"] == pytest.approx(40.0)
    assert "all_task" not in scores and "classification" not in scores  # xnli absent: no category, no total
    for lang in submission.SUITES["xtreme"][0]["xquad"]:  # one question unanswered: scored 0, and said
        write(p, f"xquad/test-{lang}.json", json.dumps({"q1": "the Paris"}))
        write(g, f"xquad/test-{lang}.json", json.dumps({"data": [{"paragraphs": [{"qas": [
            {"id": "q1", "answers": [{"text": "Paris"}]}, {"id": "q2", "answers": [{"text": "London"}]}]}]}]}))
    q = submission.score(p, g, "xtreme", ["xquad"])["xquad"]
    assert q["exact_match"]["ar"] == 50.0 and q["avg_metric"] == 50.0
    assert "xquad/test-ar.json: 1 of 2 questions unanswered (scored 0), e.g. q2" in capsys.readouterr().out
    (p / "pawsx" / "test-ko.tsv").unlink()
    with pytest.raises(xstilts.UserError, match="files missing, e.g. .*pawsx/test-ko.tsv"):
        submission.score(p, g, "xtreme")
    write(p, "pawsx/test-ko.tsv", "1\n0\n")
    with pytest.raises(xstilts.UserError, match="test-ko.tsv: 2 predictions for 4 gold rows"):
        submission.score(p, g, "xtreme", ["pawsx"])
    with pytest.raises(xstilts.UserError, match="xtreme has no xcopa"):
        submission.score(p, g, "xtreme", ["xcopa"])


def test_tagging_scores_equal_seqeval_and_ranked_lists_their_map(tmp_path):
    from seqeval.metrics import f1_score, precision_score, recall_score
    gold = [["B-PER", "I-PER", "O"], ["NOUN", "NOUN", "VERB"], ["O", "B-LOC"]]
    pred = [["B-PER", "O", "O"], ["NOUN", "VERB", "VERB"], ["O", "B-LOC"]]
    got = submission.score_file("panx", "de", pred, gold, "x")
    assert got["f1"] == pytest.approx(100 * f1_score(gold, pred))
    assert got["precision"] == pytest.approx(100 * precision_score(gold, pred))
    assert got["recall"] == pytest.approx(100 * recall_score(gold, pred))
    ranked = {"a": ["x", "r1", "y", "r2"], "b": ["r3"], "c": ["z"] * 20 + ["r4"]}
    relevant = {"a": ["r1", "r2"], "b": ["r3"], "c": ["r4"]}
    want = ((1 / 2 + 2 / 4) / 2 + 1 + 0) / 3  # c's hit is at rank 21: outside the top 20
    assert submission.score_file("mewslix", "de", ranked, relevant, "x")["map@20"] == pytest.approx(100 * want)
    text = submission.render("udpos", [["NOUN", "VERB"], ["X"]])
    write(tmp_path, "t.tsv", text)
    assert submission.read(tmp_path / "t.tsv", "udpos") == [["NOUN", "VERB"], ["X"]] and text.endswith("X\n\n")


@pytest.mark.parametrize("suite", ["xtreme", "xtreme-r"])
def test_every_suite_language_is_a_language_of_its_task_file(suite):
    for folder, codes in submission.SUITES[suite][0].items():
        task = get_task(submission.task_of(folder))
        assert set(codes) <= set(task.LANGS), (folder, sorted(set(codes) - set(task.LANGS)))
    assert len(submission.SUITES["xtreme-r"][0]["tatoeba"]) == 41 and len(submission.SUITES["xtreme"][0]["panx"]) == 40


def test_tatoeba_xtreme_r_languages_parse_from_the_real_files(tmp_path):
    from conftest import shared
    (tmp_path / "tatoeba").symlink_to(shared("tatoeba", "v1"))
    for lang in submission.SUITES["xtreme-r"][0]["tatoeba"]:
        examples, skipped = tatoeba.load(tmp_path, "test", lang)
        assert 100 <= len(examples) <= 1000 and not skipped, lang


def test_target_xcopa_trains_siqa_first_then_copa_from_its_head(tmp_path, tiny_dir):
    from safetensors.torch import load_file, save_file

    from chain.config import Config
    data = every_language(tmp_path / "data", "xtreme-r")
    argv = ["target", "--task", "xcopa", "--init", str(tiny_dir), "--data-dir", str(data), "--runs-dir",
            str(tmp_path / "runs"), "--name", "x", *FAST]
    assert xstilts.main(argv) == 0
    siqa = load_file(tmp_path / "runs" / "x-siqa" / "head.safetensors")
    assert set(siqa) == set(load_file(tmp_path / "runs" / "x" / "head.safetensors"))
    assert json.loads((tmp_path / "runs" / "x-siqa" / "results.json").read_text())["siqa"]["en-dev"]["accuracy"] >= 0
    import yaml
    assert yaml.safe_load((tmp_path / "runs" / "x-siqa" / "config.yaml").read_text())["task"] == "siqa"
    marked = tmp_path / "marked"  # a head of constants: the next stage must start from it
    marked.mkdir()
    save_file({k: torch.full_like(v, 0.25) for k, v in siqa.items()}, marked / "head.safetensors")
    cfg = Config(data_dir=str(data), runs_dir=str(tmp_path / "runs"), name="y", epochs=1.0, batch_size=2,
                 max_len=64, dtype="fp32", lr=1e-9, eval_examples=4)
    from chain.stage import train_stage
    train_stage(cfg, "xcopa", str(tiny_dir), False, str(marked))
    head = load_file(tmp_path / "runs" / "y" / "head.safetensors")
    assert all(torch.allclose(v, torch.full_like(v, 0.25), atol=1e-6) for v in head.values())


def test_lareqa_pool_holds_every_language_and_the_answer_sentence_of_each(tmp_path):
    from tasks import lareqa
    data = every_language(tmp_path, "xtreme-r")
    (ex,), skipped = lareqa.load(data, "test", "de")
    assert not skipped and len(ex["candidates"]) == 2 * 11 and [q[0] for q in ex["questions"]] == ["q1_de", "q2_de"]
    assert ex["relevant"]["q1"] == [f"{lang}_1_1" for lang in lareqa.LANGS]  # "the capital" is in sentence 2
    assert ex["relevant"]["q2"] == [f"{lang}_1_0" for lang in lareqa.LANGS]


def test_eval_all_with_langs_takes_only_those_and_skips_targets_without_them(tmp_path, tiny_dir):
    data = every_language(tmp_path / "data", "xtreme")
    runs = tmp_path / "runs"
    argv = ["eval", "--all", "--suite", "xtreme", "--init", str(tiny_dir), "--data-dir", str(data), "--runs-dir",
            str(runs), "--name", "bn", "--langs", "bn", *FAST, "--layer", "1"]
    assert xstilts.main(argv) == 0
    results = json.loads((runs / "bn" / "results.json").read_text())
    assert set(results) == {"panx", "tydiqa", "tatoeba"}  # the xtreme targets that have Bengali
    assert all(set(r) == {"bn", "avg"} for r in results.values())
    assert not list((runs / "bn" / "stages").glob("target-xnli-*"))  # no training for a target left without languages
    assert not (runs / "bn" / "scores.json").exists()  # a partial suite has no official score
