"""Studies as sweeps (studies/sweep.py on chain/plan.py): cells that share a stage train it once, a finished
sweep trains nothing, a sweep killed mid-stage resumes to the same results.csv bit for bit, --dry-run and
--plan, max_steps, and bad study files stopping with one line before anything is written."""
import json

import pytest
import yaml

import chain.train
import xstilts
from data_scripts import demo
from tasks import get_task, task_names


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return demo.make_world(tmp_path_factory.mktemp("world"))


def study(path, world, runs, **over):
    s = dict(name="s", base={"model": str(world / "model"), "data_dir": str(world / "data"), "runs_dir": str(runs),
                             "lr": "1e-3", "batch_size": 16, "max_len": 48, "dtype": "fp32", "eval_every": 4,
                             "save_every": 2, "eval_examples": 32, "layer": 1, "epochs": 1,
                             "intermediate.max_train_examples": 96, "target.max_train_examples": 64},
             grid={"task": ["none", "mnli"], "target.lr": [1e-3, 2e-3]}, targets=["xnli", "tatoeba"],
             langs=["en", "de"], seeds=[1])
    for k, v in over.items():
        s[k] = v
    path.write_text(yaml.safe_dump(s, sort_keys=False), encoding="utf-8")
    return path


def count_fits(monkeypatch):
    calls = []
    real = chain.train.fit

    def counted(cfg, tasks, *a, **k):
        calls.append(",".join(tasks))
        return real(cfg, tasks, *a, **k)
    monkeypatch.setattr(chain.train, "fit", counted)
    return calls


def test_shared_intermediate_trains_once_and_a_finished_sweep_trains_nothing(world, tmp_path, monkeypatch, capsys):
    calls = count_fits(monkeypatch)
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 0
    # 4 cells: (none, mnli) × two target learning rates; the mnli intermediate stage is shared
    assert sorted(calls) == ["mnli", "xnli", "xnli", "xnli", "xnli"]
    root = tmp_path / "runs" / "s"
    header, *rows = (root / "results.csv").read_text().splitlines()
    assert header == "cell,task,target.lr,model,seed,target,lang,metric,value"
    cells = {r.split(",")[0] for r in rows}
    assert len(cells) == 4 and {r.split(",")[1] for r in rows} == {"none", "mnli"}
    metrics = {(r.split(",")[5], r.split(",")[7]) for r in rows}
    assert metrics == {("xnli", "accuracy"), ("xnli", "macro_f1"), ("tatoeba", "accuracy")}
    info = json.loads((root / "cells.json").read_text())
    assert {c["train_examples"] for c in info} == {None, 96} and {c["ntasks"] for c in info} == {0, 1}
    for c in info:  # an evaluation whose predictions are >= 95% one class is marked, from the predictions themselves
        for target, lang in c["collapsed"]:
            stage = next(s for s in c["stages"] if s.startswith(f"stages/eval-{target}"))
            pred = (root / stage / "predictions" / target / f"test-{lang}.tsv").read_text().split()
            assert max(map(pred.count, set(pred))) >= 0.95 * len(pred)
    prov = [r for c in info for r in c["provenance"]]  # what produced each stage: commit, versions, device, time
    assert {r["stage"].split("-")[0] for r in prov} == {"intermediate", "target", "eval"}
    assert all(r["commit"] and r["torch"] and r["device"] and r["wall_s"] >= 0 and r["started"] <= r["finished"]
               for r in prov)
    jsonl = [json.loads(line) for line in (root / "results.jsonl").read_text().splitlines()]
    assert [str(r["value"]) for r in jsonl] == [repr(float(r.split(",")[-1])) for r in rows]
    calls.clear()
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert calls == [] and "0 stages trained, 5 reused, 0 evaluated" in out
    progress = [x for x in out.splitlines() if x.startswith("sweep s: stage")]  # i/N, what is left, an ETA
    assert progress[0].startswith("sweep s: stage 1/11 (") and "stage 11/11 (" in progress[-1] and "0 left" in progress[-1]
    before = (root / "results.csv").read_text()  # more languages: only the eval stages extend
    study(cfg, world, tmp_path / "runs", langs=["en", "de", "fr"])
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 0
    assert calls == [] and set(before.splitlines()) < set((root / "results.csv").read_text().splitlines())
    (evals,) = {c["stages"][-1] for c in json.loads((root / "cells.json").read_text()) if c["keys"]["task"] == "none"
                and "tatoeba" in c["stages"][-1]} or {None}
    records = json.loads((root / evals / "stage.json").read_text())["provenance"]
    assert [r["langs"] for r in records] == [["de"], ["fr"]]  # the later call added fr, with its own record


