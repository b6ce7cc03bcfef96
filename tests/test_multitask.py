"""Multi-task intermediate training: the sampler's probabilities and draws, and a run over three heads."""
import json

import pytest
import torch
from conftest import shared

import xstilts
from data_scripts import demo
from chain.config import Config
from chain.train import sampling_probs, task_index


@pytest.mark.parametrize("overrides, want", [
    ({}, [0.1, 0.3, 0.6]),  # proportional to size
    ({"sampling_cap": 300}, [1 / 7, 3 / 7, 3 / 7]),  # p ∝ min(N, cap)
    ({"sampling_temperature": 2.0}, [x / sum([10, 300 ** .5, 600 ** .5]) for x in (10, 300 ** .5, 600 ** .5)]),
    ({"sampling": "uniform"}, [1 / 3] * 3),
])
def test_sampler_probabilities_and_empirical_frequencies(overrides, want):
    probs = sampling_probs([100, 300, 600], Config(**overrides))
    assert probs.tolist() == pytest.approx(want)
    draws = torch.bincount(torch.tensor([task_index(s, probs, seed=3) for s in range(20000)]), minlength=3)
    assert (draws / 20000.0).tolist() == pytest.approx(want, abs=0.012)
    assert [task_index(s, probs, 3) for s in range(50)] == [task_index(s, probs, 3) for s in range(50)]


def test_multitask_run_trains_every_task_and_reports_each_metric(tmp_path, tiny_dir):
    demo.make_data(tmp_path / "data", __import__("random").Random(0))
    for task, files in (("commonsenseqa", {"train_rand_split.jsonl": "dev_rand_split.jsonl",
                                           "dev_rand_split.jsonl": "dev_rand_split.jsonl"}),
                        ("squad_v2", {"train-v2.0.json": "dev-v2.0.head-Normans.json",
                                      "dev-v2.0.json": "dev-v2.0.head-Normans.json"})):
        (tmp_path / "data" / task).mkdir()
        for name, src in files.items():
            (tmp_path / "data" / task / name).symlink_to(shared(task, src))
    argv = ["intermediate", "--task", "mnli,commonsenseqa,squad_v2", "--model", str(tiny_dir), "--data-dir",
            str(tmp_path / "data"), "--runs-dir", str(tmp_path), "--name", "mt", "--max-train-examples", "48",
            "--eval-examples", "16", "--epochs", "1", "--batch-size", "8", "--max-len", "96", "--dtype", "fp32",
            "--log-every", "1", "--eval-every", "6", "--sampling", "uniform"]
    assert xstilts.main(argv) == 0
    results = json.loads((tmp_path / "mt" / "results.json").read_text())
    assert set(results) == {"mnli", "commonsenseqa", "squad_v2"}
    assert "accuracy" in results["mnli"]["en-dev"] and "f1" in results["squad_v2"]["en-dev"]
    log = [json.loads(line) for line in (tmp_path / "mt" / "metrics.jsonl").read_text().splitlines()]
    assert {r["task"] for r in log} == {"mnli", "commonsenseqa", "squad_v2"}  # every task was trained
    assert [r["step"] for r in log] == list(range(1, len(log) + 1))  # one pass over every task's windows
    assert len(log) > 18 and set(log[-1]["dev"]) == {"mnli", "commonsenseqa", "squad_v2"}
    for task in results:
        assert (tmp_path / "mt" / "heads" / f"{task}.safetensors").exists()


def test_mlm_masking_statistics(tok):
    """The dev set's one mask (jiant's rule, tests/test_jiant_rules.py): each ordinary token chosen with p 0.15; of
    those 80% <mask>, 10% random, 10% kept; specials never."""
    from tasks import mlm
    from conftest import tatoeba
    lines = tatoeba("deu") + tatoeba("jpn") + tatoeba("ara")
    feats = mlm.encode([dict(text=t) for t in lines], tok, 128)
    encs = tok(lines, max_len=128)
    chosen = masked = kept = rand = 0
    for f, e in zip(feats, encs):
        for i, (orig, new, lab, special) in enumerate(zip(e.ids, f["ids"], f["label"], e.special_tokens_mask)):
            if special:
                assert new == orig and lab == -100
            elif lab != -100:
                chosen += 1
                assert lab == orig
                masked += new == tok.mask_id
                kept += new == orig
                rand += new not in (orig, tok.mask_id)
    ordinary = sum(len(e.ids) - sum(e.special_tokens_mask) for e in encs)
    assert chosen / ordinary == pytest.approx(0.15, abs=0.01)
    assert (masked / chosen, rand / chosen, kept / chosen) == pytest.approx((0.8, 0.1, 0.1), abs=0.015)
    assert mlm.encode([dict(text=lines[0])], tok, 128) == mlm.encode([dict(text=lines[0])], tok, 128)  # static


