"""The command line speaks to the user: every bad value is one line naming the flag or key and its value,
each subcommand takes only its own flags, the chain checks the model and device before any stage trains,
a killed evaluation is redone, and score / stats / embed behave as their help says (issue 10)."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

import xstilts

ROOT = Path(__file__).resolve().parents[1]



def base(root, runs, *more):
    return ["--model", str(root / "model"), "--data-dir", str(root / "data"), "--runs-dir", str(runs),
            "--dtype", "fp32", "--batch-size", "16", "--max-len", "64", *more]


def one_line(capsys):
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith(("xstilts", "usage"))]
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("flags, says", [
    (["--lr", "-1e-5"], "lr=-1e-05 (--lr) is out of range: it must be >= 0"),  # a negative number is a value
    (["--epochs", "inf"], "epochs=inf (--epochs) is out of range"),
    (["--epochs", "nan"], "epochs=nan (--epochs) is out of range"),
    (["--lr", "nan"], "lr=nan (--lr) is out of range"),
    (["--sampling-temperature", "0"], "sampling_temperature=0.0 (--sampling-temperature) is out of range"),
    (["--max-train-examples", "-5"], "max_train_examples=-5 (--max-train-examples) is out of range"),
    (["--seed", str(10**30)], "seed=1000000000000000000000000000000 (--seed) is out of range"),
    (["--max-len", "3"], "max_len=3 (--max-len) is out of range: it must be at least 8"),
    (["--weight-decay", "-1"], "weight_decay=-1.0 (--weight-decay) is out of range"),
    (["--max-bad-rows", "nan"], "max_bad_rows=nan (--max-bad-rows) is out of range"),
    (["--name", "../escaped"], "name='../escaped': a run name is one folder name under runs_dir"),
    (["--name", "/abs/run"], "name='/abs/run': a run name is one folder name"),
    (["--init", "runs/x"], "intermediate starts from --model"),  # sequential STILTs: --model RUN
])
def test_bad_values_are_one_line_naming_the_flag_and_nothing_is_written(demo_root, tmp_path, capsys, flags, says):
    assert xstilts.main(["intermediate", "--task", "mnli", *base(demo_root, tmp_path / "runs"), *flags]) == 2
    assert says in one_line(capsys)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "escaped").exists()


def test_lr_zero_warns_and_each_subcommand_shows_only_its_flags(demo_root, tmp_path, capsys):
    assert xstilts.main(["intermediate", "--task", "mnli", *base(demo_root, tmp_path), "--lr", "0",
                         "--max-steps", "2", "--eval-examples", "8"]) == 0
    assert "warning: lr=0: training changes no weight" in capsys.readouterr().err
    for command, absent, present in (("intermediate", "--init", "--model"), ("target", "--model", "--init"),
                                     ("eval", "--targets", "--layer")):
        with pytest.raises(SystemExit):
            xstilts.main([command, "-h"])
        text = capsys.readouterr().out
        assert f"{absent} " not in text and f"{present} " in text, command
    with pytest.raises(SystemExit) as stop:  # target starts from --init: --model there would be ignored
        xstilts.main(["target", "--task", "xnli", "--model", "x"])
    assert stop.value.code == 2 and "unrecognized arguments: --model x" in capsys.readouterr().err


def test_eval_all_with_a_target_and_a_yaml_key_given_twice_are_refused(tmp_path, capsys):
    assert xstilts.main(["eval", "--all", "--target", "xnli", "--init", "runs/x"]) == 2
    assert "drop --target xnli" in one_line(capsys)
    (tmp_path / "c.yaml").write_text("task: mnli\nlr: 0.001\nlr: 5.0\n")
    assert xstilts.main(["run", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "the key 'lr' is given twice (again on line 3)" in one_line(capsys)
    (tmp_path / "c.yaml").write_bytes(b"task: mnli\nlr: \xff\n")
    assert xstilts.main(["run", "--config", str(tmp_path / "c.yaml")]) == 2
    assert "not UTF-8 text" in one_line(capsys)


def test_run_checks_positions_layer_and_device_before_any_stage_trains(demo_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    for extra, says in ((["--max-len", "2000"], "--max-len 2000: "),  # the demo model has 512 positions
                        (["--layer", "9"], "--layer 9: "),  # a 2-layer model: hidden states 0..2
                        (["--dtype", "fp16", "--device", "cpu"], "--dtype fp16 needs a CUDA GPU")):
        (tmp_path / "c.yaml").write_text(f"task: mnli\ntargets: [xnli, tatoeba]\nlangs: [de, es]\nmodel: {demo_root / 'model'}\n")
        argv = ["run", "--config", str(tmp_path / "c.yaml"), *base(demo_root, runs)[2:], *extra]
        assert xstilts.main(argv) == 2
        line = one_line(capsys)
        assert says in line and "before any training" in line, line
        assert not list(runs.glob("*/stages/*/checkpoints")), extra  # nothing trained


def test_default_layer_is_the_relative_depth_and_a_deeper_one_is_one_line(demo_root, tmp_path, capsys):
    from chain.stage import auto_layer
    assert (auto_layer(-1, 24), auto_layer(-1, 12), auto_layer(-1, 2), auto_layer(5, 12)) == (14, 7, 1, 5)
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path), "--dtype", "fp32", "--langs", "es"]
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(demo_root / "model"), *common]) == 0
    text = (tmp_path / "eval-tatoeba-model" / "config.yaml").read_text()
    assert "task: tatoeba" in text and f"model: {demo_root / 'model'}" in text  # what was evaluated
    assert "layer: 1\n" in text  # -1 resolved on the 2-layer model: the index actually used
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(demo_root / "model"), *common,
                         "--layer", "14", "--name", "deep"]) == 2
    assert "--layer 14: " in one_line(capsys) and not (tmp_path / "deep").exists()


def test_a_killed_evaluation_folder_is_evaluated_again(demo_root, tmp_path, capsys):
    run = tmp_path / "ev"
    run.mkdir()  # what kill -9 leaves right after the folder appeared
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path), "--dtype", "fp32", "--langs", "es"]
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(demo_root / "model"), *common,
                         "--name", "ev"]) == 0
    assert (run / "results.json").exists()
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(demo_root / "model"), *common,
                         "--name", "ev"]) == 2
    assert "this eval directory exists" in one_line(capsys)


def test_score_langs_gives_a_partial_per_language_table(demo_root, tmp_path, capsys):
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(tmp_path), "--dtype", "fp32"]
    assert xstilts.main(["eval", "--target", "tatoeba", "--init", str(demo_root / "model"), *common,
                         "--langs", "es,de", "--name", "t"]) == 0
    capsys.readouterr()
    run = tmp_path / "t"
    argv = ["score", "--predictions", str(run / "predictions"), "--labels", str(run / "labels"), "--tasks", "tatoeba",
            "--langs", "es,de", "--out", str(tmp_path / "s.json")]
    assert xstilts.main(argv) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("task"))
    assert header.split() == ["task", "metric", "de", "es", "avg"] and "partial: only es de scored" in out
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["partial"] is True and "all_task" not in saved and "retrieval" not in saved


def test_stats_defaults_to_english_and_embed_takes_a_run_and_refuses_nan(demo_root, tmp_path, capsys, monkeypatch):
    assert xstilts.main(["stats", "--task", "xnli", "--data-dir", str(demo_root / "data"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["lang"] == "en"
    runs = tmp_path / "runs"
    assert xstilts.main(["intermediate", "--task", "mnli", *base(demo_root, runs), "--max-steps", "2",
                         "--eval-examples", "8", "--name", "r"]) == 0
    (tmp_path / "s.txt").write_text("ein Satz\nzwei\n")
    argv = ["embed", "--model", str(runs / "r"), "--input", str(tmp_path / "s.txt"), "--out", str(tmp_path / "v.npy")]
    assert xstilts.main(argv) == 0 and np.load(tmp_path / "v.npy").shape[0] == 2
    import tasks.lib.retrieval
    monkeypatch.setattr(tasks.lib.retrieval, "embed", lambda *a, **k: np.full((2, 4), np.nan, dtype=np.float32))
    assert xstilts.main(argv[:-1] + [str(tmp_path / "nan.npy")]) == 2
    assert "2 of 2 embeddings are not finite" in one_line(capsys) and not (tmp_path / "nan.npy").exists()


def test_make_target_and_eval_without_init_say_so():
    for goal in ("target", "eval"):
        done = subprocess.run(["make", "-s", goal, "TASK=xnli", "TARGET=xnli"], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode != 0 and f"make {goal}: give INIT=" in done.stderr, done.stderr


def test_resume_with_more_epochs_says_why_not_and_a_damaged_head_is_one_line(demo_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["intermediate", "--task", "mnli", *base(demo_root, runs), "--max-steps", "2", "--eval-examples", "8",
            "--name", "r"]
    assert xstilts.main(argv) == 0
    assert xstilts.main(argv + ["--resume", "--max-steps", "4"]) == 2
    assert "decays linearly to 0 at that last step" in one_line(capsys)
    (runs / "r" / "head.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")  # truncated
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(runs), "--dtype", "fp32", "--langs", "de"]
    assert xstilts.main(["eval", "--target", "xnli", "--init", str(runs / "r"), *common]) == 2
    assert "head.safetensors cannot be read" in one_line(capsys)


def test_embed_of_an_empty_input_says_empty_and_a_full_disk_says_so(demo_root, tmp_path, capsys, monkeypatch):
    argv = ["embed", "--model", str(demo_root / "model"), "--input", "/dev/null", "--out", str(tmp_path / "v.npy")]
    assert xstilts.main(argv) == 2
    assert "the file is empty" in one_line(capsys)
    (tmp_path / "s.txt").write_text("a\n")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    assert xstilts.main([*argv[:4], str(tmp_path / "s.txt"), *argv[5:]]) == 2
    assert "the disk is full" in one_line(capsys)


def test_preflight_names_each_missing_file_once(demo_root, tmp_path, capsys):
    (tmp_path / "c.yaml").write_text("task: mnli\ntargets: [xnli]\nlangs: [de]\n")  # XNLI trains on MNLI too
    argv = ["run", "--config", str(tmp_path / "c.yaml"), *base(demo_root, tmp_path / "runs")[2:],
            "--data-dir", str(tmp_path / "nodata"), "--model", str(demo_root / "model")]
    assert xstilts.main(argv) == 2
    line = one_line(capsys)  # grouped by the data each needs: every task once, with its first problem
    groups = line.split("before any training, in ")[1].split("task(s): ", 1)[1].split(" | ")
    tasks = [g.split(" (")[0] for g in groups]
    assert len(tasks) == len(set(tasks)) and {"mnli", "xnli"} <= set(tasks) and line.count("mnli/train.tsv") == 1