def test_a_sweep_killed_mid_stage_resumes_to_the_same_table(world, tmp_path, monkeypatch, capsys, crash_at):
    whole = study(tmp_path / "a.yaml", world, tmp_path / "a", grid={"task": ["mnli"]}, targets=["xnli"])
    assert xstilts.main(["sweep", "--config", str(whole)]) == 0
    killed = study(tmp_path / "b.yaml", world, tmp_path / "b", grid={"task": ["mnli"]}, targets=["xnli"])
    crash_at(3)  # after the step-2 checkpoint of the first stage
    assert xstilts.main(["sweep", "--config", str(killed)]) == 130
    err = capsys.readouterr().err
    assert "rerun the same `python xstilts.py sweep --config" in err and "--resume" not in err  # sweep has no --resume
    assert xstilts.main(["report", str(tmp_path / "b" / "s")]) == 2  # killed before any evaluation
    assert "no evaluation stage finished yet (0 rows" in capsys.readouterr().err
    (stage,) = (tmp_path / "b" / "s" / "stages").glob("intermediate-*")
    assert not (stage / "results.json").exists() and (stage / "checkpoints").is_dir()
    crash_at(None)
    assert xstilts.main(["sweep", "--config", str(killed)]) == 0
    a, b = ((tmp_path / d / "s" / "results.csv").read_text() for d in ("a", "b"))
    assert a == b and len(a.splitlines()) > 1


