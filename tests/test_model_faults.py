"""Bad checkpoints and hostile inputs to model/ (issue 10; ../shared/reports/bad-inputs-2026-11-23.md rows 1.19,
1.20, 3.8-3.47, 5.1-5.9): each is one sentence naming the file, key and value, is refused before memory is
allocated, or costs bounded memory; atomic_write never follows a planted link."""
import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, TINY, shared, tatoeba
from safetensors.torch import load_file, save_file

from util import UserError
from model.load import load_model
from util import atomic_write
from model.tokenizer import CHARS_PER_TOKEN, Tokenizer


def ck(folder, tiny_dir, config=None, raw=None, weights=None):
    """A checkpoint folder beside tiny_dir's: its weights and tokenizer linked, config.json replaced."""
    folder.mkdir()
    for name in ("model.safetensors", "tokenizer.json"):
        (folder / name).symlink_to(tiny_dir / name)
    if weights is not None:
        (folder / "model.safetensors").unlink()
        save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    text = raw if raw is not None else json.dumps(dict(json.loads((tiny_dir / "config.json").read_text()),
                                                       **(config or {})))
    (folder / "config.json").write_text(text)
    return folder


# --- atomic_write (1.19, 1.20) -------------------------------------------------------------------------------

def test_atomic_write_never_follows_a_planted_temp_link(tmp_path):
    victim, out = tmp_path / "victim.txt", tmp_path / "data"
    victim.write_text("ORIGINAL")
    out.mkdir()
    planted = out / f".dev.tsv.tmp{os.getpid()}"  # the name the old code predictably used
    planted.symlink_to(victim)
    names = []

    def write(tmp):
        names.append(Path(tmp))
        Path(tmp).write_text("new")

    atomic_write(out / "dev.tsv", write)
    atomic_write(out / "dev.tsv", write)
    assert victim.read_text() == "ORIGINAL" and planted.is_symlink()
    assert not (out / "dev.tsv").is_symlink() and (out / "dev.tsv").read_text() == "new"
    assert names[0] != names[1] and all(n.parent == out and fnmatch.fnmatch(n.name, ".*.tmp*") for n in names)
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "dev.tsv").stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would have made it
    assert sorted(p.name for p in out.iterdir()) == [planted.name, "dev.tsv"]


def test_atomic_write_failure_shows_the_original_error(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def fails_half_way(tmp):
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, fails_half_way)
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"] and target.read_text() == "old"

    def leaves_what_cannot_be_unlinked(tmp):  # the cleanup fails too: its error must not replace the first
        Path(tmp).unlink(missing_ok=True)
        Path(tmp).mkdir()
        (Path(tmp) / "x").write_text("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, leaves_what_cannot_be_unlinked)
    assert target.read_text() == "old"


# --- config.json (3.8-3.16, 3.20, 3.22, 3.24, 3.26) ------------------------------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("hidden_size", 64.9, r"hidden_size=64.9, but it must be a positive integer"),
    ("hidden_size", True, r"hidden_size=True, but it must be a positive integer"),
    ("hidden_size", "abc", r"hidden_size='abc', but it must be a positive integer"),
    ("num_hidden_layers", -1, r"num_hidden_layers=-1, but it must be a positive integer"),
    ("type_vocab_size", 0, r"type_vocab_size=0, but it must be a positive integer"),
    ("num_attention_heads", 0, r"num_attention_heads=0, but it must be a positive integer"),
    ("num_attention_heads", 3, r"num_attention_heads=3, but it must be a divisor of hidden_size=32"),
    ("layer_norm_eps", -1.0, r"layer_norm_eps=-1.0, but it must be a finite number > 0"),
    ("layer_norm_eps", float("nan"), r"layer_norm_eps=nan, but it must be a finite number > 0"),
    ("layer_norm_eps", float("inf"), r"layer_norm_eps=inf, but it must be a finite number > 0"),
    ("hidden_dropout_prob", 5, r"hidden_dropout_prob=5, but it must be in \[0, 1\)"),
    ("attention_probs_dropout_prob", -0.1, r"attention_probs_dropout_prob=-0.1, but it must be in \[0, 1\)"),
    ("pad_token_id", 10 ** 6, r"pad_token_id=1000000, but it must be a token id below vocab_size"),
    ("max_position_embeddings", 2, r"max_position_embeddings=2, but it must be above pad_token_id \+ 1"),
    ("hidden_size", 10 ** 9, r"hidden_size=1000000000.* make 8.0e\+18 weights \(32,001,003,092 GB in fp32\)"),
    ("vocab_size", 10 ** 9, r"vocab_size=1000000000.* make 3.2e\+10 weights \(128 GB in fp32\)"),
    ("num_hidden_layers", 10 ** 6, r"num_hidden_layers=1000000.* make 8.2e\+09 weights"),
])
def test_bad_config_values_are_one_sentence_naming_key_and_value(tmp_path, tiny_dir, key, value, message):
    folder = ck(tmp_path / "c", tiny_dir, {key: value})
    with pytest.raises(UserError, match=rf"config.json: (.*, )?{message}.*; fix config.json.$"):
        load_model(folder)


