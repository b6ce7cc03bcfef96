"""Task files on real data (../shared/data) and on fixtures in the official formats: XNLI reader, Tatoeba
retrieval against a brute-force reference, malformed rows, `stats`, and the download helper."""
import json
import re
import threading
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import numpy as np
import pytest
from conftest import shared

import xstilts
from data_scripts import download
from util import UserError
from tasks import task_names, tatoeba, xnli
from tasks.lib import reading, retrieval
from chain.config import Config


@pytest.fixture(scope="module")
def real_data(tmp_path_factory):
    """A data dir whose files are symlinks into ../shared/data (read in place, never copied)."""
    d = tmp_path_factory.mktemp("data")
    (d / "xnli").mkdir()
    (d / "xnli" / "test-de.tsv").symlink_to(shared("xnli_de", "test.tsv"))
    (d / "tatoeba").symlink_to(shared("tatoeba", "v1"))
    return d


def test_xnli_reader_on_the_real_german_test_set(real_data):
    examples, skipped = xnli.load(real_data, "test", "de")
    assert len(examples) == 5010 and not skipped
    assert np.bincount([e["label"] for e in examples]).tolist() == [1670, 1670, 1670]


def test_tatoeba_accuracy_equals_brute_force_on_the_same_embeddings(real_data, tiny_dir):
    from model.load import load_model
    from model.tokenizer import Tokenizer
    model, tok = load_model(tiny_dir), Tokenizer(tiny_dir)
    cfg = Config(layer=1, dtype="fp32")
    for lang in ("de", "ja", "sw"):
        examples, _ = tatoeba.load(real_data, "test", lang)
        result, pred, gold = tatoeba.evaluate(model, tok, cfg, examples, model.wte.weight.device)
        en = retrieval.embed(model, tok, [e["english"] for e in examples], 1, "mean", 512, 64).astype(np.float64)
        fo = retrieval.embed(model, tok, [e["foreign"] for e in examples], 1, "mean", 512, 64).astype(np.float64)
        sim = (en / np.linalg.norm(en, axis=1, keepdims=True)) @ (fo / np.linalg.norm(fo, axis=1, keepdims=True)).T
        ref = sim.argmax(1)
        order = sorted(range(len(examples)), key=lambda i: examples[i]["english"].strip())  # XTREME's file order
        assert pred == ref[order].tolist() and gold == order, lang
        assert result["accuracy"] == 100.0 * (ref == np.arange(len(ref))).mean()


def test_nearest_is_chunked_and_exact():
    rng = np.random.default_rng(0)
    q, k = rng.normal(size=(1000, 16)).astype(np.float32), rng.normal(size=(3000, 16)).astype(np.float32)
    k[7] = k[3]  # duplicates: the first index wins, as in argmax
    q[5] = k[3]
    got = retrieval.nearest(q, k, budget=97 * 3000)  # 97 query rows per chunk
    qn, kn = q / np.linalg.norm(q, axis=1, keepdims=True), k / np.linalg.norm(k, axis=1, keepdims=True)
    assert got.tolist() == (qn @ kn.T).argmax(1).tolist() and got[5] == 3
    vals, idx = retrieval.topk(q, k, 5, budget=1000)  # one query row per chunk
    ref = np.argsort(-(qn @ kn.T), axis=1, kind="stable")[:, :5]
    assert (idx.numpy() == ref).mean() > 0.999 and np.allclose(vals.numpy(), np.take_along_axis(qn @ kn.T, ref, 1), atol=1e-5)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_rows_are_named_with_file_and_line(tmp_path, capsys):
    header = "index\tsentence1\tsentence2\tgold_label\n"
    write(tmp_path / "mnli" / "train.tsv", header + "0\tA cat.\tA pet.\tentailment\n1\tbroken row\n"
          + "2\tX.\tY.\tmaybe\n" + "".join(f"{i}\tA.\tB.\tneutral\n" for i in range(3, 300)))
    from tasks import mnli
    examples, skipped = mnli.load(tmp_path, "train")
    assert len(examples) == 298 and [w.split("/")[-1] for w, _ in skipped] == ["train.tsv:3", "train.tsv:4"]
    assert "not in" in skipped[1][1]
    with pytest.raises(UserError, match=r"2 of 300 rows are malformed, first at .*train.tsv:3 \(2 columns"):
        reading.check_skipped(examples, skipped, 0.005, "mnli train en")
    assert reading.check_skipped(examples, skipped, 0.01, "mnli train en") is examples  # under the tolerance: a note
    assert re.search(r"^note: mnli train en: skipped 2 malformed of 300 rows, first at .*train.tsv:3 \(2 columns",
                     capsys.readouterr().out)
    with pytest.raises(UserError, match=r"mnli/dev_matched.tsv: missing; run `make data TASK=mnli`"):
        mnli.load(tmp_path, "dev")


