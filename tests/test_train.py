"""The chain: a short run whose loss falls, the intermediate → target hand-off, exact resume after a kill
(also mid-checkpoint), NaN detection, and the run-directory rules."""
import json

import pytest
import torch
from safetensors.torch import load_file

import xstilts
from chain import checkpoint



def args(root, runs, name, *extra):
    return ["--model", str(root / "model"), "--data-dir", str(root / "data"), "--runs-dir", str(runs),
            "--name", name, "--lr", "1e-3", "--batch-size", "16", "--max-len", "64", "--dtype", "fp32",
            "--log-every", "5", *extra]


def weights(folder):
    return {**load_file(folder / "encoder" / "model.safetensors"), **{
        "head." + k: v for k, v in load_file(folder / "head.safetensors").items()}}


def test_short_run_loss_falls_and_run_directory_is_complete(demo_root, tmp_path):
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "a", "--epochs", "2",
                                                                   "--eval-every", "20", "--save-every", "20")]) == 0
    run = tmp_path / "a"
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log]
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3, losses
    assert any("dev" in r for r in log)
    results = json.loads((run / "results.json").read_text())
    assert results["mnli"]["en-dev"]["accuracy"] > 50  # 3 classes: chance is ~33
    for f in ("config.yaml", "results.md", "best.safetensors", "encoder/model.safetensors", "head.safetensors"):
        assert (run / f).exists(), f
    assert len(list((run / "checkpoints").glob("step-*"))) == 2  # keep_last


def test_target_loads_the_encoder_not_the_head(demo_root, tmp_path):
    inter = tmp_path / "inter"
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "inter", "--epochs", "1",
                                                                   "--max-train-examples", "64")]) == 0
    assert xstilts.main(["target", "--task", "xnli", "--init", str(inter), *args(
        demo_root, tmp_path, "t", "--epochs", "1", "--max-train-examples", "32", "--lr", "0")[2:]]) == 0  # no --model
    a, b = weights(inter), weights(tmp_path / "t")
    for k in a:
        if not k.startswith("head."):
            assert torch.equal(a[k], b[k]), k  # lr 0: the target starts from, and keeps, the encoder
    torch.manual_seed(1)  # the config's seed: the head the target run initialised
    from tasks.lib.heads import Classify
    fresh = Classify(64, 3).state_dict()
    assert all(torch.equal(fresh[k], b["head." + k]) for k in fresh)
    assert not torch.equal(a["head.out.weight"], b["head.out.weight"])
    # zero-shot evaluation of the target run, and retrieval straight from the intermediate run
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path), "--dtype", "fp32"]
    assert xstilts.main(["eval", "--target", "xnli", "--init", str(tmp_path / "t"), "--langs", "en,de", *common]) == 0
    res = json.loads((tmp_path / "eval-xnli-t" / "results.json").read_text())["xnli"]
    assert set(res) == {"en", "de", "avg"} and res["avg"]["accuracy"] == (res["en"]["accuracy"] + res["de"]["accuracy"]) / 2
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(inter), "--langs", "es", "--layer", "1",
                         *common]) == 0
    assert 0 <= json.loads((tmp_path / "eval-tatoeba-inter" / "results.json").read_text())["tatoeba"]["es"]["accuracy"]
    assert xstilts.main(["eval", "--target", "xnli", "--init", str(inter), *common, "--name", "nohead"]) == 2
    assert not (tmp_path / "nohead").exists()  # a failed evaluation leaves no directory behind