def test_config_that_is_not_an_object(tmp_path, tiny_dir):
    with pytest.raises(UserError, match=r"config.json: holds a JSON list, not an object"):
        load_model(ck(tmp_path / "c", tiny_dir, raw="[1, 2, 3]"))


def test_config_that_disagrees_with_the_weights_allocates_nothing(tmp_path, tiny_dir, monkeypatch):
    """3.10/3.11: a size the weights do not have is found in the file headers, before to_empty."""
    def allocate(*a, **k):
        raise AssertionError("allocated before the shapes were checked")

    monkeypatch.setattr(torch.nn.Module, "to_empty", allocate)
    with pytest.raises(UserError, match=r"'roberta.embeddings.word_embeddings.weight' has shape \[250002, 32\], "
                                        r"but config.json implies \[100000000, 32\]"):
        load_model(ck(tmp_path / "v", tiny_dir, {"vocab_size": 10 ** 8}))  # 3.2B weights: under the cap
    with pytest.raises(UserError, match=r"'roberta.encoder.layer.2.attention.self.query.weight' is missing"):
        load_model(ck(tmp_path / "l", tiny_dir, {"num_hidden_layers": 100_000}))  # no 100,000 modules built


# --- weights (3.47) and shard indexes (3.38, 3.39, 3.41, 3.42) ------------------------------------------------

@pytest.mark.parametrize("key", ["roberta.embeddings.LayerNorm.weight",
                                 "roberta.encoder.layer.1.attention.self.value.weight"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, tiny_dir, key, bad):
    w = load_file(tiny_dir / "model.safetensors")
    w[key] = w[key].clone()
    w[key].view(-1)[3] = bad
    with pytest.raises(UserError, match=rf"tensor '{key}' holds NaN or inf values"):
        load_model(ck(tmp_path / "n", tiny_dir, weights=w))


@pytest.mark.parametrize("index, message", [
    ("{nope", r"not a shard index \(JSONDecodeError"),
    ("{}", r"not a shard index \(KeyError: 'weight_map'\)"),
    ('{"weight_map": ["a"]}', r"not a shard index \(AttributeError"),
    ("[1]", r"not a shard index \(TypeError"),
    ("ABSOLUTE", r"weight_map names '/.*/outside/elsewhere.safetensors'; shards must be files inside"),
    ("../outside/elsewhere.safetensors", r"weight_map names '../outside/elsewhere.safetensors'; shards must be"),
    ("sub/../../outside/elsewhere.safetensors", r"weight_map names 'sub/../../outside/"),
])
def test_shard_index_is_read_safely(tmp_path, tiny_dir, index, message):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "elsewhere.safetensors").symlink_to(tiny_dir / "model.safetensors")
    folder = ck(tmp_path / "s", tiny_dir)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00001.safetensors")
    if not index.startswith(("{", "[")):
        shard = str(tmp_path / "outside" / "elsewhere.safetensors") if index == "ABSOLUTE" else index
        keys = load_file(tiny_dir / "model.safetensors").keys()
        index = json.dumps({"weight_map": {k: shard for k in keys}})
    (folder / "model.safetensors.index.json").write_text(index)
    with pytest.raises(UserError, match=rf"model.safetensors.index.json: {message}"):
        load_model(folder)


