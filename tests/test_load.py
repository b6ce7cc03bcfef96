"""model/load.py: HF ⇄ xstilts round trips, sharded files, the hub cache offline, and the strict name map."""
import json
import shutil

import pytest
import torch
from conftest import TINY, hf_checkpoint
from safetensors.torch import load_file, save_file

from util import UserError
from model.load import load_model, save_model


def test_save_load_and_transformers_load_round_trip(tmp_path):
    from transformers import XLMRobertaForMaskedLM, XLMRobertaModel
    hf = hf_checkpoint(tmp_path / "hf")
    ours = load_model(tmp_path / "hf")
    save_model(ours, tmp_path / "ours")
    assert (tmp_path / "ours" / "tokenizer.json").exists()  # the folder is self-contained
    again = load_model(tmp_path / "ours")
    for (n, a), (_, b) in zip(ours.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), n
    for cls in (XLMRobertaModel, XLMRobertaForMaskedLM):  # transformers reads our folder unchanged
        back = cls.from_pretrained(tmp_path / "ours")
        want = hf.state_dict() if cls is XLMRobertaForMaskedLM else hf.roberta.state_dict()
        got = back.state_dict()
        for n, t in want.items():
            if "pooler" not in n:  # xstilts keeps no pooler (IGNORED): transformers initialises its own
                assert torch.equal(got[n], t), n
    assert json.loads((tmp_path / "ours" / "config.json").read_text())["layer_norm_eps"] == 1e-5


def test_encoder_only_checkpoint_without_prefix_or_head(tmp_path):
    hf = hf_checkpoint(tmp_path, mlm=False)  # XLMRobertaModel: keys without "roberta.", with a pooler
    m = load_model(tmp_path)
    assert m.lm_head is None
    assert torch.equal(m.wte.weight, hf.embeddings.word_embeddings.weight)
    q, k, v = m.blocks[1].qkv.weight.chunk(3)
    assert torch.equal(k, hf.encoder.layer[1].attention.self.key.weight)
    with pytest.raises(UserError, match="no masked-LM head"):
        m.mlm_logits(torch.zeros(1, TINY["hidden_size"]))


def edit_checkpoint(folder, edit):
    path = folder / "model.safetensors"
    tensors = load_file(path)
    edit(tensors)
    save_file(tensors, path, metadata={"format": "pt"})


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.pop("roberta.encoder.layer.1.attention.self.key.bias"),
     r"'roberta.encoder.layer.1.attention.self.key.bias' is missing"),
    (lambda t: t.update({"roberta.encoder.layer.0.output.dense.weight": torch.zeros(32, 63)}),
     r"'roberta.encoder.layer.0.output.dense.weight' has shape \[32, 63\]"),
    (lambda t: t.update({"roberta.encoder.layer.1.attention.self.value.weight": torch.zeros(32, 31)}),
     r"'roberta.encoder.layer.1.attention.self.value.weight' has shape \[32, 31\], but config.json implies \[32, 32\]"),
    (lambda t: t.update({"embeddings.LayerNorm.bias": torch.zeros(32)}),
     r"'embeddings.LayerNorm.bias' is stored twice"),
    (lambda t: t.update({"roberta.encoder.layer.0.attention.self.rotary.weight": torch.zeros(3)}),
     r"unknown checkpoint key 'roberta.encoder.layer.0.attention.self.rotary.weight'"),
])
def test_bad_checkpoints_name_the_key(tmp_path, edit, message):
    hf_checkpoint(tmp_path)
    edit_checkpoint(tmp_path, edit)
    with pytest.raises(UserError, match=message):
        load_model(tmp_path)


def test_published_checkpoint_layout_with_ignored_keys(tmp_path):
    """The hub's XLM-R files carry a pooler, a position_ids buffer and the tied decoder copies: all ignored."""
    hf_checkpoint(tmp_path / "a")
    ref = load_model(tmp_path / "a")

    def published(t):
        t["roberta.pooler.dense.weight"], t["roberta.pooler.dense.bias"] = torch.randn(32, 32), torch.randn(32)
        t["roberta.embeddings.position_ids"] = torch.arange(514)[None]
        t["lm_head.decoder.weight"] = t["roberta.embeddings.word_embeddings.weight"].clone()
        t["lm_head.decoder.bias"] = t["lm_head.bias"].clone()

    edit_checkpoint(tmp_path / "a", published)
    m = load_model(tmp_path / "a")
    for (n, a), (_, b) in zip(ref.state_dict().items(), m.state_dict().items()):
        assert torch.equal(a, b), n