def test_dry_run_and_plan_file_then_one_stage(world, tmp_path, capsys):
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    assert xstilts.main(["sweep", "--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "4 cells (4 grid points × 1 seeds), 11 distinct stages" in out and "intermediate: 1 stages, 0 finished" in out
    assert "96 examples seen" in out and " tokens" in out
    assert not (tmp_path / "runs").exists()  # a dry run writes nothing
    assert xstilts.main(["sweep", "--config", str(cfg), "--plan", str(tmp_path / "plan.sh")]) == 0
    lines = (tmp_path / "plan.sh").read_text().splitlines()
    commands = [x for x in lines if x.startswith("python")]
    assert len(commands) == 11 and lines[0].startswith("# wave 1") and sum(x.startswith("# wave") for x in lines) == 3
    first_inter = next(x for x in commands if "--stage intermediate-" in x)
    stage, comment = first_inter.split("--stage ")[1].split("  # ")
    assert "GPU-min at" in comment  # a job limit per stage
    assert xstilts.main(["sweep", "--config", str(cfg), "--stage", stage]) == 0
    assert (tmp_path / "runs" / "s" / "stages" / stage / "results.json").exists()
    later = next(x for x in commands if "--stage eval-xnli" in x).split("--stage ")[1].split()[0]
    assert xstilts.main(["sweep", "--config", str(cfg), "--stage", later]) == 2  # its inputs are not trained
    assert "not finished; run that stage first" in capsys.readouterr().err


def test_max_steps_holds_compute_constant(world, tmp_path):
    argv = ["intermediate", "--task", "mnli", "--model", str(world / "model"), "--data-dir", str(world / "data"),
            "--runs-dir", str(tmp_path), "--name", "m", "--max-steps", "3", "--max-train-examples", "500",
            "--batch-size", "8", "--max-len", "48", "--dtype", "fp32", "--eval-examples", "16"]
    assert xstilts.main(argv) == 0
    steps = [json.loads(x)["step"] for x in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == 3


@pytest.mark.parametrize("change, message", [
    (dict(grid={"tsk": ["mnli"]}), "unknown key 'tsk' in grid/base"),
    (dict(grid={"lr": ["fast"]}), "lr='fast' should be float"),
    (dict(grid={}), "grid is empty"),
    (dict(targets=["xnl"]), "unknown target 'xnl'"),
    (dict(grid={"task": ["mnli", "mlni"]}), "unknown task 'mlni'"),
    (dict(seeds=[]), "seeds must be a list of integers"),
    (dict(study="volumes"), "study 'volumes'"),
    (dict(grid={"intermediate.epochs": 2}), "must be a non-empty list"),
    (dict(seeds=[1, 1]), "seeds lists a seed twice"),
    (dict(seeds=[-1]), "seeds must be a list of integers in [0, 2^32)"),
    (dict(seeds=[10 ** 30]), "seeds must be a list of integers in [0, 2^32)"),
    (dict(grid={"task": ["none", "mnli"], "seed": [1, 2]}), "grid.seed cannot vary per cell; set it with seeds"),
    (dict(grid={"task": ["none", "mnli"], "langs": ["de"]}), "grid.langs cannot vary per cell"),
    (dict(grid={"task": ["none", "mnli"], "lr": [1e-3, 0.001]}), "grid.lr lists one value twice (0.001 and 0.001)"),
    (dict(grid={"task": ["none", "mnli", "mnli, snli", "mnli,snli"]}), "grid.task lists one value twice"),
    (dict(name="../.."), "name '../..' must be a plain folder name"),
    (dict(base=[1, 2]), "base must be a mapping"),
    (dict(metric="acc"), "metric 'acc' for xnli"),
    (dict(metric={"panx": "f1"}), "metric.panx: panx is not a target of this study"),
    (dict(threshold=-1), "threshold -1 must be a number of points"),
    (dict(baseline={"task": "nothing"}), "baseline task='nothing' is not in the grid"),
    (dict(langs=["en", "ja", "xx"]), "langs xx: no target of this study has it"),
    (dict(grid={"task": ["none", "mnli"], "lr": [i * 1e-5 for i in range(1, 201)]}, seeds=list(range(30))),
     "the grid makes 12,000 cells"),
    (dict(grid={"task": ["none", "mnli"], "model": ["/nonexistent"]}), "/nonexistent"),
    (dict(grid={"task": ["none", "mnli"], "lr": [[1e-3, 2e-3]]}), "grid.lr must list single values"),
    (dict(groups="scrpt"), "groups 'scrpt' is neither a column of languages.tsv (resource, family, genus, script, "),
    (dict(groups={"eu": {"a": ["de"], "b": ["de"]}}), "groups.eu: de is in both a and b; put it in one"),
    (dict(groups={"eu": {"a": ["de"], "b": ["fr"]}}), "groups.eu.b: fr in no target of this study (they have de en)"),
    (dict(groups={"eu": {"a": ["de"], "b": ["xx"]}}), "groups.eu.b: languages.tsv has no language 'xx'; use its codes"),
    (dict(groups={"eu": ["de"]}), "groups.eu must map two or more group names to lists of languages"),
    (dict(study="robustness", grid={"task": ["none", "mnli"], "target.lr": [1e-5, 2e-5]}),  # one baseline per lr
     "grid.target.lr gives each of its values its own baseline, and the robustness analysis compares against one"),
])
def test_bad_study_files_are_one_line_and_write_nothing(world, tmp_path, capsys, change, message):
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs", **change)
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_grid_model_is_honoured_per_cell(world, tmp_path, capsys):
    """`model` as a grid key (XLM-R base vs large): each cell's chain starts from its own encoder."""
    import shutil
    shutil.copytree(world / "model", tmp_path / "other-model")
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs",
                grid={"task": ["none", "mnli"], "model": [str(world / "model"), str(tmp_path / "other-model")]})
    assert xstilts.main(["sweep", "--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "intermediate: 2 stages" in out  # one MNLI stage per encoder, not one shared
    from studies.sweep import plan, read_study
    cells, plans = plan(read_study(cfg), tmp_path / "runs" / "s")
    for c in cells:
        stages, _ = plans[c["cell"]]
        root = stages[0].start
        assert str(root) == c["keys"]["model"], (c["keys"], root)


def test_a_second_sweep_on_a_busy_folder_is_told(world, tmp_path, capsys):
    from chain.rundir import lock, release
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    root = tmp_path / "runs" / "s"
    root.mkdir(parents=True)
    held = lock(root)  # another sweep holds it
    try:
        assert xstilts.main(["sweep", "--config", str(cfg)]) == 2
        assert "another sweep is running in this folder" in capsys.readouterr().err
    finally:
        release(held)
    assert not (root / "stages").exists()


def test_an_unwritable_plan_file_is_named_not_its_temp_file(world, tmp_path, capsys):
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    out = tmp_path / "no-such-folder" / "plan.sh"
    assert xstilts.main(["sweep", "--config", str(cfg), "--plan", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"No such file or directory: '{out}'" in err and ".tmp" not in err and len(err.strip().splitlines()) == 1


def test_an_anchor_bomb_and_a_plain_target_name(world, tmp_path, capsys):
    """YAML anchors nested nine deep (10^9 values if expanded) stop at once; `targets: xnli` is one target."""
    levels = ["&a [x, x, x, x, x, x, x, x, x, x]"] + [f"&{n} [{', '.join([f'*{p}'] * 10)}]"
                                                     for p, n in zip("abcdefgh", "bcdefghi")]
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    cfg.write_text(cfg.read_text().replace("task:\n  - none\n  - mnli", f"task: [none, [{', '.join(levels)}]]"))
    assert "*h, *h" in cfg.read_text()
    assert xstilts.main(["sweep", "--config", str(cfg), "--dry-run"]) == 2
    assert "grid.task must list single values" in capsys.readouterr().err
    study(cfg, world, tmp_path / "runs", targets="xnli")
    assert xstilts.main(["sweep", "--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "eval: 4 stages" in out and "unknown target" not in out  # xnli, not x, n, l, i


@pytest.mark.parametrize("flags", [["--stage", ""], ["--stage", " "], ["--stage", "eval-x", "--dry-run"]])
def test_empty_or_contradictory_stage_is_refused(world, tmp_path, capsys, flags):
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs")
    assert xstilts.main(["sweep", "--config", str(cfg), *flags]) == 2
    assert "--stage: give one stage name" in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_dry_run_token_counts_are_what_studies_tokens_measures():
    """Each measured task file's TRAIN_TOKENS is studies/tokens.py's number; every task with an official size has
    a token count, its own or (not measured) one of the measured tasks'."""
    from studies import tokens
    measured = {task: round(mean, 1) for task, (_, _, mean) in tokens.measure().items()}
    assert measured == {task: get_task(task).TRAIN_TOKENS for task in measured}
    sized = [get_task(n) for n in task_names() if get_task(n).TRAIN_SIZE]
    unmeasured = ("sst2", "ccg")  # SST-2: none; CCG: no CCGbank here to measure (its dry run says unknown)
    assert {t.TRAIN_TOKENS for t in sized if t.NAME not in unmeasured} <= set(measured.values())
    assert all(get_task(task).TRAIN_SIZE for task in measured)


def test_missing_data_of_a_later_stage_stops_before_any_training(world, tmp_path, monkeypatch, capsys):
    calls = count_fits(monkeypatch)
    cfg = study(tmp_path / "s.yaml", world, tmp_path / "runs", targets=["xnli", "pawsx"], langs=["en", "de", "ru"],
                grid={"task": ["mnli", "mnli@xx"]})
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "problem(s) before any training" in err
    assert "mnli has no 'xx' training data" in err and "xnli test ru" not in err  # every problem named, once
    assert calls == [] and not (tmp_path / "runs").exists()
    (tmp_path / "bare").mkdir()  # no data at all: every task named once, with its make data line
    study(cfg, world, tmp_path / "runs", targets=["xnli", "pawsx"], langs=["en", "de", "ru"])
    cfg.write_text(cfg.read_text().replace(str(world / "data"), str(tmp_path / "bare")))
    assert xstilts.main(["sweep", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "in 3 task(s): " in err
    assert all(f"make data TASK={t}`" in err for t in ("mnli", "xnli", "pawsx"))
    runs = tmp_path / "r2"  # the same check guards `run`: a later target's missing file, before the first stage
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(dict(
        model=str(world / "model"), data_dir=str(world / "data"), runs_dir=str(runs), targets="xnli,udpos",
        epochs=1.0, max_len=48, dtype="fp32", max_train_examples=32, eval_examples=16)))
    assert xstilts.main(["run", "--config", str(tmp_path / "run.yaml")]) == 2
    assert "udpos" in capsys.readouterr().err and calls == []
