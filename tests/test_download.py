"""data_scripts/download.py against a local HTTP server (Range, If-Range, dropped connections) and crafted
archives: every row of the 2026-11-23 probe (shared/reports/bad-inputs-2026-11-23.md, sections 1-2) that was
not "ok" — truncated bodies, corrupt or complete .part files, bad records, full or read-only disks, damaged or
unofficial archives — ends complete and verified, or in one line naming the file, the member and the fix."""
import errno
import hashlib
import io
import json
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from data_scripts import download
from util import UserError

GOOD = b"".join(b'{"row": %d, "text": "a line of the official file"}\n' % i for i in range(4000))  # ~200 KB
H_GOOD = hashlib.sha256(GOOD).hexdigest()


class Handler(BaseHTTPRequestHandler):
    """GET /<mode>/<name>: range = HTTP Range + If-Range (ETag = the content's sha256), norange = always 200,
    drop = Content-Length sent, then half the body and the connection closed."""
    def do_GET(self):
        mode, _, name = self.path.lstrip("/").partition("/")
        data = self.server.files.get(name)
        self.server.seen.append((mode, self.headers.get("Range")))
        if data is None:
            return self.send_error(404)
        etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        if mode == "range" and rng and if_range in (None, etag):
            start = int(rng.split("=")[1].rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            start = 0
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(data[start:len(data) // 2] if mode == "drop" else data[start:])

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.files, srv.seen = {"f.jsonl": GOOD}, []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv.url = lambda mode, name="f.jsonl": f"http://127.0.0.1:{srv.server_port}/{mode}/{name}"
    yield srv
    srv.shutdown()


def paths(d):
    return d / "f.jsonl", d / "f.jsonl.part", d / "SHA256SUMS"


def one_line(e):
    assert "\n" not in str(e.value) and "Traceback" not in str(e.value)
    return str(e.value)


# ---- 2. downloads ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("want", [None, H_GOOD], ids=["unpinned", "pinned"])
def test_a_cut_connection_is_truncated_kept_unrecorded_and_resumed(server, tmp_path, want):
    """2.11, 2.12: the short body was accepted (unpinned, hash recorded) or deleted as 'corrupt' (pinned)."""
    dest, part, sums = paths(tmp_path)
    with pytest.raises(UserError) as e:
        download.fetch(server.url("drop"), dest, want)
    assert "truncated" in one_line(e) and "corrupt" not in str(e.value) and "rerun to resume" in str(e.value)
    assert not dest.exists() and part.read_bytes() == GOOD[:len(GOOD) // 2] and not sums.exists()
    server.seen.clear()
    assert download.fetch(server.url("range"), dest, want).read_bytes() == GOOD
    assert server.seen == [("range", f"bytes={len(GOOD) // 2}-")]  # resumed, not restarted
    assert not part.exists() and (sums.read_text() == f"{H_GOOD}  f.jsonl\n" if want is None else not sums.exists())


def test_a_cut_archive_download_says_truncated_and_the_retry_works(server, tmp_path):
    """2.13: a tarfile.ReadError traceback, a poisoned record, then the good file rejected forever."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("MNLI/train.tsv", GOOD)
        z.writestr("MNLI/dev_matched.tsv", GOOD[:100])
    server.files["MNLI.zip"] = buf.getvalue()
    members = {"MNLI/train.tsv": "train.tsv", "MNLI/dev_matched.tsv": "dev_matched.tsv"}
    argv = ["--data-dir", str(tmp_path)]
    with pytest.raises(SystemExit, match=r"^data_scripts\.mnli: .*MNLI\.zip: download truncated .*rerun to resume\.$"):
        download.run("mnli", [(server.url("drop", "MNLI.zip"), "MNLI.zip", None, members)], argv)
    assert not (tmp_path / "mnli" / "downloads" / "SHA256SUMS").exists()
    download.run("mnli", [(server.url("range", "MNLI.zip"), "MNLI.zip", None, members)], argv)
    assert (tmp_path / "mnli" / "train.tsv").read_bytes() == GOOD


@pytest.mark.parametrize("note", [None, "0" * 64 + ' "x"'], ids=["no-note", "note-of-other-bytes"])
def test_an_unverifiable_part_of_an_unpinned_file_is_not_appended_to(server, tmp_path, note):
    """2.6: 'X' * 100 KB + the rest was accepted and its hash recorded."""
    dest, part, sums = paths(tmp_path)
    part.write_bytes(b"X" * 100_000)
    if note:
        part.with_name("f.jsonl.part.sha256").write_text(note)
    assert download.fetch(server.url("range"), dest).read_bytes() == GOOD
    assert sums.read_text() == f"{H_GOOD}  f.jsonl\n"


def test_a_part_from_an_older_upstream_file_is_not_continued(server, tmp_path):
    """If-Range: the server changed the file since the .part was cut, so it answers with the whole new file."""
    dest, part, _ = paths(tmp_path)
    server.files["old.jsonl"] = b"old\n" * 60_000
    with pytest.raises(UserError, match="truncated"):
        download.fetch(server.url("drop", "old.jsonl"), dest)
    server.seen.clear()
    assert download.fetch(server.url("range"), dest).read_bytes() == GOOD
    assert server.seen[0][1] is not None  # a Range request was made, answered with the whole (new) file


@pytest.mark.parametrize("case", ["complete-unpinned", "complete-unverified", "longer-pinned", "longer-unpinned"])
def test_a_part_at_or_past_the_end_is_finished_or_restarted_never_stuck(server, tmp_path, case):
    """2.7, 2.9: HTTP 416 forever, reported as 'download failed … without network'."""
    dest, part, sums = paths(tmp_path)
    want = H_GOOD if case.endswith("-pinned") else None
    if case == "complete-unpinned":  # killed after the last byte: the note written as the bytes arrived vouches
        part.write_bytes(GOOD[:1000])
        part.with_name("f.jsonl.part.sha256").write_text(hashlib.sha256(GOOD[:1000]).hexdigest() + ' "x"')
        server.files["f1.jsonl"] = GOOD[:1000]  # the same file: the ETag matches, 416 with the whole size
        url = server.url("range", "f1.jsonl")
        expect = GOOD[:1000]
    else:
        part.write_bytes(GOOD if case == "complete-unverified" else GOOD + b"tail")
        url, expect = server.url("range"), GOOD
    server.seen.clear()
    assert download.fetch(url, dest, want).read_bytes() == expect
    assert not part.exists() and (want or sums.read_text() == f"{hashlib.sha256(expect).hexdigest()}  f.jsonl\n")
    if case == "complete-unpinned":
        assert server.seen == [("range", "bytes=1000-")]  # finished from the 416, no second download


def test_the_records_file_is_checked_and_a_wrong_record_can_be_cleared(server, tmp_path):
    """2.16: SHA256SUMS not UTF-8 was a UnicodeDecodeError traceback. A wrong record (left by an older version
    that recorded a cut download) now says how to clear it, keeps the complete download, and finishes."""
    dest, part, sums = paths(tmp_path)
    sums.write_bytes(b"\xff\xfe  f.jsonl\n")
    with pytest.raises(UserError, match=r"SHA256SUMS:1: not a `<sha256>  <file name>` line"):
        download.fetch(server.url("range"), dest)
    one_line(pytest.raises(UserError, download.fetch, server.url("range"), dest))
    sums.write_text(f"{'0' * 64}  f.jsonl\n")
    with pytest.raises(UserError) as e:
        download.fetch(server.url("range"), dest)
    assert "delete the line of f.jsonl there and rerun" in one_line(e) and str(sums) in str(e.value)
    assert not dest.exists() and part.read_bytes() == GOOD
    sums.write_text("")
    server.seen.clear()
    assert download.fetch(server.url("range"), dest).read_bytes() == GOOD
    assert server.seen == [("range", f"bytes={len(GOOD)}-")] and sums.read_text() == f"{H_GOOD}  f.jsonl\n"


def test_a_file_put_there_by_hand_is_recorded(server, tmp_path):
    """2.15: accepted with nothing recorded, so any later file was accepted too."""
    dest, _, sums = paths(tmp_path)
    dest.write_bytes(b"placed by hand\n")
    download.fetch(server.url("range"), dest)
    assert sums.read_text() == f"{hashlib.sha256(b'placed by hand' + bytes([10])).hexdigest()}  f.jsonl\n"


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "cannot write there")])
def test_download_disk_errors_name_the_folder_not_the_network(server, tmp_path, monkeypatch, code, words):
    """2.18, 2.19: 'download failed ([Errno 28] …); without network, fetch it elsewhere'."""
    real_open = open

    class Full:  # a .part whose writes fail as on a full disk
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *a):
            self.f.close()

        def write(self, b):
            raise OSError(code, os.strerror(code))

    def fake_open(path, mode="r", *a, **k):
        if str(path).endswith(".part") and "b" in mode and code == errno.EROFS:
            raise OSError(code, os.strerror(code), str(path))
        f = real_open(path, mode, *a, **k)
        return Full(f) if str(path).endswith(".part") and "b" in mode else f

    monkeypatch.setattr(download, "open", fake_open, raising=False)
    dest = tmp_path / "dl" / "f.jsonl"
    with pytest.raises(UserError) as e:
        download.fetch(server.url("range"), dest)
    assert one_line(e).startswith(f"{tmp_path / 'dl'}: {words}") and "network" not in str(e.value)


def test_http_errors_stay_one_line(server, tmp_path):
    with pytest.raises(UserError, match=r"download failed \(HTTP 404 .*put it at .*missing.json\.$"):
        download.fetch(server.url("range", "missing.json"), tmp_path / "missing.json")


# ---- 1. archives -------------------------------------------------------------------------------------------

def tar(path, *entries):
    with tarfile.open(path, "w:gz") as t:
        for name, data, kw in entries:
            info = tarfile.TarInfo(name)
            for k, v in kw.items():
                setattr(info, k, v)
            info.size = len(data or b"")
            t.addfile(info, io.BytesIO(data) if data else None)
    return path


def zipped(path, *entries):
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            z.writestr(name, data)
    return path


def tgz(kind, **kw):
    return lambda d: tar(d / "a.tgz", ("MNLI/train.tsv", None, dict(type=kind, **kw)))


def cut_tgz(d):
    whole = tar(d / "t.tgz", ("MNLI/train.tsv", os.urandom(300_000), {})).read_bytes()
    (d / "a.tgz").write_bytes(whole[:len(whole) // 2])
    return d / "a.tgz"


def random_bytes(d):
    (d / "a.zip").write_bytes(os.urandom(4096))
    return d / "a.zip"


ARCHIVES = {  # the report's row: (build(folder) → archive, words of the one line)
    "1.4 zip without the member": (lambda d: zipped(d / "a.zip", ("MNLI/other.tsv", b"x")),
                                   "member MNLI/train.tsv is missing"),
    "1.5 zip member is a folder": (lambda d: zipped(d / "a.zip", ("MNLI/train.tsv/", b"")),
                                   "member MNLI/train.tsv is a folder"),
    "1.9 random bytes": (random_bytes, "not a zip or tar archive"),
    "1.10 tar symlink out": (tgz(tarfile.SYMTYPE, linkname="/etc/passwd"),
                             "member MNLI/train.tsv is a link to /etc/passwd, which is not in the archive"),
    "1.10 tar hardlink out": (tgz(tarfile.LNKTYPE, linkname="../../etc/passwd"),
                              "member MNLI/train.tsv is a link to ../../etc/passwd"),
    "1.12 tar device": (tgz(tarfile.CHRTYPE, devmajor=1, devminor=3), "member MNLI/train.tsv is a device or fifo"),
    "1.12 tar folder": (tgz(tarfile.DIRTYPE), "member MNLI/train.tsv is a folder, not a file"),
    "1.15 truncated tgz": (cut_tgz, "ends early (truncated)"),
}


@pytest.mark.parametrize("case", ARCHIVES)
def test_a_bad_archive_is_one_line_naming_it_the_member_and_the_fix(tmp_path, case):
    build, words = ARCHIVES[case]
    archive = build(tmp_path)
    with pytest.raises(UserError) as e:
        download.extract(archive, {"MNLI/train.tsv": "train.tsv"}, tmp_path / "out")
    assert one_line(e).startswith(str(archive)) and words in str(e.value) and "delete it" in str(e.value)
    assert not (tmp_path / "out" / "train.tsv").exists()


def test_tar_readers_of_udpos_and_tydiqa_name_the_link(tmp_path):
    """1.16, 1.17: the raw KeyError text `"linkname 'ud/UD_German-GSD//etc/passwd' not found"`."""
    from data_scripts import udpos
    archive = tar(tmp_path / "ud.tgz", ("ud/UD_German-GSD/de_gsd-ud-test.conllu", None,
                                        dict(type=tarfile.SYMTYPE, linkname="/etc/passwd")))
    with pytest.raises(UserError, match=r"ud\.tgz: member ud/UD_German-GSD/de_gsd-ud-test\.conllu is a link to "
                                        r"/etc/passwd, which is not in the archive; .*delete it"):
        udpos.convert(archive, tmp_path / "udpos")
    archive = tar(tmp_path / "dev.tgz", ("tydiqa-goldp-v1.1-dev.json", b"not json", {}))
    with pytest.raises(UserError, match=r"dev\.tgz: tydiqa-goldp-v1\.1-dev\.json: cannot be read \(JSONDecodeError"):
        with download.open_archive(archive) as (names, open_member):  # as data_scripts/tydiqa.py reads it
            json.load(open_member("tydiqa-goldp-v1.1-dev.json"))


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "cannot write there")])
def test_extraction_disk_errors_name_the_folder(tmp_path, monkeypatch, code, words):
    """1.7 (ENOSPC traceback), 1.20 (read-only: the cleanup's error masked the original one)."""
    archive = zipped(tmp_path / "a.zip", ("MNLI/train.tsv", b"a\tb\n"))

    def fails(target, write):
        raise OSError(code, os.strerror(code), str(target.parent / ".train.tsv.tmp123"))

    monkeypatch.setattr(download, "atomic_write", fails)
    with pytest.raises(UserError) as e:
        download.extract(archive, {"MNLI/train.tsv": "train.tsv"}, tmp_path / "out")
    assert one_line(e).startswith(f"{tmp_path / 'out'}: {words}")


# ---- translated intermediate data (issue 10, item 11) ------------------------------------------------------

def test_mnli_and_squad_translations_land_where_the_tasks_read_them(server, tmp_path):
    """`make data TASK=mnli LANG=hi` (--lang hi): XNLI-MT-1.0's multinli.train.{lang}.tsv from one archive;
    squad_v1 --lang de: XTREME's translate-train file; both read back by the task files."""
    from data_scripts import mnli, squad_v1
    from tasks import mnli as mnli_task, squad_v1 as squad_task
    assert mnli.LANGS == [x for x in mnli_task.TRAIN_LANGS if x != "en"]
    assert squad_v1.LANGS == [x for x in squad_task.TRAIN_LANGS if x != "en"]
    assert {s[0] for s in mnli.TRANSLATIONS.values()} == {"https://dl.fbaipublicfiles.com/XNLI/XNLI-MT-1.0.zip"}
    assert squad_v1.TRANSLATIONS["de"][0] == ("https://storage.googleapis.com/xtreme_translations/SQuAD/"
                                              "translate-train/squad.translate.train.en-de.json")
    local = lambda sources: {k: (server.url("range", s[1].split("/")[-1]), *s[1:]) for k, s in sources.items()}
    data = tmp_path / "data"

    rows = "premise\thypo\tlabel\nUn chat.\tUn animal.\tentailment\nA\tB\tcontradictory\n"
    mt = zipped(tmp_path / "mt.zip", *[(mnli.MT.format(x), rows) for x in mnli.LANGS])
    glue = zipped(tmp_path / "m.zip", ("MNLI/train.tsv", "x"), ("MNLI/dev_matched.tsv", "x"))
    server.files.update({"XNLI-MT-1.0.zip": mt.read_bytes(), "MNLI.zip": glue.read_bytes()})
    server.seen.clear()
    download.run("mnli", [(server.url("range", "MNLI.zip"), *mnli.SOURCES[0][1:])],
                 ["--data-dir", str(data), "--lang", "hi,sw"], translations=local(mnli.TRANSLATIONS))
    assert len(server.seen) == 2  # MNLI.zip, then XNLI-MT-1.0.zip once for both languages
    examples, skipped = mnli_task.load(data, "train", "sw")
    assert [e["label"] for e in examples] == [0, 2] and not skipped
    assert not (data / "mnli" / mnli.MT.format("de")).exists()  # only the languages asked for

    qa = dict(id="1", question="Was?", answers=[dict(text="Paris", answer_start=0)])
    squad = json.dumps(dict(data=[dict(paragraphs=[dict(context="Paris ist.", qas=[qa])])])).encode()
    server.files.update(dict.fromkeys(["squad.translate.train.en-de.json", "train-v1.1.json", "dev-v1.1.json"], squad))
    sources = [(server.url("range", s[1]), *s[1:]) for s in squad_v1.SOURCES]
    download.run("squad_v1", sources, ["--data-dir", str(data), "--lang", "de"],
                 translations=local(squad_v1.TRANSLATIONS))
    assert [e["answers"] for e in squad_task.load(data, "train", "de")[0]] == [[(0, "Paris")]]
    with pytest.raises(SystemExit, match=r"^data_scripts\.squad_v1: no translated training data for xx; there is: ar"):
        download.run("squad_v1", sources, ["--data-dir", str(data), "--lang", "xx"], translations=squad_v1.TRANSLATIONS)
