"""Speed paths (issue 12) change no result: shape bucketing (every route), gradient checkpointing, torch.compile
with CUDA graphs (GPU only); and the whole-loop benchmark runs (slow)."""
import json
import subprocess
import sys

import pytest
import torch

import xstilts
from chain import train
from conftest import ROOT, TINY, hf_checkpoint, tatoeba
from model.load import load_model
from tasks.lib import batching
from tasks.lib.heads import Classify, Tag

CPU = torch.device("cpu")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_bucket_rounds_up_but_never_below_the_longest_row_nor_past_the_cap():
    feats = [dict(ids=[0] * n, label=[0] * n) for n in (20, 50, 70)]

    def T(rows, bucket, cap=None):
        ids, mask, labels = batching.collate(feats, rows, 1, CPU, bucket, cap)
        assert ids.shape == mask.shape == labels.shape and (labels[mask == 0] == -100).all()
        return ids.shape[1]

    assert (T([0], 0), T([0], 64), T([0, 1], 64), T([2], 64)) == (20, 64, 64, 128)
    assert (T([1], 64, cap=60), T([2], 64, cap=60)) == (60, 70)
    assert T([0], -1) == 20  # -1: off on CPU (64 on CUDA)


def batches(tok):
    """A classification and a tagging (per-token labels, -100 on the specials) set of real German sentences."""
    encs = tok(tatoeba("deu", 6), max_len=64)
    g = torch.Generator().manual_seed(0)
    tags = [[-100, *torch.randint(0, 5, (len(e.ids) - 2,), generator=g).tolist(), -100] for e in encs]
    return ([dict(ids=e.ids, label=i % 3) for i, e in enumerate(encs)], Classify(32, 3)), \
        ([dict(ids=e.ids, label=t) for e, t in zip(encs, tags)], Tag(32, 5))


@pytest.mark.parametrize("route", ["unpadded", "sdpa", "reference"])
def test_bucketing_changes_no_loss_and_no_prediction(tiny_dir, tok, route):
    model = load_model(tiny_dir).eval()
    model.attention = route
    torch.manual_seed(0)
    for feats, head in batches(tok):
        head.eval()
        got = {}
        for bucket in (0, 64):
            ids, mask, labels = batching.collate(feats, range(len(feats)), tok.pad_id, CPU, bucket, 512)
            with torch.no_grad():
                loss = head.loss(head(model(ids, mask)), labels)
            got[bucket] = ids.shape[1], loss, train.predict(model, head, feats, tok.pad_id, 4, "fp32", CPU, bucket, 512)
        assert got[0][0] < 64 == got[64][0]  # the bucket did pad
        torch.testing.assert_close(got[64][1], got[0][1], atol=1e-5, rtol=0)
        for a, b in zip(got[64][2], got[0][2]):
            assert torch.equal(torch.as_tensor(a), torch.as_tensor(b))


@pytest.mark.parametrize("route", ["unpadded", "sdpa"])
def test_gradient_checkpointing_recomputes_each_layer_with_the_same_dropout(tiny_dir, pair_batch, route):
    model = load_model(tiny_dir).train()  # dropout on
    model.attention = route
    calls = []
    model.blocks[0].register_forward_pre_hook(lambda *_: calls.append(1))  # (recomputation stops early)
    ids, mask = pair_batch
    grads = []
    for checkpoint, seed in ((False, 0), (True, 0), (True, 1)):
        model.checkpoint = checkpoint
        torch.manual_seed(seed)
        h = model(ids, mask)  # (B, T, H)
        ((h * torch.linspace(-1, 1, h.shape[-1])).sum(-1) * mask).sum().backward()
        grads.append({n: p.grad for n, p in model.named_parameters() if p.grad is not None})
        model.zero_grad(set_to_none=True)
    assert len(calls) == 1 + 2 + 2  # checkpointing runs each layer again in backward
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for n in grads[0]:
        torch.testing.assert_close(grads[1][n], grads[0][n], atol=1e-6, rtol=1e-5)
    assert not torch.allclose(grads[2]["blocks.0.qkv.weight"], grads[0]["blocks.0.qkv.weight"])  # dropout is live