def test_eval_refuses_the_head_of_another_task(demo_root, tmp_path, capsys):
    inter = tmp_path / "inter"
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "inter", "--epochs", "1",
                                                                   "--max-train-examples", "32")]) == 0
    capsys.readouterr()
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path), "--dtype", "fp32"]
    assert xstilts.main(["eval", "--target", "pawsx", "--init", str(inter), "--langs", "de", *common]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "its head was trained for mnli, not pawsx" in err
    assert xstilts.main(["eval", "--target", "xnli", "--init", str(inter), "--langs", "de", *common]) == 0  # XNLI trains on MNLI


def run_with_crash(demo_root, runs, name, monkeypatch, capsys, crash_at, crash_step=None, crash_in_save=None):
    extra = ["--epochs", "3", "--max-train-examples", "200", "--save-every", "5", "--eval-every", "10",
             "--keep-last", "3"]
    crash_at(crash_step)
    if crash_in_save:
        real = checkpoint.save_file

        def flaky(tensors, path, *a, **k):
            if ".tmp-step" in str(path) and f"{crash_in_save:08d}" in str(path):
                raise KeyboardInterrupt("killed while writing a checkpoint")
            return real(tensors, path, *a, **k)

        monkeypatch.setattr(checkpoint, "save_file", flaky)
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, runs, name, *extra)]) == 130  # Ctrl-C
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("xstilts")]  # not tqdm's bar
    assert len(err) == 1 and "interrupted at step" in err[0] and "continue with --resume" in err[0]
    crash_at(None)
    if crash_in_save:
        monkeypatch.setattr(checkpoint, "save_file", real)
    assert not (runs / name / "results.json").exists()  # a failed run never looks complete
    if crash_in_save:  # the torn checkpoint stays a .tmp directory, which resume never reads
        assert (runs / name / "checkpoints" / f".tmp-step-{crash_in_save:08d}").exists()
        assert not (runs / name / "checkpoints" / f"step-{crash_in_save:08d}").exists()
    restored = []
    real_restore = checkpoint.restore
    monkeypatch.setattr(checkpoint, "restore", lambda *a: restored.append(dict(s := real_restore(*a))) or s)
    assert xstilts.main(["intermediate", "--task", "mnli", "--resume", "--name", name, "--runs-dir", str(runs)]) == 0
    assert restored[0]["step"] == (crash_step // 5 * 5 if crash_step else crash_in_save - 5)  # from the checkpoint
    steps = [json.loads(line)["step"] for line in (runs / name / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(set(steps))  # steps logged after the checkpoint were cut, then logged once


def test_resume_is_bit_exact_after_a_kill_mid_epoch_and_mid_checkpoint(demo_root, tmp_path, monkeypatch, capsys,
                                                                         crash_at):
    extra = ["--epochs", "3", "--max-train-examples", "200", "--save-every", "5", "--eval-every", "10",
             "--keep-last", "3"]
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "full", *extra)]) == 0
    run_with_crash(demo_root, tmp_path, "killed", monkeypatch, capsys, crash_at, crash_step=32)  # 13 steps/epoch: epoch 3
    run_with_crash(demo_root, tmp_path, "torn", monkeypatch, capsys, crash_at, crash_in_save=25)  # checkpoint 25 half-written
    full = weights(tmp_path / "full")
    last = sorted((tmp_path / "full" / "checkpoints").glob("step-*"))[-1].name
    for name in ("killed", "torn"):
        got = weights(tmp_path / name)
        assert full.keys() == got.keys()
        assert all(torch.equal(full[k], got[k]) for k in full), name
        a = load_file(tmp_path / "full" / "checkpoints" / last / "encoder" / "model.safetensors")
        b = load_file(tmp_path / name / "checkpoints" / last / "encoder" / "model.safetensors")
        assert all(torch.equal(a[k], b[k]) for k in a), name  # the last step's weights, not only the best
        logs = [[{k: v for k, v in json.loads(line).items() if k != "tokens_per_s"}  # speed differs, not losses
                 for line in (tmp_path / n / "metrics.jsonl").read_text().splitlines()] for n in ("full", name)]
        assert logs[0] == logs[1], name


def test_nan_loss_stops_with_a_message_and_keeps_the_last_good_checkpoint(demo_root, tmp_path, monkeypatch, capsys):
    from tasks.lib.heads import Classify
    real = Classify.loss
    step = {"n": 0}

    def poisoned(logits, labels):
        step["n"] += 1
        return real(logits, labels) * (float("nan") if step["n"] > 12 else 1.0)

    monkeypatch.setattr(Classify, "loss", staticmethod(poisoned))
    rc = xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "nan", "--epochs", "1",
                                                                 "--save-every", "5", "--max-train-examples", "200")])
    assert rc == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "loss became nan" in errors[0] and "last good checkpoint" in errors[0]
    kept = sorted(p.name for p in (tmp_path / "nan" / "checkpoints").glob("step-*"))
    assert kept and kept[-1] == "step-00000010"
    assert not (tmp_path / "nan" / "results.json").exists()