def test_official_xnli_layout_and_contradictory_label(tmp_path):
    cols = "language gold_label s1b s2b s1p s2p sentence1 sentence2 promptID pairID genre".split()
    rows = ["\t".join(cols), "de\tcontradictory\t-\t-\t-\t-\tEr kam.\tEr kam nicht.\t1\t1\tx",
            "fr\tentailment\t-\t-\t-\t-\tIl vint.\tIl vint.\t1\t1\tx"]
    write(tmp_path / "xnli" / "XNLI-1.0" / "xnli.test.tsv", "\n".join(rows) + "\n")
    examples, _ = xnli.load(tmp_path, "test", "de")
    assert examples == [dict(a="Er kam.", b="Er kam nicht.", label=2)]


def test_stats_json_on_real_and_bad_files(real_data, tiny_dir, capsys):
    assert xstilts.main(["stats", "--task", "xnli", "--split", "test", "--lang", "de", "--data-dir",
                         str(real_data), "--model", str(tiny_dir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["examples"] == 5010 and out["skipped"] == 0
    assert out["labels"] == {"entailment": 1670, "neutral": 1670, "contradiction": 1670}
    assert 20 < out["token_length_percentiles"]["50"] < out["token_length_percentiles"]["100"] < 400
    assert xstilts.main(["stats", "--task", "tatoeba", "--lang", "ja", "--data-dir", str(real_data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["examples"] == 1000


class RangeHandler(SimpleHTTPRequestHandler):
    def do_GET(self):  # enough of HTTP Range for the resume path
        data = (self.server.root / self.path.lstrip("/")).read_bytes()
        start = int(self.headers["Range"].split("=")[1].rstrip("-")) if self.headers.get("Range") else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        self.wfile.write(data[start:])

    def log_message(self, *a):
        pass


def test_download_resumes_verifies_and_fails_in_one_line(tmp_path):
    payload = bytes(range(256)) * 400
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "f.bin").write_bytes(payload)
    server = HTTPServer(("127.0.0.1", 0), partial(RangeHandler))
    server.root = tmp_path / "srv"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/f.bin"
    dest = tmp_path / "out" / "f.bin"
    dest.parent.mkdir()
    dest.with_name("f.bin.part").write_bytes(payload[:1000])  # an interrupted earlier download
    digest = download.sha256(tmp_path / "srv" / "f.bin")
    assert download.fetch(url, dest, digest).read_bytes() == payload
    assert not dest.with_name("f.bin.part").exists()
    with pytest.raises(UserError, match="sha256 .* is not the expected"):
        download.fetch(url, tmp_path / "out" / "g.bin", "0" * 64)
    assert not (tmp_path / "out" / "g.bin").exists()
    download.fetch(url, tmp_path / "out" / "h.bin")  # no official hash: the first download is recorded
    assert f"{digest}  h.bin" in (tmp_path / "out" / "SHA256SUMS").read_text()
    server.shutdown()
    with pytest.raises(UserError, match=r"download failed .*put it at .*x.bin"):
        download.fetch("http://127.0.0.1:9/x.bin", tmp_path / "out" / "x.bin")


def test_every_task_with_files_has_a_data_script_with_official_https_sources():
    import importlib
    from pathlib import Path
    scripts = {p.stem for p in (Path(download.__file__).parent).glob("*.py")} - {"__init__", "download", "demo"}
    for name in task_names():
        user_supplied = ("ccg", "mlm")  # CCGbank is LDC-licensed; MLM text is the user's own choice
        assert name in scripts or name in user_supplied, f"data_scripts/{name}.py is missing"
    for name in sorted(scripts - {"anli_plus", "panx", "udpos", "mewslix"}):  # these have their own main()
        sources = importlib.import_module(f"data_scripts.{name}").SOURCES
        for url, file_name, digest, members in sources:
            assert url.startswith("https://") and file_name and (digest is None or len(digest) == 64), name


def test_mewslix_script_names_the_missing_files_and_the_steps(tmp_path):
    from data_scripts import mewslix
    with pytest.raises(SystemExit, match=r"14 files missing in .*mewslix, e.g. candidate_set_entities.jsonl\.\nSteps"):
        mewslix.main(["--data-dir", str(tmp_path)])


def test_udpos_conversion_follows_xtreme_layout(tmp_path):
    """All treebanks of a language in sorted file order; multiword ranges and empty nodes skipped."""
    import io
    import tarfile

    from data_scripts import udpos as script
    files = {"ud-treebanks-v2.5/UD_German-HDT/de_hdt-ud-test.conllu": "1\tJa\tja\tINTJ\t_\t_\t_\t_\t_\t_\n\n",
             "ud-treebanks-v2.5/UD_German-GSD/de_gsd-ud-test.conllu":
                 "# text = zum\n1-2\tzum\t_\t_\t_\t_\t_\t_\t_\t_\n1\tzu\tzu\tADP\t_\t_\t_\t_\t_\t_\n"
                 "2\tdem\tder\tDET\t_\t_\t_\t_\t_\t_\n2.1\tx\tx\tX\t_\t_\t_\t_\t_\t_\n\n"}
    with tarfile.open(tmp_path / "ud.tgz", "w:gz") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    script.convert(tmp_path / "ud.tgz", tmp_path)
    assert (tmp_path / "test-de.tsv").read_text() == "zu\tADP\ndem\tDET\n\nJa\tINTJ\n\n"
    from tasks import udpos
    (tmp_path / "udpos").mkdir()
    (tmp_path / "udpos" / "test-de.tsv").write_text((tmp_path / "test-de.tsv").read_text())
    examples, skipped = udpos.load(tmp_path, "test", "de")
    assert [e["words"] for e in examples] == [["zu", "dem"], ["Ja"]] and not skipped


def test_tydiqa_dev_is_split_per_language_by_id(tmp_path):
    from data_scripts import tydiqa as script
    from tasks import tydiqa
    qa = lambda qid: {"id": qid, "question": "Q?", "answers": [{"text": "Paris", "answer_start": 0}]}
    dev = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Paris.", "qas": [
        qa("english-1"), qa("finnish-2"), qa("english-3")]}]}]}
    script.split_dev(dev, tmp_path / "tydiqa")
    en, _ = tydiqa.load(tmp_path, "test", "en")
    fi, _ = tydiqa.load(tmp_path, "test", "fi")
    assert [e["id"] for e in en] == ["english-1", "english-3"] and [e["id"] for e in fi] == ["finnish-2"]


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_extract_copies_members_atomically(tmp_path, kind):
    import io
    import tarfile
    import zipfile
    archive = tmp_path / f"a.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("X/train.tsv", "a\tb\n")
    else:
        with tarfile.open(archive, "w:gz") as t:
            info = tarfile.TarInfo("X/train.tsv")
            info.size = 4
            t.addfile(info, io.BytesIO(b"a\tb\n"))
    download.extract(archive, {"X/train.tsv": "out/train.tsv", "train.tsv": "top/train.tsv"}, tmp_path)
    assert (tmp_path / "out" / "train.tsv").read_text() == "a\tb\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["train.tsv"]  # no temp file left
    assert (tmp_path / "top" / "train.tsv").read_text() == "a\tb\n"  # found under the archive's top folder


def test_data_script_failure_is_one_line_not_a_traceback(tmp_path):
    with pytest.raises(SystemExit, match=r"^data_scripts.demo_task: http://127.0.0.1:9/x.zip: download failed .*"
                                         r"put it at .*x.zip\.$"):
        download.run("demo_task", [("http://127.0.0.1:9/x.zip", "x.zip", None, None)], ["--data-dir", str(tmp_path)])


def test_a_multi_megabyte_word_in_a_tagging_file_is_cut_not_gigabytes(tok):
    import tracemalloc

    from tasks import panx
    tracemalloc.start()
    segments = panx.encode([dict(words=["Berlin", "x" * 2_000_000, "liegt"], label=[1, 0, 0])], tok, 32)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    labels = [y for f in segments for y in f["label"] if y != -100]
    assert all(len(f["ids"]) <= 32 for f in segments) and labels == [1, 0, 0]  # every word scored once
    assert peak < 200e6, peak  # memory bounded
