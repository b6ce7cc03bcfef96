"""`xstilts.py embed`: equals transformers' pooled hidden_states[N]; bad input gives one line and exit 2."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, hf_checkpoint, tatoeba

import xstilts


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("embed")
    hf = hf_checkpoint(d / "model", mlm=False)
    lines = tatoeba("deu", 60) + tatoeba("jpn", 40) + [""] + [" ".join(tatoeba("ell", 200))]  # one truncated
    (d / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return d, hf, lines


def hf_pooled(hf, lines, layer, how, max_len):
    from transformers import AutoTokenizer
    t = AutoTokenizer.from_pretrained(ROOT.parent / "shared/data/tokenizer/xlm-roberta")
    b = t(lines, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    with torch.no_grad():
        h = hf(**b, output_hidden_states=True).hidden_states[layer]
    m = b["attention_mask"].unsqueeze(-1).float()
    return (h[:, 0] if how == "cls" else (h * m).sum(1) / m.sum(1)).numpy()


@pytest.mark.parametrize("layer, how", [(1, "mean"), (2, "mean"), (0, "cls")])
def test_embed_equals_transformers_pooled_hidden_states(setup, layer, how):
    d, hf, lines = setup
    out = d / f"v{layer}{how}.npy"
    rc = xstilts.main(["embed", "--model", str(d / "model"), "--input", str(d / "in.txt"), "--out", str(out),
                       "--layer", str(layer), "--pool", how, "--max-len", "64", "--batch-size", "7"])
    assert rc == 0
    got = np.load(out)
    assert got.shape == (len(lines), 32) and got.dtype == np.float32
    assert np.abs(got - hf_pooled(hf, lines, layer, how, 64)).max() <= 1e-4


def test_embed_bf16_close_to_fp32(setup):
    d, hf, lines = setup
    for dtype in ("fp32", "bf16"):
        assert xstilts.main(["embed", "--model", str(d / "model"), "--input", str(d / "in.txt"),
                             "--out", str(d / f"{dtype}.npy"), "--dtype", dtype]) == 0
    a, b = np.load(d / "fp32.npy"), np.load(d / "bf16.npy")
    assert np.linalg.norm(a - b) / np.linalg.norm(a) <= 1e-2


def run_cli(*args):
    p = subprocess.run([sys.executable, str(ROOT / "xstilts.py"), "embed", *args], capture_output=True, text=True)
    return p.returncode, p.stderr.strip()


def test_bad_inputs_give_one_line_and_no_output(setup, tmp_path):
    d, _, _ = setup
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "latin1.txt").write_bytes("ok\nZ\xfcrich\n".encode("latin-1"))
    (tmp_path / "noweights").mkdir()
    (tmp_path / "noweights" / "config.json").write_text((d / "model" / "config.json").read_text())
    model, out = str(d / "model"), str(tmp_path / "o.npy")
    cases = [
        (["--model", model, "--input", str(tmp_path / "missing.txt"), "--out", out], "missing.txt: no such file"),
        (["--model", model, "--input", str(tmp_path / "empty.txt"), "--out", out], "the file is empty"),
        (["--model", model, "--input", str(tmp_path / "latin1.txt"), "--out", out], "line 2 is not UTF-8"),
        (["--model", model, "--input", str(d / "in.txt"), "--out", out, "--layer", "3"], "--layer 3: this model has"),
        (["--model", str(tmp_path / "noweights"), "--input", str(d / "in.txt"), "--out", out], "no *.safetensors"),
        (["--model", model, "--input", str(d / "in.txt"), "--out", out, "--max-len", "600"], "--max-len 600"),
        (["--model", model, "--input", str(d / "in.txt"), "--out", str(tmp_path)], "is a folder"),
    ]
    for args, message in cases:
        rc, err = run_cli(*args)
        assert rc == 2 and message in err and len(err.splitlines()) == 1, (args, err)
    assert not (tmp_path / "o.npy").exists()