def test_shard_index_inside_the_folder_still_loads(tmp_path, tiny_dir):
    folder = ck(tmp_path / "s", tiny_dir)
    (folder / "model.safetensors").rename(folder / "model-00001-of-00001.safetensors")  # a link, as in the hub cache
    keys = load_file(tiny_dir / "model.safetensors").keys()
    (folder / "model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {k: "model-00001-of-00001.safetensors" for k in keys}}))
    assert load_model(folder).config.hidden_size == TINY["hidden_size"]


# --- tokenizer (3.29, 3.30) ----------------------------------------------------------------------------------

def test_tokenizer_without_pad_is_one_sentence(tmp_path):
    spec = json.loads(shared("tokenizer", "xlm-roberta", "tokenizer.json").read_text(encoding="utf-8"))
    spec["model"]["vocab"][1][0] = "<pdd>"
    spec["added_tokens"] = [a for a in spec["added_tokens"] if a["content"] != "<pad>"]
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(UserError, match=r"tokenizer.json: has no <pad> token; not an XLM-R tokenizer\."):
        Tokenizer(tmp_path)


def test_tokenizer_larger_than_the_models_vocabulary(tmp_path, tiny_dir):
    folder = ck(tmp_path / "c", tiny_dir, {"vocab_size": 100})
    with pytest.raises(UserError, match=r"tokenizer.json: 250002 tokens, but its config.json has vocab_size=100"):
        Tokenizer(folder)
    assert Tokenizer(tiny_dir).vocab_size == 250002  # the checkpoint's own pair passes


# --- tokenizer memory (5.1-5.9) ------------------------------------------------------------------------------

def reference(tok, a, b=None, max_len=32, words=False):
    """The uncut encoding: what the Rust tokenizer gives for the whole text (truncation set by tok)."""
    tok([""], max_len=max_len)
    return tok.rust.encode_batch(list(a) if b is None else list(zip(a, b)), is_pretokenized=words)


def same(x, y):
    return (x.ids, x.offsets, x.word_ids, x.sequence_ids) == (y.ids, y.offsets, y.word_ids, y.sequence_ids)


@pytest.mark.parametrize("max_len", [8, 31, 64])
def test_cutting_long_texts_first_changes_no_result(tok, max_len):
    n = max_len * CHARS_PER_TOKEN
    texts = []
    for lang in ("deu", "cmn", "ara"):
        text = ("" if lang == "cmn" else " ").join(tatoeba(lang))
        for k in (4 * max_len + 1, 12 * max_len, n - 1, n + 1, 3 * n):  # all past 4 * max_len: cut to words
            texts.append(text[k % 97:][:k])
    short = ["Ein Satz.", "短句。", "", "Eine Frage?", "Ja.", "好"]
    short = (short * 3)[:len(texts)]
    cases = [(texts, None), (texts, short), (short, texts), (texts, texts[::-1])]
    for a, b in cases:  # (a pair with both sides past 128 * 64 characters and an odd max_len: see Tokenizer.cut)
        assert all(same(x, y) for x, y in zip(tok(a, b, max_len=max_len), reference(tok, a, b, max_len)))
    words = [t.split() for t in texts[:8]] + [["x" * 30_000], ["y"] * 3 * n]
    got, want = tok(words, max_len=max_len, words=True), reference(tok, words, None, max_len, words=True)
    assert all(same(x, y) for x, y in zip(got[:8] + got[-1:], want[:8] + want[-1:]))
    assert len(got[-2].ids) == max_len  # one word past the cut is segmented as cut (Tokenizer.cut)


def test_cut_keeps_what_a_long_line_needs(tok):
    """Tokens of the kept window come from whole words; a word runs on to its end, but not past 2 * max_len."""
    line = "Das ist ein Satz. " * 1000
    cut, _ = tok.cut([line, "kurz", "x" * 10_000], None, 16)
    assert line.startswith(cut[0]) and cut[0][-1] != " " and 16 <= len(tok([cut[0]], max_len=10 ** 4)[0].ids) < 24
    assert cut[1] == "kurz" and len(tok([cut[2]], max_len=10 ** 4)[0].ids) == 2 + 32


PROBE = """
import json, resource, sys
sys.path.insert(0, {root!r})
from model.tokenizer import Tokenizer
tok = Tokenizer({tok!r})
line = ({text!r} * 10 ** 6)[:5 * 10 ** 6]
short = [["w"] * 10 ** 6, ["x" * 5 * 10 ** 6]]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
got = [tok([line], max_len=32)[0].ids, tok([line], ["a short hypothesis"], max_len=32)[0].ids,
       tok(["short premise"], [line], max_len=32)[0].ids, tok([line], [line[::-1]], max_len=32)[0].ids]
got += [e.ids for e in tok(short, max_len=32, words=True)]
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024, json.dumps(got))
"""


def test_a_5_mb_line_costs_bounded_memory(tok):
    """5.9: a 4.8 MB premise at --max-len 32 took 10.7 GB (every overflow window kept); now a few MB."""
    text = "Das ist ein Satz, der immer weiter geht. "
    code = PROBE.format(root=str(ROOT), tok=str(shared("tokenizer", "xlm-roberta")), text=text)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    mb, got = out.stdout.split(" ", 1)
    assert int(mb) < 100, f"{mb} MB for 5 MB of text"
    prefix = (text * 100)[:2000]  # the first window of the whole line is that of any long prefix
    want = [reference(tok, [prefix])[0].ids]
    want += [e.ids for e in reference(tok, [prefix, "short premise", prefix],
                                      ["a short hypothesis", prefix, (text * 10 ** 6)[:5 * 10 ** 6][::-1][:2000]])]
    want += [e.ids for e in reference(tok, [["w"] * 100, tok.cut([["x" * 10 ** 5]], None, 32, True)[0][0]],
                                      words=True)]  # the long word as cut
    assert json.loads(got) == want


def test_truncation_is_set_again_after_an_error(tok):
    with pytest.raises(TypeError):
        tok([b"bytes, not a string " * 100], max_len=8)
    assert len(tok(["ein Satz " * 100], max_len=8)[0].ids) == 8
