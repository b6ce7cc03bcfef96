"""Runs survive what happens to real runs: SIGKILL at random points and inside every kind of write, torn
log lines, a second process on the same run, checkpoints from elsewhere (no pickles are loaded), data that
changed under a run, damaged checkpoint pieces, a full disk. Each ends bit-identical or as one line."""
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import xstilts

ROOT = Path(__file__).resolve().parents[1]
EXTRA = ["--epochs", "3", "--max-train-examples", "200", "--save-every", "5", "--eval-every", "10",
         "--keep-last", "3", "--lr", "1e-3", "--batch-size", "16", "--max-len", "64", "--dtype", "fp32",
         "--log-every", "5", "--seed", "3"]

# Run in a fresh interpreter; KILL names one place where the process SIGKILLs itself (no cleanup runs):
#   ckpt:N  while checkpoint N is half written    best:N  after best.safetensors' temp of step N is written
#   step:N  at the start of optimiser step N      final   while the finished encoder/ is being written
PRELUDE = """
import os, signal, sys
import chain.checkpoint as c
import chain.train as t
kind, _, n = os.environ.get("KILL", "").partition(":")
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
real_save, real_atomic, real_model, real_index = c.save_file, c.atomic_write, c.save_model, t.task_index
def save_file(tensors, path, *a, **k):
    if kind == "ckpt" and f".tmp-step-{int(n):08d}" in str(path) and "trainer" in str(path):
        die()
    return real_save(tensors, path, *a, **k)
def atomic_write(path, write):
    if kind == "best" and path.name == "best.safetensors":
        def torn(tmp):
            write(tmp)
            import safetensors
            with safetensors.safe_open(tmp, "pt") as f:
                if f.metadata()["step"] == n:
                    die()
        return real_atomic(path, torn)
    return real_atomic(path, write)
def save_model(model, folder, *a, **k):
    if kind == "final" and ".tmp-step" not in str(folder):
        die()
    return real_model(model, folder, *a, **k)
def task_index(step, *a):
    if kind == "step" and step + 1 == int(n):
        die()
    return real_index(step, *a)
c.save_file, c.atomic_write, c.save_model, t.task_index = save_file, atomic_write, save_model, task_index
import xstilts
sys.exit(xstilts.main(sys.argv[1:]))
"""



def train_argv(root, runs, name, *more):
    return ["intermediate", "--task", "mnli", "--model", str(root / "model"), "--data-dir", str(root / "data"),
            "--runs-dir", str(runs), "--name", name, *EXTRA, *more]


