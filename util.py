"""The ground floor: what every layer may import, importing nothing of the project.

  UserError      a problem with what the user gave (a path, a flag, a file): the CLI prints it as one line
  atomic_write   write a temp file, fsync, rename over the target: a reader sees the old file or the whole new one
  write_text / write_json   atomic_write for text
  rank / world / main / barrier / gather / total   torchrun's process group as the rest of the code sees it; one
                 process is rank 0 of a world of 1 (chain/dist.py joins the group and sums gradients)
Writers are not rank-aware: under torchrun the caller decides that rank 0 writes.
"""
import contextlib
import json
import os
import secrets
import sys
from pathlib import Path


class UserError(ValueError):
    """A problem with what the user gave us (a path, a flag, a file): the CLI prints it as one line."""


def atomic_write(path, write):
    """write(tmp_path) then rename over path: a reader sees the old file or the whole new one, never half.
    The temp name is random and created exclusively, so a link planted beside path is never followed."""
    tmp = Path(path).with_name(f".{Path(path).name}.tmp{secrets.token_hex(8)}")
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666))
        write(str(tmp))
        with open(os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW), "rb") as f:
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(OSError):  # the original error is the one to show
            tmp.unlink()
        if isinstance(e, OSError) and e.filename in (str(tmp), tmp):  # name the user's file, not our temp file
            raise OSError(e.errno, e.strerror, str(path)) from None
        raise


def write_text(path, text):
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def _group():
    """torch.distributed when a process group is up, else None; torch is imported only when it is loaded."""
    d = sys.modules.get("torch.distributed")
    return d if d is not None and d.is_available() and d.is_initialized() else None


def world():
    return _group().get_world_size() if _group() else 1


def rank():
    return _group().get_rank() if _group() else 0


def main():
    return rank() == 0


def barrier():
    if world() > 1:
        _group().barrier()


def gather(items):
    """Every rank's list of items → one list of all of them, on every rank."""
    if world() == 1:
        return items
    out = [None] * world()
    _group().all_gather_object(out, items)
    return [x for part in out for x in part]


def total(t):
    """Sum a tensor over ranks, in place (a no-op on one process)."""
    if world() > 1:
        _group().all_reduce(t)
    return t
