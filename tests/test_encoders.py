"""XLM-R-family encoders from the hub (issue 21): each family's config shape and tokenizer kind, scaled down, loads,
trains a short chain, evaluates, exports, and reloads in transformers with the same hidden states; a folder with
only sentencepiece.bpe.model is converted (model/spm.py) to the ids of the real tokenizer.json and of transformers;
pickled weights are refused in one line; the hub download's file patterns. Run: pytest tests/test_encoders.py
(~35 s of CPU on 2 cores; the slow test, a chain on XLM-R's own .model, ~30 s more)."""
import json
import os
import struct

import pytest
import torch
import yaml
from conftest import TINY, hf_checkpoint, shared, tatoeba

import xstilts
from model.load import HUB_FILES, HUB_SKIP, load_model
from model.spm import convert
from model.tokenizer import Tokenizer
from util import UserError

SMALL = dict(TINY, hidden_size=16, num_attention_heads=2, intermediate_size=32)  # XLM-R base's shape, scaled down
FAMILIES = {  # family: (its config.json's distinguishing numbers, XLMRobertaForMaskedLM or bare, tokenizer file)
    "infoxlm": (SMALL, True, "sentencepiece.bpe.model"),  # microsoft/infoxlm-base ships no tokenizer.json
    "multilingual-e5": (SMALL, False, "tokenizer.json"),  # intfloat/multilingual-e5-base: XLMRobertaModel + pooler
    "xlm-v": (dict(SMALL, vocab_size=901_629, hidden_size=8), True, "tokenizer.json"),  # facebook/xlm-v-base
    "glot500": (dict(SMALL, vocab_size=401_145, hidden_size=8), True, "tokenizer.json"),  # cis-lmu/glot500-base
    "bge-m3": (dict(SMALL, max_position_embeddings=8194), False, "tokenizer.json"),  # BAAI/bge-m3: 8,192 tokens
    "infoxlm-real-spm": (SMALL, True, "real sentencepiece.bpe.model"),  # XLM-R's own .model: ~25 s of conversions
}
LANGS = ["deu", "vie", "ara", "heb", "rus", "ell", "hin", "tam", "tha", "kat", "kor", "jpn", "cmn", "amh", "tur"]
EDGE = ["", " ", "   ", "Hello world", "  two   spaces  inside ", " leading", "trailing ", "tab\there\nnew line",
        "Crème brûlée à l'œuvre, São Paulo", "e\u0301 combining", "ﬁ ligature, ＡＢＣ１２３ full width", "東京都の天気は晴れ",
        "汉字和标点。", "😀 👍🏽 🇩🇪 emoji", "zero\u200bwidth\u200d", "<mask> in text", "...." * 3, "ÅNGSTRÖM İstanbul"]


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory):
    """The real sentencepiece.bpe.model alone (linked, not copied), with the hand-written tokenizer_config.json
    transformers needs to pick XLMRobertaTokenizer."""
    d = tmp_path_factory.mktemp("spm")
    for f in ("sentencepiece.bpe.model", "tokenizer_config.json"):
        os.symlink(shared("tokenizer", "xlm-roberta", f), d / f)
    return d


def test_converted_sentencepiece_model_gives_the_ids_of_tokenizer_json_and_of_transformers(spm_dir):
    from tokenizers import Tokenizer as Rust
    for reference in ("transformers", "sentencepiece", "google.protobuf"):  # transformers reads a .model with both
        pytest.importorskip(reference)
    from transformers import XLMRobertaTokenizer
    a = [line for lang in LANGS for line in tatoeba(lang, 40)] + EDGE
    b = list(reversed(a))
    ours, real = Tokenizer(spm_dir), Tokenizer(shared("tokenizer", "xlm-roberta"))
    hf = XLMRobertaTokenizer.from_pretrained(spm_dir)  # transformers' own conversion of the .model file
    assert len(hf) == ours.vocab_size == real.vocab_size == 250_002
    got = [e.ids for e in ours(a)]
    assert got == [e.ids for e in real(a)] == hf(a)["input_ids"]
    assert [e.ids for e in ours(a, b)] == [e.ids for e in real(a, b)] == hf(a, b)["input_ids"]
    assert [e.offsets for e in ours(a, b)] == [e.offsets for e in real(a, b)]
    # the converted pipeline as written (Metaspace alone, spaces collapsed) against the real file's own pipeline
    mine, theirs = Rust.from_str(convert(spm_dir / "sentencepiece.bpe.model")), Rust.from_file(
        str(shared("tokenizer", "xlm-roberta", "tokenizer.json")))
    assert [e.ids for e in mine.encode_batch(a)] == [e.ids for e in theirs.encode_batch(a)]
    assert [e.ids for e in mine.encode_batch(list(zip(a, b)))] == [e.ids for e in theirs.encode_batch(list(zip(a, b)))]
    assert got[EDGE.index("Hello world") - len(EDGE)] == [0, 35378, 8999, 2]  # transformers' XLM-R test ids
    assert len({tuple(i) for i in got}) > 0.9 * len(got) and ours.mask_id == 250_001