def launch(argv, kill="", past=None, log=None, jitter=0.0):
    """Run xstilts in a child process (1 thread: bit-exact on CPU). past=N: SIGKILL it from outside `jitter`
    seconds after its log (`log`) first shows step N or later: a moment inside the run, whatever the speed."""
    env = dict(os.environ, KILL=kill, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", PRELUDE, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    while past is not None and proc.poll() is None:
        steps = [json.loads(line)["step"] for line in (log.read_text().splitlines() if log.exists() else [])
                 if line.endswith("}")]
        if steps and steps[-1] >= past:
            time.sleep(jitter)
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def outcome(run):
    """Everything a finished run leaves that must not depend on kills: tensors, results, the log."""
    tensors = {**load_file(run / "encoder" / "model.safetensors"),
               **{"head." + k: v for k, v in load_file(run / "head.safetensors").items()},
               **{"best." + k: v for k, v in load_file(run / "best.safetensors").items()}}
    log = [{k: v for k, v in json.loads(line).items() if k != "tokens_per_s"}
           for line in (run / "metrics.jsonl").read_text().splitlines()]
    return tensors, json.loads((run / "results.json").read_text()), log


@pytest.mark.slow
def test_sigkill_at_random_points_and_inside_every_write_then_resume_is_bit_identical(demo_root, tmp_path):
    assert launch(train_argv(demo_root, tmp_path, "whole"))[0] == 0
    want = outcome(tmp_path / "whole")
    rng = random.Random(7)
    # inside each kind of write, each kill landing on the resume of the previous one
    kills = ["step:4", "best:10", "ckpt:15", f"step:{rng.randint(21, 30)}", "ckpt:35", "final"]
    argv = train_argv(demo_root, tmp_path, "killed")
    for i, kill in enumerate(kills):
        rc, err = launch(argv + (["--resume"] if i else []), kill)
        assert rc == -signal.SIGKILL, (kill, err[-2000:])
        assert not (tmp_path / "killed" / "results.json").exists()  # a killed run never looks finished
    # and from outside, at random moments of the run (startup, training, evaluation or a write)
    shot = train_argv(demo_root, tmp_path, "shot")
    for i, (low, high) in enumerate(((5, 15), (16, 26), (27, 34))):  # 39 steps; a kill somewhere past each step
        rc, err = launch(shot + (["--resume"] if i else []), past=rng.randint(low, high),
                         log=tmp_path / "shot" / "metrics.jsonl", jitter=rng.uniform(0, 0.1))
        assert rc == -signal.SIGKILL, (i, err[-2000:])  # it landed inside the run
    for name, resume in (("killed", argv), ("shot", shot)):
        rc, err = launch(resume + ["--resume"])
        assert rc == 0, err[-2000:]
        got = outcome(tmp_path / name)
        assert got[0].keys() == want[0].keys() and all(torch.equal(got[0][k], want[0][k]) for k in want[0]), name
        assert got[1:] == want[1:], name
        assert not list((tmp_path / name).rglob("*.tmp*")), name  # no orphan half-files left behind


def test_no_pickle_in_a_checkpoint_and_a_planted_trainer_pt_is_never_loaded(demo_root, tmp_path, monkeypatch):
    assert xstilts.main(train_argv(demo_root, tmp_path, "a", "--max-steps", "6")) == 0
    ck = sorted((tmp_path / "a" / "checkpoints").glob("step-*"))[-1]
    assert not [p for p in (tmp_path / "a").rglob("*") if p.suffix in (".pt", ".bin", ".pkl")]
    assert {"trainer.safetensors", "trainer.json"} <= {p.name for p in ck.iterdir()}
    (tmp_path / "a" / "results.json").unlink()  # pretend it was killed after its last checkpoint
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    torch.save({"opt": Payload()}, ck / "trainer.pt")  # what an old or hostile run folder may carry
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load must never run on resume"))
    assert xstilts.main(train_argv(demo_root, tmp_path, "a", "--max-steps", "6", "--resume")) == 0
    assert not marker.exists()


def test_torn_log_line_and_temp_leftovers_are_repaired_on_resume(demo_root, tmp_path, monkeypatch, crash_at):
    crash_at(12)
    assert xstilts.main(train_argv(demo_root, tmp_path, "t")) == 130
    crash_at(None)
    run = tmp_path / "t"
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 13, "task": "mnli", "lo')  # what a full disk leaves behind
    (run / ".best.safetensors.tmp99999").write_bytes(b"half a tensor")
    assert xstilts.main(train_argv(demo_root, tmp_path, "t", "--resume")) == 0
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps)) and not (run / ".best.safetensors.tmp99999").exists()


def test_a_second_process_on_the_same_run_stops_with_one_line(demo_root, tmp_path, capsys):
    run = tmp_path / "busy"
    run.mkdir()
    (run / "config.yaml").write_text("name: busy\n")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); "
                               "fcntl.flock(f, fcntl.LOCK_EX); f.write('4242'); f.flush(); print('held', flush=True); "
                               "time.sleep(60)", str(run / ".lock")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert xstilts.main(train_argv(demo_root, tmp_path, "busy", "--resume")) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "another xstilts process (pid 4242) is using this run" in err
    finally:
        holder.kill()
        holder.wait()
    assert xstilts.main(train_argv(demo_root, tmp_path, "busy", "--resume", "--max-steps", "2")) == 0  # the kernel
    # released the flock of the killed holder: no stale lock file blocks the run


def test_a_run_folder_killed_as_it_was_created_starts_again(demo_root, tmp_path):
    (tmp_path / "empty").mkdir()
    assert xstilts.main(train_argv(demo_root, tmp_path, "empty", "--max-steps", "3")) == 0
    (tmp_path / "empty2").mkdir()
    assert xstilts.main(train_argv(demo_root, tmp_path, "empty2", "--max-steps", "3", "--resume")) == 0
    assert (tmp_path / "empty2" / "results.json").exists()