def test_stale_shard_index_never_wins_over_a_saved_model(tmp_path):
    hf_checkpoint(tmp_path)
    m = load_model(tmp_path)
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"x": "gone.safetensors"}}))
    assert torch.equal(load_model(tmp_path).wte.weight, m.wte.weight)  # transformers' order: the single file
    save_model(m, tmp_path)
    assert not (tmp_path / "model.safetensors.index.json").exists()


def test_unreadable_files_are_one_sentence(tmp_path):
    hf_checkpoint(tmp_path)
    (tmp_path / "model.safetensors").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:ab\n")
    with pytest.raises(UserError, match="cannot be read as safetensors.*git lfs pull"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(UserError, match="config.json: not valid JSON"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(TINY, hidden_size=None)))
    with pytest.raises(UserError, match="hidden_size=None, but it must be a positive integer"):
        load_model(tmp_path)


def test_folder_problems_are_one_sentence(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        load_model(tmp_path / "nope" / "x" / "y")
    (tmp_path / "config.json").write_text(json.dumps(dict(TINY, hidden_act="gelu")))
    with pytest.raises(UserError, match=r"no \*\.safetensors weights"):
        load_model(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(UserError, match=r"\(only pytorch_model.bin\), and xstilts never unpickles"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(dict(TINY, hidden_act="relu")))
    with pytest.raises(UserError, match="hidden_act='relu'"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 8}))
    with pytest.raises(UserError, match="missing key.*vocab_size"):
        load_model(tmp_path)


def test_sharded_and_half_precision_checkpoints(tmp_path):
    hf_checkpoint(tmp_path / "one")
    ref = load_model(tmp_path / "one")
    tensors = load_file(tmp_path / "one" / "model.safetensors")
    shard = tmp_path / "sharded"
    shutil.copytree(tmp_path / "one", shard)
    (shard / "model.safetensors").unlink()
    names = sorted(tensors)
    parts = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
    for f, keys in parts.items():
        save_file({k: tensors[k].half() for k in keys}, shard / f, metadata={"format": "pt"})
    (shard / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {k: f for f, keys in parts.items() for k in keys}}))
    m = load_model(shard)
    assert m.wte.weight.dtype == torch.float32
    for (n, a), (_, b) in zip(ref.state_dict().items(), m.state_dict().items()):
        assert torch.equal(a.half().float(), b), n


def test_hub_id_from_cache_offline(tmp_path, monkeypatch):
    """A hub id resolves through huggingface_hub's cache layout under HF_HOME with HF_HUB_OFFLINE=1."""
    from huggingface_hub import constants
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hf" / "hub" / "models--FacebookAI--xlm-roberta-tiny"
    hf_checkpoint(repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    m = load_model("FacebookAI/xlm-roberta-tiny")
    assert m.config.hidden_size == TINY["hidden_size"]
    with pytest.raises(UserError, match="FacebookAI/xlm-roberta-nope: no such local folder"):
        load_model("FacebookAI/xlm-roberta-nope")


def test_atomic_save_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    hf_checkpoint(tmp_path / "a")
    m = load_model(tmp_path / "a")
    save_model(m, tmp_path / "out")
    before = (tmp_path / "out" / "model.safetensors").read_bytes()
    import model.load as load

    def crash(tensors, path, metadata=None):
        open(path, "wb").write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(load, "save_file", crash)
    with torch.no_grad():
        m.wte.weight.zero_()
    with pytest.raises(KeyboardInterrupt):
        save_model(m, tmp_path / "out")
    assert (tmp_path / "out" / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["config.json", "model.safetensors",
                                                                  "tokenizer.json"]
