"""Downloads for data_scripts/: resumable, verified and atomic; every problem is one line naming the file and the fix.

fetch(url, dest, sha256): the body goes to <dest>.part and is checked against its Content-Length (a short body
is "truncated": the .part stays and the next run resumes it with an HTTP Range request) and against the sha256,
pinned in the data script or, where no official hash is published, recorded in <dir>/SHA256SUMS by the first
complete download. Only a complete, verified file gets its final name or a record. A .part is resumed when the
final hash will check it (pinned), or when <dest>.part.sha256, written whenever a download stops short, proves it
holds the bytes this code received and the server still has the same file (If-Range); else it starts from zero.
extract(archive, members, out_dir): named members of a zip or tar, each written atomically, output names from
the data script (never from the archive), links followed only inside the archive.
"""
import argparse
import contextlib
import errno
import hashlib
import http.client
import lzma
import os
import re
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from util import UserError  # noqa: E402
from util import atomic_write  # noqa: E402

DISK = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}  # OSErrors that are the disk's
FIX = "it is damaged or not the official file: delete it (and its line in SHA256SUMS, if any) and rerun"


def disk_error(e, folder):
    """An OSError while writing under `folder` → one line: the disk is full, or the folder is not writable."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return UserError(f"{folder}: the disk is full ({e.strerror}); free space there or use another --data-dir, "
                         f"then rerun (finished files are kept).")
    return UserError(f"{folder}: cannot write there ({e.strerror or e}); use a writable --data-dir.")


def write_text(target, text):
    """target ← text (UTF-8), atomically; a full or read-only disk is one line naming the folder."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    except OSError as e:
        raise disk_error(e, target.parent) from None