def test_changed_data_damaged_checkpoints_and_a_lost_best_state_are_one_line(demo_root, tmp_path, capsys,
                                                                             monkeypatch, crash_at):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(demo_root / "data", data)
    argv = train_argv(demo_root, tmp_path, "c") + ["--data-dir", str(data)]
    crash_at(12)
    assert xstilts.main(argv) == 130
    crash_at(None)
    capsys.readouterr()
    rows = (data / "mnli" / "train.tsv").read_text().splitlines()
    (data / "mnli" / "train.tsv").write_text("\n".join([rows[0], *reversed(rows[1:])]) + "\n")  # same rows, new order
    assert xstilts.main(argv + ["--resume"]) == 2
    assert "the training or dev data of mnli changed" in capsys.readouterr().err
    (data / "mnli" / "train.tsv").write_text("\n".join(rows) + "\n")
    run = tmp_path / "c"
    ck = sorted((run / "checkpoints").glob("step-*"))
    good = (ck[-1] / "trainer.safetensors").read_bytes()
    (ck[-1] / "trainer.safetensors").write_bytes(b"\0" * 10)  # a damaged piece: say which, and the way back
    assert xstilts.main(argv + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"delete that folder to resume from {ck[-2].name}" in err
    (ck[-1] / "trainer.safetensors").write_bytes(good)
    heads = bytearray((ck[-1] / "heads.safetensors").read_bytes())
    heads[-3] ^= 0x40  # one flipped bit in a tensor: loads fine, but is not what was saved
    (ck[-1] / "heads.safetensors").write_bytes(bytes(heads))
    assert xstilts.main(argv + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "heads.safetensors changed since it was written (CRC-32 differs)" in err
    heads[-3] ^= 0x40
    (ck[-1] / "heads.safetensors").write_bytes(bytes(heads))
    meta = (ck[-1] / "trainer.json").read_text()
    for edit, message in ((lambda m: dict(m, state=dict(m["state"], step=7)), "trainer.json says step 7"),
                          (lambda m: dict(m, groups=m["groups"][:1]), "1 optimiser groups, this model has 2"),
                          (lambda m: dict(m, groups=[dict(g, lr=-1) for g in m["groups"]]), "has lr -1")):
        (ck[-1] / "trainer.json").write_text(json.dumps(edit(json.loads(meta))))
        assert xstilts.main(argv + ["--resume"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    (ck[-1] / "trainer.json").write_text(meta)
    best = (run / "best.safetensors").read_bytes()
    (run / "best.safetensors").write_bytes(best[: len(best) // 2])  # truncated by a full disk or a bad copy
    assert xstilts.main(argv + ["--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "best.safetensors is damaged" in err
    (run / "best.safetensors").unlink()  # checkpoint 10 counts on the best state of step 10
    assert xstilts.main(argv + ["--resume"]) == 2
    assert "best.safetensors is missing" in capsys.readouterr().err


def test_a_full_disk_is_one_line_naming_the_file(demo_root, tmp_path, capsys, monkeypatch):
    from chain import checkpoint
    real = checkpoint.save_file

    def full(tensors, path, *a, **k):
        if "trainer" in str(path):
            raise OSError(28, "No space left on device")
        return real(tensors, path, *a, **k)

    monkeypatch.setattr(checkpoint, "save_file", full)
    assert xstilts.main(train_argv(demo_root, tmp_path, "d")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in err and ".tmp-step-00000005" in err and "--resume" in err
    monkeypatch.setattr(checkpoint, "save_file", real)
    assert xstilts.main(train_argv(demo_root, tmp_path, "d", "--resume")) == 0


def test_resume_of_a_finished_run_changes_nothing(demo_root, tmp_path, capsys):
    assert xstilts.main(train_argv(demo_root, tmp_path, "f", "--max-steps", "4")) == 0
    before = (tmp_path / "f" / "encoder" / "model.safetensors").read_bytes()
    (tmp_path / "f" / "best.safetensors").unlink()
    assert xstilts.main(train_argv(demo_root, tmp_path, "f", "--max-steps", "4", "--resume")) == 0
    assert "finished already" in capsys.readouterr().out
    assert (tmp_path / "f" / "encoder" / "model.safetensors").read_bytes() == before
