"""Issue 11: where xstilts' files or recipes must match the reference pipelines (google-research/xtreme for
XTREME-R-only tasks, nyu-mll/jiant for the rest). Each expected value is worked out here from the rule, not
taken from xstilts."""
import json

import pytest
from conftest import shared
from test_every_task import XQUAD_R

import xstilts
from tasks.lib import submission


def xtreme_labels(english_lines):
    """XTREME's Tatoeba gold (utils_preprocess.py tatoeba_preprocess; jiant writes the same .labels file): the
    English lines sorted by their stripped text, each replaced by its original (LASER) line index."""
    stripped = [line.strip() for line in english_lines]
    return [i for _, i in sorted(zip(stripped, range(len(stripped))), key=lambda pair: pair[0])]


def test_tatoeba_submission_scores_against_xtreme_order_labels_as_eval_does(tmp_path, tiny_dir):
    data = tmp_path / "data"
    data.mkdir()
    (data / "tatoeba").symlink_to(shared("tatoeba", "v1"))
    langs = {"af": "afr", "de": "deu"}
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(tiny_dir), "--data-dir", str(data),
                         "--runs-dir", str(tmp_path / "runs"), "--name", "t", "--langs", ",".join(langs),
                         "--layer", "1", "--dtype", "fp32", "--eval-batch-size", "64"]) == 0
    run = tmp_path / "runs" / "t"
    gold_dir = tmp_path / "xtreme_labels" / "tatoeba"
    gold_dir.mkdir(parents=True)
    for lang, code in langs.items():
        eng = shared("tatoeba", "v1", f"tatoeba.{code}-eng.eng").read_text(encoding="utf-8").splitlines()
        gold = xtreme_labels(eng)
        gold_dir.joinpath(f"test-{lang}.tsv").write_text("".join(f"{i}\n" for i in gold))
        if lang == "af":  # the first rows of google-research/xtreme mock_test_data/labels/tatoeba/test-af.tsv
            assert gold[:5] == [308, 441, 713, 233, 757]
        assert (run / "labels" / "tatoeba" / f"test-{lang}.tsv").read_text() == "".join(f"{i}\n" for i in gold)
    scores = submission.score(run / "predictions", gold_dir.parent, "xtreme", ["tatoeba"], list(langs))
    mine = json.loads((run / "results.json").read_text())["tatoeba"]
    assert scores["tatoeba"]["accuracy"] == pytest.approx({lg: mine[lg]["accuracy"] for lg in langs}, abs=1e-9)
    assert scores["tatoeba"]["accuracy"]["af"] > 1.0  # a LASER-ordered file would score about 0.1 here


def test_lareqa_answer_at_a_sentence_boundary_without_a_space_is_in_the_next_sentence(tmp_path):
    from tasks import lareqa
    text = "巴黎很大。它是法国的首都。"  # zh: no space between sentences; break ends are exclusive
    para = dict(context=text, sentences=["巴黎很大。", "它是法国的首都。"], sentence_breaks=[[0, 5], [5, 13]],
                qas=[dict(id="q1", question="首都是什么？", answers=[dict(text="它", answer_start=5)]),
                     dict(id="q2", question="什么很大？", answers=[dict(text="巴黎", answer_start=0)])])
    (tmp_path / "zh.json").write_text(json.dumps(dict(data=[dict(title="t", paragraphs=[para])])), encoding="utf-8")
    questions, candidates, relevant = lareqa.read(tmp_path / "zh.json", "zh")
    assert candidates == [("zh_1_0", "巴黎很大。", text), ("zh_1_1", "它是法国的首都。", text)]
    assert relevant == {"q1": ["zh_1_1"], "q2": ["zh_1_0"]}  # start 5 is in [5, 13), not in [0, 5)
    assert XQUAD_R["data"][0]["paragraphs"][0]["sentence_breaks"][0][1] == 13  # the shared fixture: ends exclusive


def test_hellaswag_inputs_are_jiants_ctx_a_and_ctx_b_plus_ending(tmp_path):
    from tasks import hellaswag
    row = dict(ctx="A man is on a roof. He", ctx_a="A man is on a roof.", ctx_b="he", label=1,
               endings=["sings loudly.", "removes old shingles.", "flies away.", "eats a cake."])
    (tmp_path / "hellaswag").mkdir()
    (tmp_path / "hellaswag" / "hellaswag_val.jsonl").write_text(json.dumps(row) + "\n")
    (ex,), skipped = hellaswag.load(tmp_path, "dev")
    assert not skipped and ex["question"] == "A man is on a roof." and ex["label"] == 1
    assert ex["choices"] == ["he sings loudly.", "he removes old shingles.", "he flies away.", "he eats a cake."]


@pytest.mark.parametrize("task", ["xcopa", "siqa"])
def test_xcopa_recipe_is_xtreme_r_train_xcopa_sh(task):
    from chain.config import resolve
    from tasks import get_task
    cfg = resolve(task)  # both stages of XCOPA: SIQA, then COPA (its HPARAMS are xcopa's)
    assert (cfg.lr, cfg.batch_size, cfg.epochs, cfg.max_len) == (3e-5, 32, 5.0, 128)
    assert (cfg.warmup, cfg.weight_decay, cfg.adam_eps, cfg.clip) == (0.0, 0.0, 1e-8, 1.0)  # HF Trainer defaults
    assert get_task(task).SELECT == "last"  # load_best_model_at_end is off: the final state is kept


def test_copa_keeps_its_last_state_not_the_best_on_dev(tmp_path, tiny_dir):
    from safetensors import safe_open

    from test_every_task import FIXTURES
    for rel, text in FIXTURES["copa"].items():
        (tmp_path / "data" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / rel).write_text(text, encoding="utf-8")
    assert xstilts.main(["target", "--task", "copa", "--init", str(tiny_dir), "--data-dir", str(tmp_path / "data"),
                         "--runs-dir", str(tmp_path / "runs"), "--name", "c", "--dtype", "fp32", "--lr", "1e-12",
                         "--eval-every", "1", "--batch-size", "4", "--max-len", "64"]) == 0
    with safe_open(tmp_path / "runs" / "c" / "best.safetensors", "pt") as f:  # dev accuracy never changes:
        assert f.metadata()["step"] == "5"  # "best" would keep step 1 (the first), "last" keeps step 5 of 5
