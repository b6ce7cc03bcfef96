"""Every offline tiny study (studies/demo/*.yaml, what `make demo-study` runs) end to end on the demo world:
sweep → results table → statistics → report with its sections and plots. The real studies (studies/*.yaml)
are checked whole (keys, grid, targets, tasks) by a dry run."""
import json
from pathlib import Path

import pytest
import yaml

import xstilts
from data_scripts import demo
from conftest import ROOT

SECTIONS = {"volume": "Diminishing returns", "typology": "Gain vs typology, each feature net of the others",
            "ntasks": "Number of intermediate tasks", "robustness": "Robustness vs data volume",
            "translated": "Intermediate language × target language", "groups": "Language groups"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return demo.make_world(tmp_path_factory.mktemp("world"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_tiny_study_runs_end_to_end(name, world, tmp_path):
    pytest.importorskip("matplotlib")
    study = yaml.safe_load((ROOT / "studies" / "demo" / f"{name}.yaml").read_text(encoding="utf-8"))
    study["base"].update(model=str(world / "model"), data_dir=str(world / "data"), runs_dir=str(tmp_path))
    (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    assert xstilts.main(["sweep", "--config", str(tmp_path / f"{name}.yaml")]) == 0
    root = tmp_path / study["name"]
    header = (root / "results.csv").read_text().splitlines()[0]
    assert header == ",".join(["cell", *study["grid"], "model", "seed", "target", "lang", "metric", "value"])
    assert xstilts.main(["report", str(root)]) == 0
    md = (root / "report.md").read_text(encoding="utf-8")
    for section in ("Answer", "Setup", "Scores", "Gains over the baseline", "Robustness", SECTIONS[name], "Plots"):
        assert f"## {section}" in md, section
    assert md.index("## Answer") < md.index("## Setup")
    report = json.loads((root / "report.json").read_text())
    assert report["gains"] and report["plots"] and all((root / p).is_file() for p in report["plots"])
    assert all(f"]({p})" in md for p in report["plots"])
    answer = report["answer"]
    assert answer["question"] and answer["findings"] and "seeds" in " ".join(answer["caveats"])
    if report["collapsed"]:  # the demo's tiny models do collapse on XNLI: named, and left out of the statistics
        assert "collapsed" in " ".join(answer["caveats"]) and "collapsed" in md
    if name == "volume":  # one baseline system across the sizes: compare takes it as `none`
        assert xstilts.main(["compare", str(root), "--baseline", "none"]) == 0
    if name == "groups":  # european − non-european on Tatoeba (XNLI collapses on the demo's tiny models)
        assert report["grouping"]["by"] == "europe" and report["group_differences"]
        assert any("european − non-european" in f for f in answer["findings"])
    if name == "typology":
        assert all(m["n"] >= 8 for m in report["models"] if m["target"] != "xnli") and report["features"]


@pytest.mark.slow
def test_tiny_encoders_study_gives_each_encoder_its_gain_and_the_difference(world, tmp_path, capsys):
    """Two demo encoders of different shapes, each against its own baseline: every encoder × target has its gain,
    the deep one its difference from the reference; compare names each system's encoder."""
    pytest.importorskip("matplotlib")
    study = yaml.safe_load((ROOT / "studies" / "demo" / "encoders.yaml").read_text(encoding="utf-8"))
    models = [str(world / Path(m).name) for m in study["grid"]["model"]]
    study["base"].update(model=models[0], data_dir=str(world / "data"), runs_dir=str(tmp_path))
    study["grid"]["model"] = models
    study.update(targets=["tatoeba"], langs=study["langs"][1:])  # XNLI costs most and collapses on tiny models
    (tmp_path / "encoders.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    assert xstilts.main(["sweep", "--config", str(tmp_path / "encoders.yaml")]) == 0
    root = tmp_path / study["name"]
    assert xstilts.main(["report", str(root)]) == 0
    report = json.loads((root / "report.json").read_text())
    md = (root / "report.md").read_text(encoding="utf-8")
    assert report["baseline"] == [f"model={m},task=none" for m in models] and report["reference"] == models[0]
    assert [(r["model"], r["task"], r["target"]) for r in report["encoder_gains"]] == [(m, "mnli", "tatoeba")
                                                                                      for m in models]
    (diff,) = [r for r in report["encoder_differences"] if r["target"] == "tatoeba"]
    assert diff["model"] == models[1] and diff["p"] is not None and diff["lo"] <= diff["diff"] <= diff["hi"]
    deep = next(r for r in report["encoder_gains"] if (r["model"], r["target"]) == (models[1], "tatoeba"))
    assert f"| {models[1]} | mnli | tatoeba | {deep['n_langs']} | 2 | {report_est(deep)} |" in md
    assert "## Intermediate training across encoders" in md and f"- encoder(s): {', '.join(models)}" in md
    assert report["plots"] and all((root / p).is_file() for p in report["plots"])
    capsys.readouterr()
    assert xstilts.main(["compare", str(root), "--baseline", f"none,model={models[0]}"]) == 0
    assert f"  none,model={models[1]}: {models[1]}" in capsys.readouterr().out


def report_est(r):
    from studies.report import _est
    return _est(r)


@pytest.mark.parametrize("name", [*sorted(SECTIONS), "encoders"])
def test_real_study_files_are_complete_and_valid(name, capsys):
    assert xstilts.main(["sweep", "--config", str(ROOT / "studies" / f"{name}.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "distinct stages" in out and "GPU-hours" in out
    study = yaml.safe_load((ROOT / "studies" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert study.get("study") == (None if name == "groups" else name)  # groups: the generic report, by group
    assert study["base"]["model"] == "FacebookAI/xlm-roberta-large"
    assert "none" in study["grid"]["task"]  # every study has its baseline


def test_report_without_a_baseline_is_one_line_and_writes_nothing(world, tmp_path, capsys):
    study = yaml.safe_load((ROOT / "studies" / "demo" / "typology.yaml").read_text(encoding="utf-8"))
    study["base"].update(model=str(world / "model"), data_dir=str(world / "data"), runs_dir=str(tmp_path),
                         epochs=1, **{"intermediate.max_train_examples": 64})
    study.update(grid={"task": ["mnli"]}, seeds=[1], targets=["tatoeba"], langs=["de", "fr", "sw"])
    (tmp_path / "t.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    assert xstilts.main(["sweep", "--config", str(tmp_path / "t.yaml")]) == 0
    root = tmp_path / study["name"]
    capsys.readouterr()
    assert xstilts.main(["report", str(root)]) == 2
    err = capsys.readouterr().err
    assert "baseline" in err and len(err.strip().splitlines()) == 1
    assert not list(root.glob("report*")) and not list(root.glob("*.png"))
