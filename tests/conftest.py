"""Shared fixtures: paths to ../shared/data, the real XLM-R tokenizer, tiny random HF checkpoints."""
import shutil
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
TOKENIZER_JSON = SHARED / "tokenizer" / "xlm-roberta" / "tokenizer.json"
TINY = dict(vocab_size=250002, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
            max_position_embeddings=514, type_vocab_size=1, pad_token_id=1, layer_norm_eps=1e-5)
BASE = dict(TINY, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)


def shared(*parts):
    p = SHARED.joinpath(*parts)
    assert p.exists(), f"{p} is missing: the tests read real assets from ../shared/data (see its SOURCES.md)"
    return p


def tatoeba(lang, n=None):
    lines = shared("tatoeba", "v1", f"tatoeba.{lang}-eng.{lang}").read_text(encoding="utf-8").splitlines()
    return lines[:n]


def hf_checkpoint(folder, arch=TINY, mlm=True, seed=0, attn="eager"):
    """A random-weight transformers XLM-R saved with save_pretrained (+ the real tokenizer.json)."""
    from transformers import XLMRobertaConfig, XLMRobertaForMaskedLM, XLMRobertaModel
    torch.manual_seed(seed)
    cfg = XLMRobertaConfig(**arch, attn_implementation=attn)
    model = (XLMRobertaForMaskedLM if mlm else XLMRobertaModel)(cfg).eval()
    with torch.no_grad():  # HF zero-inits biases and unit-inits LayerNorms: randomise so the map is tested
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n or "layer_norm" in n:
                p.add_(torch.randn_like(p) * 0.05)
    model.save_pretrained(folder)
    shutil.copyfile(shared("tokenizer", "xlm-roberta", "tokenizer.json"), Path(folder) / "tokenizer.json")
    return model


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    hf_checkpoint(d)
    return d


@pytest.fixture(scope="session")
def tok():
    from model.tokenizer import Tokenizer
    return Tokenizer(shared("tokenizer", "xlm-roberta"))


@pytest.fixture(scope="session")
def pair_batch(tok):
    """A real padded batch: singles and pairs of very different lengths (Tatoeba de/ru/zh/ar + English)."""
    a = tatoeba("deu", 3) + [" ".join(tatoeba("rus", 12))] + tatoeba("cmn", 2)
    b = tatoeba("ara", 6)
    encs = tok(a[:3], b[:3], max_len=128) + tok(a[3:], max_len=128) + tok(["Hi"], max_len=128)
    return tok.pad(encs)


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    """The demo world (tiny model, official-format data), built once; tests write their runs elsewhere."""
    from data_scripts import demo
    root = tmp_path_factory.mktemp("demo")
    demo.main(root)
    return root


@pytest.fixture
def crash_at(monkeypatch):
    """Fault injection: crash_at(n) makes training stop as if killed right after optimiser step n (None: off),
    through fit's on_step hook."""
    import functools

    import chain.train
    real = chain.train.fit

    def arm(step):
        def on_step(done):
            if done == step:
                raise KeyboardInterrupt(f"simulated crash after step {done}")
        monkeypatch.setattr(chain.train, "fit", real if step is None else functools.partial(real, on_step=on_step))
    return arm