def pb(num, value):
    """One protobuf field: bytes as length-delimited (wire 2), float as fixed32 (wire 5), int as varint (wire 0)."""
    def varint(n):
        return bytes([n & 0x7F | 0x80]) + varint(n >> 7) if n > 0x7F else bytes([n])
    if isinstance(value, bytes):
        return varint(num << 3 | 2) + varint(len(value)) + value
    if isinstance(value, float):
        return varint(num << 3 | 5) + struct.pack("<f", value)
    return varint(num << 3) + varint(value)


def spm_file(path, pieces, model_type=None):
    body = b"".join(pb(1, pb(1, p.encode()) + pb(2, s) + pb(3, 1)) for p, s in pieces)
    path.write_bytes(body + (pb(2, pb(3, model_type)) if model_type else b""))
    return path


def test_a_hand_written_sentencepiece_model_known_ids_and_bad_files(tmp_path):
    """The reader and the fairseq offset on a file written here: piece i → id i + 1, <mask> last, no charsmap."""
    pieces = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), ("\u2581a", -1.0), ("\u2581b", -2.0), ("b", -3.0)]
    tok = Tokenizer(spm_file(tmp_path / "sentencepiece.bpe.model", pieces, model_type=1))
    assert [e.ids for e in tok(["a b", "a  ab", "zz"])] == [[0, 4, 5, 2], [0, 4, 4, 6, 2], [0, 3, 2]]
    assert (tok.cls_id, tok.pad_id, tok.sep_id, tok.mask_id, tok.vocab_size) == (0, 1, 2, 7, 8)
    bad = {"truncated": (shared("tokenizer", "xlm-roberta", "sentencepiece.bpe.model").read_bytes()[:5000], ""),
           "bpe": (spm_file(tmp_path / "x", pieces, model_type=2).read_bytes(), "of type 2, not Unigram"),
           "order": (spm_file(tmp_path / "x", pieces[1:]).read_bytes(), "pieces 0-2 are"),
           "text": (b"not a model at all\n", "")}
    for name, (data, words) in bad.items():
        f = tmp_path / name / "sentencepiece.bpe.model"
        f.parent.mkdir()
        f.write_bytes(data)
        with pytest.raises(UserError, match=f"sentencepiece.bpe.model: .*{words}") as e:
            Tokenizer(f.parent)
        assert "\n" not in str(e.value), name