def test_mlm_in_the_mix_trains_the_checkpoint_lm_head(tmp_path, tiny_dir):
    from conftest import tatoeba
    from safetensors.torch import load_file
    demo.make_data(tmp_path / "data", __import__("random").Random(0))
    (tmp_path / "data" / "mlm").mkdir()
    for split, langs in (("train", ("deu", "rus", "jpn")), ("dev", ("ara",))):
        (tmp_path / "data" / "mlm" / f"{split}.txt").write_text(
            "\n".join(line for lang in langs for line in tatoeba(lang, 40)) + "\n", encoding="utf-8")
    argv = ["intermediate", "--task", "mnli,mlm", "--model", str(tiny_dir), "--data-dir", str(tmp_path / "data"),
            "--runs-dir", str(tmp_path), "--name", "m", "--max-train-examples", "40", "--epochs", "1",
            "--batch-size", "8", "--max-len", "64", "--dtype", "fp32", "--lr", "1e-3", "--eval-every", "5"]
    assert xstilts.main(argv) == 0
    results = json.loads((tmp_path / "m" / "results.json").read_text())
    assert 0 <= results["mlm"]["en-dev"]["accuracy"] <= 100
    before, after = load_file(tiny_dir / "model.safetensors"), load_file(tmp_path / "m" / "encoder" / "model.safetensors")
    assert not torch.equal(before["lm_head.dense.weight"], after["lm_head.dense.weight"])  # the LM head was trained


def test_translated_intermediate_data_alone_or_mixed_with_english(tmp_path, tiny_dir, capsys):
    rng = __import__("random").Random(0)
    demo.make_data(tmp_path / "data", rng)
    mt = tmp_path / "data" / "mnli" / "XNLI-MT-1.0" / "multinli" / "multinli.train.de.tsv"
    mt.parent.mkdir(parents=True)
    rows = [demo.nli("de", rng) for _ in range(60)]  # XNLI-MT's layout and its "contradictory" spelling
    mt.write_text("premise\thypo\tlabel\n" + "".join(
        f"{a}\t{b}\t{'contradictory' if y == 'contradiction' else y}\n" for a, b, y in rows), encoding="utf-8")
    common = ["--model", str(tiny_dir), "--data-dir", str(tmp_path / "data"), "--runs-dir", str(tmp_path),
              "--max-train-examples", "32", "--epochs", "1", "--batch-size", "8", "--max-len", "64", "--dtype", "fp32"]
    assert xstilts.main(["intermediate", "--task", "mnli,mnli@de", "--name", "mix", *common]) == 0
    assert set(json.loads((tmp_path / "mix" / "results.json").read_text())) == {"mnli", "mnli@de"}
    assert xstilts.main(["intermediate", "--task", "mnli", "--lang", "de", "--name", "de", *common]) == 0
    assert xstilts.main(["intermediate", "--task", "mnli,mnli@de", "--share-heads", "mnli@de=mnli", "--name", "shared",
                         *common]) == 0
    assert [p.name for p in (tmp_path / "shared" / "heads").iterdir()] == ["mnli.safetensors"]  # one head for both
    assert set(json.loads((tmp_path / "shared" / "results.json").read_text())) == {"mnli", "mnli@de"}
    assert xstilts.main(["intermediate", "--task", "squad_v2@de", "--name", "x", *common]) == 2
    assert "squad_v2 has no 'de' training data" in capsys.readouterr().err
    assert xstilts.main(["intermediate", "--task", "mnli@hi", "--name", "y", *common]) == 2
    assert "multinli.train.hi.tsv: missing" in capsys.readouterr().err
