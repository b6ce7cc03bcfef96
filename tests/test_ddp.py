"""Data parallelism under torchrun on CPU (gloo), issue 12: a 2-process run equals a 1-process run with the
same global batch (encoder within 1e-6, the same files), a 2-process run SIGKILLed and resumed equals an
uninterrupted one, and evaluation sharded over ranks gives the 1-process predictions. Plus the gradient sum
of chain/dist.py on a real 2-process group."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONPATH=str(ROOT))
FLAGS = ["--max-train-examples", "238", "--batch-size", "4", "--epochs", "1", "--dtype", "fp32", "--max-len", "48",
         "--eval-every", "20", "--eval-examples", "24", "--save-every", "5", "--log-every", "1", "--device", "cpu"]


def xstilts(n, *argv, past=None, log=None):
    """xstilts.py in n processes (torchrun for n > 1); past=N: SIGKILL the whole group once its log shows step N."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}"] if n > 1 \
        else [sys.executable]
    proc = subprocess.Popen([*launcher, str(ROOT / "xstilts.py"), *argv], cwd=ROOT, env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    while past is not None and proc.poll() is None:
        steps = [json.loads(line)["step"] for line in (log.read_text().splitlines() if log.exists() else [])
                 if line.endswith("}")]
        if steps and steps[-1] >= past:
            for pid in [*children(proc.pid), proc.pid]:  # both ranks (torchrun gives them their own session), then
                os.kill(pid, signal.SIGKILL)  # torchrun: no cleanup anywhere
            break
        time.sleep(0.02)
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def children(pid):
    """The processes whose parent is pid (from /proc: no psutil)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def files(run):
    return sorted(str(p.relative_to(run)) for p in run.rglob("*") if p.is_file() and p.name != ".lock")


def train(world, demo_root, runs, name, *more, **kill):
    argv = ["intermediate", "--task", "mnli", "--model", str(demo_root / "model"), "--data-dir",
            str(demo_root / "data"), "--runs-dir", str(runs), "--name", name, *FLAGS, *more]
    return xstilts(world, *argv, **kill)


@pytest.mark.slow
def test_two_processes_equal_one_with_the_same_global_batch_and_survive_a_kill(demo_root, tmp_path):
    rc, out = train(1, demo_root, tmp_path, "one", "--micro-batch", "2")  # what each of 2 ranks takes
    assert rc == 0, out[-3000:]
    rc, out = train(2, demo_root, tmp_path, "two")
    assert rc == 0, out[-3000:]
    one, two = (load_file(tmp_path / n / "encoder" / "model.safetensors") for n in ("one", "two"))
    assert one.keys() == two.keys()
    for k in one:
        torch.testing.assert_close(two[k], one[k], atol=1e-6, rtol=0, msg=k)
    assert files(tmp_path / "one") == files(tmp_path / "two")  # rank 0 alone wrote: nothing more, nothing less
    logs = [[json.loads(line) for line in (tmp_path / n / "metrics.jsonl").read_text().splitlines()] for n in ("one", "two")]
    assert [r["world_size"] for r in logs[1]] == [2] * len(logs[1]) and len(logs[0]) == len(logs[1])
    for a, b in zip(*logs):  # the same losses, and the same dev scores (evaluation sharded over the ranks)
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-5) and a.get("dev") == b.get("dev"), (a, b)
    rc, out = train(2, demo_root, tmp_path, "killed", past=7, log=tmp_path / "killed" / "metrics.jsonl")
    assert rc != 0 and not (tmp_path / "killed" / "encoder").exists(), out[-2000:]  # it died inside the run
    rc, out = train(2, demo_root, tmp_path, "killed", "--resume")
    assert rc == 0, out[-3000:]
    again = load_file(tmp_path / "killed" / "encoder" / "model.safetensors")
    for k in two:
        torch.testing.assert_close(again[k], two[k], atol=1e-6, rtol=0, msg=k)
    for target in ("xnli", "tatoeba"):  # a trained head, and retrieval: one process, then two sharing the work
        for n in (1, 2):
            rc, out = xstilts(n, "eval", "--target", target, "--init", str(tmp_path / "two"), "--data-dir",
                              str(demo_root / "data"), "--runs-dir", str(tmp_path), "--name", f"{target}{n}", "--langs",
                              "de,en" if target == "xnli" else "de,fr", "--dtype", "fp32", "--device", "cpu",
                              "--eval-batch-size", "16")
            assert rc == 0, out[-3000:]
        one, two = tmp_path / f"{target}1", tmp_path / f"{target}2"
        assert files(one) == files(two)
        for f in files(one):
            if f != "config.yaml":  # it names the run folder
                assert (one / f).read_text() == (two / f).read_text(), f


def test_a_cpu_run_with_more_ranks_than_gpus_leaves_the_gpus_alone(monkeypatch):
    """Issue 22, found reading the code: under torchrun every rank called cuda.set_device(LOCAL_RANK) whenever CUDA
    was there, so `--device cpu` with 2 ranks on a 1-GPU node failed on rank 1 (cuda:1). Now a rank takes a GPU only
    where the node has one for it; a CUDA run whose rank has none is refused in one line (chain/stage.py)."""
    import torch.distributed as tdist
    from chain import dist, stage
    from chain.config import Config
    from util import UserError
    chosen, joined = [], []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(tdist, "is_initialized", lambda: False)
    monkeypatch.setattr(tdist, "init_process_group", joined.append)
    dist.init()
    assert chosen == [] and joined == ["cpu:gloo,cuda:nccl"]
    monkeypatch.setenv("LOCAL_RANK", "0")
    dist.init()
    assert chosen == [0]
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(stage.util, "world", lambda: 2)
    assert stage.device_of(Config(device="cpu")).type == "cpu"
    with pytest.raises(UserError, match="local rank 1 has no GPU of its own"):
        stage.device_of(Config(device="cuda"))