def hashed(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h


def sha256(path):
    return hashed(path).hexdigest()


def recorded(dest):
    """{file name: sha256} from the `<sha256>  <name>` lines of SHA256SUMS beside dest, and that file's path."""
    sums, known = dest.parent / "SHA256SUMS", {}
    for n, line in enumerate(sums.read_bytes().splitlines() if sums.exists() else [], 1):
        digest, _, name = line.partition(b"  ")
        if line.strip() and not (re.fullmatch(rb"[0-9a-f]{64}", digest) and name):
            raise UserError(f"{sums}:{n}: not a `<sha256>  <file name>` line; fix or delete that line (the next "
                            f"complete download records it again).")
        if line.strip():
            known[name.decode("utf-8", "replace")] = digest.decode()
    return known, sums


def record(sums, digest, name):
    with open(sums, "a") as f:
        f.write(f"{digest}  {name}\n")


def fetch(url, dest, want=None):
    """url → dest, complete and verified against sha256 `want` or the recorded one (module docstring)."""
    dest = Path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return download(url, dest, want)
    except OSError as e:  # network errors are handled in download(): what arrives here is the disk or folder
        raise disk_error(e, dest.parent) from None


def download(url, dest, pinned):
    known, sums = recorded(dest)
    want = pinned or known.get(dest.name)
    if dest.exists() and want is None:  # put there by hand (as the offline message says): record what it is
        record(sums, sha256(dest), dest.name)
        print(f"{dest}: not downloaded here; its sha256 is now recorded in {sums} (if it is wrong, delete both)")
        return dest
    if dest.exists() and sha256(dest) == want:
        return dest
    part, note = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.sha256")
    h = hashed(part) if part.exists() else hashlib.sha256()
    if want and h.hexdigest() == want:  # killed after the last byte, before the rename
        return finish(url, dest, part, h.hexdigest(), pinned, want, sums)
    kept = note.read_text(errors="replace").split(" ", 1) if note.exists() else []
    validator = kept[1] if len(kept) == 2 and kept[0] == h.hexdigest() else ""  # ETag / Last-Modified
    have = part.stat().st_size if part.exists() and (pinned or validator) else 0  # else: unverifiable, restart
    headers = dict(Range=f"bytes={have}-", **({"If-Range": validator} if validator else {})) if have else {}
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:  # the .part is already whole (or longer than the file)
            if not pinned and e.headers.get("Content-Range", "").endswith(f"/{have}"):
                return finish(url, dest, part, h.hexdigest(), pinned, want, sums)
            return restart(url, dest, pinned, part, note)
        raise UserError(f"{url}: download failed (HTTP {e.code} {e.reason}); without network, fetch it elsewhere "
                        f"and put it at {dest}.") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        raise UserError(f"{url}: download failed ({getattr(e, 'reason', e)}); without network, fetch it elsewhere "
                        f"and put it at {dest}.") from None
    with response:
        size, total, resumed = 0, response.headers.get("Content-Length"), response.status == 206
        if resumed:  # the server continues the .part
            m = re.fullmatch(r"bytes (\d+)-\d+/(\d+)", response.headers.get("Content-Range", ""))
            if not m or int(m[1]) != have:
                return restart(url, dest, pinned, part, note)
            size, total = have, m[2]
        else:  # 200: the whole file (Range ignored, or the file changed upstream: If-Range)
            h = hashlib.sha256()
        validator, broken = response.headers.get("ETag") or response.headers.get("Last-Modified") or "", False
        try:
            with open(part, "ab" if size else "wb") as f:
                while block := read(response):
                    f.write(block)
                    h.update(block)
                    size += len(block)
            broken = block is None
        finally:  # what this .part holds, so that the next run can verify it and resume
            with contextlib.suppress(OSError):
                note.write_text(f"{h.hexdigest()} {validator}")
    if broken or (total and size != int(total)):
        raise UserError(f"{url}: download truncated ({size} of {total or '?'} bytes: the connection dropped); "
                        f"{part} is kept: rerun to resume.")
    if resumed and pinned and h.hexdigest() != pinned:  # the kept start was wrong: once more, from zero
        return restart(url, dest, pinned, part, note)
    return finish(url, dest, part, h.hexdigest(), pinned, want, sums)


def read(response):
    """The next block of the body; b"" at its end; None when the connection dropped."""
    try:
        return response.read(1 << 20)
    except (OSError, http.client.HTTPException):
        return None


def restart(url, dest, pinned, part, note):
    part.unlink(missing_ok=True)
    note.unlink(missing_ok=True)
    return download(url, dest, pinned)


def finish(url, dest, part, got, pinned, want, sums):
    note = part.with_name(part.name + ".sha256")
    if want and got != want:
        if pinned:
            part.unlink()
            note.unlink(missing_ok=True)
            raise UserError(f"{url}: sha256 {got} is not the expected {want} (pinned in the data script); the file "
                            f"changed or is corrupt: rerun to download it again, or get it elsewhere.")
        raise UserError(f"{url}: sha256 {got} is not the expected {want} recorded in {sums} at an earlier "
                        f"download; the file changed upstream or the record is wrong: delete the line of "
                        f"{dest.name} there and rerun ({part} is kept and complete).")
    os.replace(part, dest)
    note.unlink(missing_ok=True)
    if not want:
        record(sums, got, dest.name)
    return dest


@contextlib.contextmanager
def open_archive(archive):
    """with open_archive(path) as (names, open_member): a zip or tar's member names and open_member(name) → a
    binary file. A damaged or unofficial archive, in the with block too, is one UserError naming the member."""
    current = ""

    def open_member(name):
        nonlocal current
        current = name
        if name not in names:
            kind = "a folder, not a file" if name + "/" in names else "missing"
            raise UserError(f"{archive}: member {name} is {kind}; {FIX}.")
        if isinstance(ar, zipfile.ZipFile):
            return ar.open(name)  # a symlink entry gives its link text: nothing is followed
        m = ar.getmember(name)
        try:
            f = ar.extractfile(m)  # links resolve inside the archive only
        except KeyError:
            raise UserError(f"{archive}: member {name} is a link to {m.linkname}, which is not in the archive; "
                            f"{FIX}.") from None
        if f is None:
            raise UserError(f"{archive}: member {name} is a {'folder' if m.isdir() else 'device or fifo'}, not a "
                            f"file; {FIX}.")
        return f

    try:
        if zipfile.is_zipfile(archive):
            ar = zipfile.ZipFile(archive)
        elif tarfile.is_tarfile(archive):
            ar = tarfile.open(archive)
        else:
            raise UserError(f"{archive}: not a zip or tar archive; {FIX}.")
        names = set(ar.namelist() if isinstance(ar, zipfile.ZipFile) else ar.getnames())
        with ar:
            yield names, open_member
    except (OSError, EOFError, KeyError, TypeError, ValueError, tarfile.TarError, zipfile.BadZipFile, zlib.error,
            lzma.LZMAError) as e:
        if isinstance(e, UserError) or getattr(e, "errno", None) in DISK:
            raise  # already one line; or the disk, not the archive: the writer names its folder
        why = "ends early (truncated)" if isinstance(e, EOFError) else f"cannot be read ({type(e).__name__}: {e})"
        raise UserError(f"{archive}: {current + ': ' if current else ''}{why}; {FIX}.") from None


def extract(archive, members, out_dir):
    """Copy the named archive members {member: target} into out_dir, each written atomically."""
    with open_archive(archive) as (names, open_member):
        for name, target in members.items():
            if name not in names:  # the archive may wrap its files in a top folder: match the path's tail
                name = next((n for n in names if n.endswith("/" + name)), name)
            target = Path(out_dir) / target

            def copy(tmp):
                with open_member(name) as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)

            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(target, copy)
            except OSError as e:
                if e.errno not in DISK:
                    raise  # the archive's: open_archive names it
                raise disk_error(e, target.parent) from None


def run(task, sources, argv=None, doc="", translations=None):
    """The body of every data_scripts/<task>.py: sources = [(url, file name, sha256 or None, archive members
    {member: target} or None)] → <data-dir>/<task>/ under the official file names. translations = {lang:
    source}: --lang hi,sw (or all) fetches those too (machine-translated training data)."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--data-dir", default="data")
    if translations:
        ap.add_argument("--lang", default="", help=f"also translated training data: {','.join(translations)} or all")
    args = ap.parse_args(argv)
    langs = [x for x in getattr(args, "lang", "").split(",") if x not in ("", "en")]
    langs = list(translations) if langs == ["all"] else langs
    if set(langs) - set(translations or ()):
        sys.exit(f"data_scripts.{task}: no translated training data for {','.join(set(langs) - set(translations))}; "
                 f"there is: {' '.join(translations)} (or all).")
    out, merged = Path(args.data_dir) / task, {}
    for url, name, want, members in sources + [translations[x] for x in langs]:  # one archive, many languages
        merged.setdefault((url, name, want), {}).update(members or {})
    try:
        for (url, name, want), members in merged.items():
            got = fetch(url, out / ("downloads" if members else ".") / name, want)
            if members:
                extract(got, members, out)
    except UserError as e:
        sys.exit(f"data_scripts.{task}: {e}")
    more = f"; translated training data: --lang {','.join(translations)} or all" if translations and not langs else ""
    print(f"{task} ready in {out}{more}")