@pytest.mark.parametrize("argv, message", [
    (["intermediate", "--task", "nope"], "unknown task 'nope'"),
    (["target", "--task", "xnli", "--init", "runs/does-not-exist"], "--init runs/does-not-exist: no such run"),
    (["eval", "--target", "xnli", "--init", "/nowhere/run"], "no such run or folder"),
])
def test_bad_commands_are_one_line(demo_root, tmp_path, capsys, argv, message):
    assert xstilts.main(argv + ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_missing_data_and_malformed_rows_stop_before_a_run_directory(demo_root, tmp_path, capsys):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(demo_root / "data", data)
    (data / "mnli" / "dev_matched.tsv").unlink()
    argv = ["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "x"), "--data-dir", str(data)]
    assert xstilts.main(argv) == 2
    assert "dev_matched.tsv: missing; run `make data TASK=mnli`" in capsys.readouterr().err
    shutil.copy(demo_root / "data" / "mnli" / "dev_matched.tsv", data / "mnli")
    with open(data / "mnli" / "train.tsv", "a", encoding="utf-8") as f:
        f.write("".join(f"{i}\tonly two\n" for i in range(20)))  # 20 of 920 rows: over the 1% default
    assert xstilts.main(argv) == 2
    assert "20 of 920 rows are malformed, first at" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_unknown_config_key_and_existing_run_directory(demo_root, tmp_path, capsys):
    (tmp_path / "exp.yaml").write_text("task: mnli\nlearning_rate: 0.1\n")
    assert xstilts.main(["run", "--config", str(tmp_path / "exp.yaml")]) == 2
    assert "unknown key 'learning_rate'" in capsys.readouterr().err
    (tmp_path / "exp.yaml").write_text("task: mnli\nepochs: two\n")
    assert xstilts.main(["run", "--config", str(tmp_path / "exp.yaml")]) == 2
    assert "epochs='two' should be float" in capsys.readouterr().err
    (tmp_path / "keep").mkdir()
    (tmp_path / "keep" / "results.json").write_text("{}")
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "keep")]) == 2
    assert "exists; continue it with --resume" in capsys.readouterr().err
    assert (tmp_path / "keep" / "results.json").read_text() == "{}"  # nothing lost
    assert xstilts.main(["intermediate", "--task", "mnli", "--resume", *args(demo_root, tmp_path, "keep")]) == 2
    assert "is not a run (no config.yaml)" in capsys.readouterr().err


@pytest.mark.parametrize("select", ["best", "last"])
def test_the_best_dev_state_is_kept_unless_the_task_keeps_its_last(demo_root, tmp_path, monkeypatch, select):
    """Dev scores that fall after the first evaluation: SELECT best keeps step 2's state, SELECT last (XTREME-R's
    XCOPA) the final one. (The loop used to take the final state whatever SELECT said.)"""
    from chain import train
    from tasks import get_task
    falling = iter([90.0, 50.0, 10.0])

    def scores(cfg, jobs, *a):
        value = next(falling)
        return {n: {job.task.METRIC: value} for n, job in jobs.items()}, value
    monkeypatch.setattr(train, "dev_scores", scores)
    monkeypatch.setattr(get_task("mnli"), "SELECT", select)
    assert xstilts.main(["intermediate", "--task", "mnli", *args(demo_root, tmp_path, "s", "--max-steps", "6",
                                                                   "--eval-every", "2")]) == 0
    run = tmp_path / "s"
    kept = checkpoint.safe_step(run / "best.safetensors")
    assert kept == (2 if select == "best" else 6)
    assert json.loads((run / "results.json").read_text())["mnli"]["en-dev"]["accuracy"] == (90.0 if select == "best"
                                                                                             else 10.0)
    best, head = load_file(run / "best.safetensors"), load_file(run / "head.safetensors")
    assert all(torch.equal(best["head.mnli." + k], v) for k, v in head.items())  # the export is the kept state
