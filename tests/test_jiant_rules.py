"""jiant's rules where xstilts follows the paper's code base (issue 11, items 9-11), each checked against the rule
as written in nyu-mll/jiant: MLM masks drawn afresh per batch (jiant/tasks/lib/templates/mlm.py), the multi-task
step budget over capped sizes (jiant/proj/main/scripts/configurator.py), early stopping on the training task's
dev set (jiant/scripts/benchmarks/xtreme/xtreme_runconfig_writer.py, jiant/proj/main/metarunner.py)."""
import json
import math
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

import xstilts
from chain import train
from tasks.lib.reading import load_split
from chain.config import Config
from data_scripts import demo
from util import UserError
from tasks import mlm, mnli, xnli


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The demo world (2,000-piece tokenizer with <mask>, 64-wide model) plus multilingual MLM text."""
    root = tmp_path_factory.mktemp("world")
    demo.make_world(root)
    rows = [line.split("\t") for line in (root / "data" / "xnli" / "XNLI-1.0" / "xnli.dev.tsv").read_text(
        encoding="utf-8").splitlines()[1:]]
    (root / "data" / "mlm").mkdir()
    for split, part in (("train", rows[:160]), ("dev", rows[-40:])):
        (root / "data" / "mlm" / f"{split}.txt").write_text("".join(f"{r[6]} {r[7]}\n" for r in part), encoding="utf-8")
    return root


def argv(root, runs, name, task, *extra):
    return ["intermediate", "--task", task, "--model", str(root / "model"), "--data-dir", str(root / "data"),
            "--runs-dir", str(runs), "--name", name, "--lr", "1e-3", "--batch-size", "16", "--max-len", "64",
            "--dtype", "fp32", "--log-every", "1", *extra]


TOY = SimpleNamespace(cls_id=0, pad_id=1, sep_id=2, mask_id=7, vocab_size=8, rust=SimpleNamespace(
    token_to_id=lambda t: 3))  # <s> <pad> </s> <unk>, four ordinary ids, <mask>


def test_mlm_masks_are_bernoulli_15_percent_80_10_10_with_random_ids_from_the_whole_vocabulary():
    ids = torch.randint(4, 7, (400, 50))  # ordinary tokens, framed by <s> ... </s> and some padding
    ids[:, 0], ids[:, -6], ids[:, -5:] = 0, 2, 1
    labels = torch.full_like(ids, -100)
    chosen = masked = kept = 0
    swapped = []  # random replacements that are neither <mask> nor the original
    for epoch in range(5):
        new, lab = mlm.remask(ids, labels, TOY, (1, epoch, 0))
        sel = lab != -100
        assert torch.equal(lab[sel], ids[sel]) and not sel[ids < 4].any()  # specials and padding never chosen
        assert torch.equal(new[~sel], ids[~sel])
        chosen, masked, kept = chosen + sel.sum(), masked + (new[sel] == 7).sum(), kept + (new[sel] == ids[sel]).sum()
        swapped += new[sel & (new != 7) & (new != ids)].tolist()
    ordinary = 5 * (ids >= 4).sum()
    assert chosen / ordinary == pytest.approx(0.15, abs=0.005)  # Bernoulli(0.15) per ordinary token
    other = chosen - masked - kept  # 80% <mask>, 10% kept, 10% any of the 8 ids (1/8 of those is <mask>, 1/8 kept)
    assert (masked / chosen, kept / chosen, other / chosen) == pytest.approx((0.8125, 0.1125, 0.075), abs=0.012)
    counts = torch.bincount(torch.tensor(swapped), minlength=8)
    assert (counts[[0, 1, 2, 3]] > 0).all()  # jiant: torch.randint(len(tokenizer)): specials included


def test_mlm_masks_differ_per_epoch_and_batch_and_are_reproducible(tok):
    from conftest import tatoeba
    feats = mlm.encode([dict(text=t) for t in tatoeba("deu", 32)], tok, 64)
    assert feats == mlm.encode([dict(text=t) for t in tatoeba("deu", 32)], tok, 64)  # the dev set: one fixed mask
    ids, _, labels = __import__("tasks.lib.batching", fromlist=["collate"]).collate(feats, range(32), tok.pad_id,
                                                                                    torch.device("cpu"))
    draws = {key: mlm.remask(ids, labels, tok, key) for key in [(1, 0, 0), (1, 1, 0), (1, 0, 1), (2, 0, 0)]}
    for a in draws:
        for b in draws:
            assert torch.equal(draws[a][1], draws[b][1]) == (a == b)  # other positions chosen
    again = mlm.remask(ids, labels, tok, (1, 1, 0))
    assert all(torch.equal(x, y) for x, y in zip(again, draws[1, 1, 0]))
    orig = torch.where(labels != -100, labels, ids)  # re-masking a re-masked batch starts from the same originals
    twice = mlm.remask(*draws[2, 0, 0], tok, (1, 1, 0))
    assert torch.equal(torch.where(twice[1] != -100, twice[1], twice[0]), orig)


def test_training_remasks_every_epoch_and_a_killed_run_resumes_bit_identically(world, tmp_path, monkeypatch, crash_at):
    seen = {}
    real = mlm.remask

    def spy(ids, labels, tok, key):
        out = real(ids, labels, tok, key)
        for o, m in zip(torch.where(labels != -100, labels, ids).tolist(), out[1].tolist()):
            seen.setdefault(tuple(o), {})[key[1]] = tuple(m)  # the example → its mask in each epoch
        return out

    monkeypatch.setattr(mlm, "remask", spy)
    extra = ["--epochs", "2", "--eval-every", "10", "--save-every", "5", "--keep-last", "3", "--sampling", "uniform",
             "--max-train-examples", "96"]
    assert xstilts.main(argv(world, tmp_path, "full", "mnli,mlm", *extra)) == 0
    twice = [masks for masks in seen.values() if len(masks) == 2]
    assert len(twice) > 50 and sum(m[0] != m[1] for m in twice) >= 0.9 * len(twice)  # a fresh mask each epoch
    crash_at(13)
    assert xstilts.main(argv(world, tmp_path, "killed", "mnli,mlm", *extra)) == 130
    crash_at(None)
    assert xstilts.main(["intermediate", "--task", "mnli,mlm", "--resume", "--name", "killed",
                         "--runs-dir", str(tmp_path)]) == 0
    for f in ("encoder/model.safetensors", "heads/mnli.safetensors", "best.safetensors"):
        a, b = load_file(tmp_path / "full" / f), load_file(tmp_path / "killed" / f)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), f
    logs = [[{k: v for k, v in json.loads(line).items() if k != "tokens_per_s"}
             for line in (tmp_path / n / "metrics.jsonl").read_text().splitlines()] for n in ("full", "killed")]
    assert logs[0] == logs[1]


def test_capped_budget_is_the_sum_of_epochs_times_capped_batches(world, tmp_path):
    sizes = {"mnli": 900, "sst2": 400, "qqp": 400}  # the demo's training sets
    cap, batch, epochs = 500, 16, 1
    assert xstilts.main(argv(world, tmp_path, "cap", ",".join(sizes), "--sampling-cap", str(cap), "--epochs",
                             str(epochs), "--eval-every", "1000", "--save-every", "1000")) == 0
    steps = [json.loads(line)["step"] for line in (tmp_path / "cap" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == sum(epochs * math.ceil(min(n, cap) / batch) for n in sizes.values()) == 82  # not 107


def test_selection_on_the_training_tasks_dev_by_default_and_the_targets_by_flag(world):
    cfg = Config(data_dir=str(world / "data"), eval_examples=100)
    train_task, _, dev = train.load_data(cfg, xnli)
    assert train_task is mnli and dev == load_split(cfg, mnli, "dev")[:100]  # MNLI dev-matched, first 100
    _, _, dev = train.load_data(Config(data_dir=str(world / "data"), eval_examples=100, select_on="target"), xnli)
    assert dev == load_split(cfg, xnli, "dev")[:100] != load_split(cfg, mnli, "dev")[:100]
    with pytest.raises(UserError, match="select_on='dev'"):
        Config(select_on="dev").check()