def losses(run):
    return [(r["loss"], r.get("dev")) for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())]


def intermediate(model, data, runs, name, *extra):
    assert xstilts.main(["intermediate", "--task", "mnli", "--model", str(model), "--data-dir", str(data),
                         "--runs-dir", str(runs), "--name", name, "--lr", "1e-3", "--batch-size", "16",
                         "--max-len", "64", "--max-steps", "3", "--log-every", "1", "--eval-every", "3",
                         "--eval-examples", "32", *extra]) == 0
    return losses(runs / name)


def test_fit_with_buckets_or_checkpointing_logs_the_same_losses(demo_root, tmp_path, monkeypatch):
    lengths, collate = [], batching.collate

    def spy(*a, **k):
        ids, mask, labels = collate(*a, **k)
        lengths.append(ids.shape[1])
        return ids, mask, labels

    monkeypatch.setattr(batching, "collate", spy)
    args = demo_root / "model", demo_root / "data", tmp_path
    plain = intermediate(*args, "plain", "--dtype", "fp32", "--bucket", "0")
    assert len(plain) == 3 and plain[-1][1]["accuracy"] >= 0 and set(lengths) != {64}
    for name, flags in (("bucket", ["--bucket", "64"]), ("ckpt", ["--grad-checkpoint", "1"])):
        lengths.clear()
        other = intermediate(*args, name, "--dtype", "fp32", *flags)
        assert (set(lengths) == {64}) == (name == "bucket")  # training and evaluation batches (max_len 64)
        assert [d for _, d in other] == [d for _, d in plain]
        assert max(abs(a - b) for (a, _), (b, _) in zip(other, plain)) <= 1e-5, name


@cuda
def test_cuda_graphs_with_buckets_train_like_eager(demo_root, tmp_path):
    model = tmp_path / "model"  # no dropout in the encoder: compiled and eager dropout draw different masks
    hf_checkpoint(model, arch=dict(TINY, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    runs = []
    for name, mode in (("eager", "off"), ("graphs", "reduce-overhead")):
        runs.append(intermediate(model, demo_root / "data", tmp_path, name, "--dtype", "bf16", "--bucket", "64",
                                 "--compile", mode, "--max-steps", "5", "--device", "cuda"))
    assert len(runs[0]) == 5
    # bf16: 1e-2 relative per forward (STYLE), and five updates on top of it
    torch.testing.assert_close([a for a, _ in runs[1]], [a for a, _ in runs[0]], rtol=2e-2, atol=1e-3)


@pytest.mark.slow
def test_bench_loop_mode_runs_on_cpu():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench.py"), "--loop"], capture_output=True,
                         text=True, timeout=180, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [line.split("|") for line in out.stdout.splitlines() if line.startswith("| xstilts")]
    assert len(rows) == 1 and float(rows[0][4].replace(",", "")) > 0, out.stdout  # real tok/s
    assert "| transformers Trainer |" in out.stdout or "transformers Trainer: skipped" in out.stdout, out.stdout


def test_bench_shapes_filter_picks_the_rows_of_the_named_shapes_only():
    from bench.bench import fixed_rows
    base = [("base", t, d) for t in (False, True) for d in ("fp32", "bf16")]
    large = [("large", False, "bf16"), ("large", True, "bf16")]
    assert fixed_rows(None, cuda=False) == base and fixed_rows(None, cuda=True) == base + large  # as before
    assert fixed_rows("large", cuda=True) == fixed_rows("large", cuda=False) == large  # issue 22's GPU check
    assert fixed_rows("tiny,base", cuda=False) == [("tiny", False, "fp32"), ("tiny", True, "fp32"), *base]
    with pytest.raises(SystemExit, match="unknown shape"):
        fixed_rows("huge", cuda=True)