def test_pickled_weights_are_refused_in_one_line_naming_the_folder_why_and_the_fix(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.json").write_text(json.dumps(dict(TINY, hidden_act="gelu")))
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x02 a pickle")  # never opened
    with pytest.raises(UserError) as e:
        load_model(tmp_path)
    said = str(e.value)
    for words in (str(tmp_path), "only pytorch_model.bin", "never unpickles", "can run code when loaded",
                  "save_pretrained(DIR, safe_serialization=True)", "--revision refs/pr/N"):
        assert words in said, words
    (tmp_path / "x.txt").write_text("a sentence\n")
    assert xstilts.main(["embed", "--model", str(tmp_path), "--input", str(tmp_path / "x.txt"),
                         "--out", str(tmp_path / "v.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "never unpickles" in err
    import huggingface_hub  # a hub repo with pickles only: its snapshot holds no weights at all (HUB_FILES)
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "config.json").write_text(json.dumps(dict(TINY, hidden_act="gelu")))
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda *a, **k: str(hub))
    with pytest.raises(UserError, match=r"hub repo org/pickled-model \(files fetched: .*\): no \*\.safetensors "
                                        r"weights, and xstilts never unpickles"):
        load_model("org/pickled-model")


def test_the_hub_download_fetches_config_weights_and_tokenizer_files_at_the_top_level_only():
    """huggingface_hub's own pattern filter over a repo laid out as the families' are (sentence-transformers
    folders, ONNX exports, pickles beside the safetensors): the pickles and the subfolders stay on the hub."""
    from huggingface_hub.utils import filter_repo_objects
    repo = ["config.json", "model.safetensors", "pytorch_model.bin", "tokenizer.json", "sentencepiece.bpe.model",
            "tokenizer_config.json", "onnx/model.safetensors", "onnx/model.onnx", "1_Pooling/config.json",
            "colbert_linear.pt", "tf_model.h5", "model-00001-of-00002.safetensors", "model.safetensors.index.json"]
    assert sorted(filter_repo_objects(repo, allow_patterns=HUB_FILES, ignore_patterns=HUB_SKIP)) == [
        "config.json", "model-00001-of-00002.safetensors", "model.safetensors", "model.safetensors.index.json",
        "sentencepiece.bpe.model", "tokenizer.json"]


def hidden_states(folder, ids, mask):
    """Every layer's states from xstilts and from transformers' XLMRobertaModel on the same checkpoint folder."""
    from transformers import XLMRobertaModel
    ours = load_model(folder).eval()
    hf = XLMRobertaModel.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        return ours(ids, mask, all_hidden=True), hf(ids, attention_mask=mask, output_hidden_states=True).hidden_states


@pytest.mark.parametrize("family", [pytest.param(f, marks=[pytest.mark.slow] if "real" in f else [])
                                    for f in FAMILIES])
def test_family_loads_trains_evaluates_and_exports_to_transformers(family, demo_root, tmp_path, spm_dir):
    pytest.importorskip("transformers")
    arch, mlm, tokenizer = FAMILIES[family]
    model_dir = tmp_path / family
    hf_checkpoint(model_dir, arch, mlm=mlm)
    (model_dir / "tokenizer.json").unlink()  # the demo's small tokenizer (fast to load), or a .model alone
    demo = json.loads((demo_root / "model" / "tokenizer.json").read_text())["model"]["vocab"]
    if tokenizer == "tokenizer.json":
        os.symlink(demo_root / "model" / "tokenizer.json", model_dir / tokenizer)
    elif tokenizer == "sentencepiece.bpe.model":  # the demo's pieces as sentencepiece lays them out
        spm_file(model_dir / tokenizer, [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0), *map(tuple, demo[5:])])
    else:
        tokenizer = tokenizer.split()[1]
        os.symlink(spm_dir / tokenizer, model_dir / tokenizer)
    config = json.loads((model_dir / "config.json").read_text())
    model = load_model(model_dir)
    assert all(getattr(model.config, k) == config[k] for k in SMALL)  # every size read from config.json
    assert model.wte.weight.shape[0] == arch["vocab_size"]
    assert model.wpe.weight.shape[0] == arch["max_position_embeddings"]
    runs, data = tmp_path / "runs", str(demo_root / "data")
    common = ["--data-dir", data, "--runs-dir", str(runs), "--dtype", "fp32"]
    assert xstilts.main(["intermediate", "--task", "mnli", "--model", str(model_dir), "--name", "inter", "--lr", "1e-3",
                         "--batch-size", "8", "--max-len", "64", "--epochs", "1", "--max-train-examples", "16",
                         "--eval-examples", "16", *common]) == 0
    run = runs / "inter"
    assert json.loads((run / "stage.json").read_text())["init"] == str(model_dir)  # the encoder's name, downstream
    assert yaml.safe_load((run / "config.yaml").read_text())["model"] == str(model_dir)
    assert (run / "encoder" / tokenizer).exists()  # the next stage tokenizes as this one did
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(run), "--langs", "es", *common]) == 0
    assert 0 <= json.loads((runs / "eval-tatoeba-inter" / "results.json").read_text())["tatoeba"]["es"]["accuracy"]
    tok = Tokenizer(run / "encoder")
    assert tok.vocab_size == (250_002 if "real" in family else len(demo))
    long_len = 700 if arch["max_position_embeddings"] > 1000 else 128  # BGE-M3: positions past XLM-R's 514
    text = [" ".join(tatoeba("deu", 150)), tatoeba("cmn", 1)[0], EDGE[9]]
    ids, mask = tok.pad(tok(text, max_len=long_len))
    assert ids.shape[1] == long_len
    ours, ref = hidden_states(run / "encoder", ids, mask)
    assert len(ours) == len(ref) == arch["num_hidden_layers"] + 1
    real = mask.bool()
    for layer, (a, b) in enumerate(zip(ours, ref)):
        assert torch.allclose(a[real], b[real], atol=2e-5, rtol=1e-4), (family, layer, (a[real] - b[real]).abs().max())
    trained = load_model(run / "encoder").state_dict()
    assert any(not torch.equal(v, model.state_dict()[k]) for k, v in trained.items())  # the chain changed it
