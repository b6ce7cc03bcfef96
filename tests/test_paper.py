"""The `xstilts` study (studies/paper.py): the paper's grid, its best intermediate task per target chosen on dev
(never on test), the submission folder scored by the official scorer, and the published rows beside ours."""
import json
import re

import numpy as np
import pytest
import yaml

import xstilts
from conftest import ROOT
from studies import paper, report, synthetic
from tasks.lib import submission

DEMO_LANGS = ["en", "de", "fr", "es", "ru", "tr", "sw", "vi", "hi", "ar", "zh"]
STUDY = dict(study="xstilts", base={}, grid={"task": ["none", "mnli", "qqp", "mnli,qqp"]},
             targets=["xnli", "pawsx", "tatoeba"], langs=DEMO_LANGS, seeds=[1, 2, 3])
# dev: qqp best for XNLI, mnli for PAWS-X; mean ranks (XNLI, PAWS-X): qqp (1, 3), mnli (2, 1), both (3, 2) → Tatoeba
# takes mnli. Test: `mnli,qqp` best everywhere — a selection that peeked at test would pick it.
DEV = {"xnli": dict(qqp=80, mnli=75, both=70), "pawsx": dict(mnli=80, both=78, qqp=70)}
TEST = dict(none=60.0, mnli=62.0, qqp=63.0, both=66.0)


def name(keys):
    return "both" if keys["task"] == "mnli,qqp" else keys["task"]


def test_best_intermediate_task_is_chosen_on_dev_and_its_gain_recovered(tmp_path, monkeypatch):
    figures = {}
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.setdefault(path.name, fig))
    folder = synthetic.write(STUDY, tmp_path / "sweep", lambda k, t, lang: TEST[name(k)], seed_sd=0.2,
                             lang_seed_sd=0.2, examples=50_000, dev=lambda k, t: DEV[t].get(name(k), 50.0))
    report.write_report(folder)
    rep = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    best = {b["target"]: b for b in rep["best_per_target"]}
    assert best["xnli"]["cell"] == "task=qqp" and best["pawsx"]["cell"] == "task=mnli"
    assert best["tatoeba"]["cell"] == "task=mnli" and "rank" in best["tatoeba"]["how"]
    for t, b in best.items():  # the planted test gain of the chosen task over none, inside its interval
        planted = TEST[b["cell"].split("=")[1]] - TEST["none"]
        assert b["gain"]["ci_low"] < planted < b["gain"]["ci_high"], (t, b["gain"])
        assert b["gain"]["p_adj"] < 0.05
    for b in rep["best_per_target"]:  # the scores themselves: the planted test truth of the chosen task and of none
        assert b["test"]["estimate"] == pytest.approx(TEST[b["cell"].split("=")[1]], abs=0.5)
        assert b["baseline"]["estimate"] == pytest.approx(TEST["none"], abs=0.5)
    (cat,) = rep["categories"]  # classification = PAWS-X + XNLI, both selected: mnli (62) and qqp (63)
    assert cat["category"] == "classification" and cat["selected"]["estimate"] == pytest.approx(62.5, abs=0.5)
    assert cat["baseline"]["estimate"] == pytest.approx(60.0, abs=0.5)
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Against the paper" in md and "Chung et al." in md and "Hu et al." in md
    row = next(x for x in md.splitlines() if x.startswith("| classification |"))
    assert row.endswith("| 83.95 | 82.80 |")  # published averages: (87.9 + 80.0) / 2 and (86.4 + 79.2) / 2
    assert "xnli: task=qqp is best on dev" in " ".join(rep["answer"]["findings"])
    if figures:  # matplotlib present: the figure draws the report's numbers
        ax = figures["paper"].axes[0]
        line = next(x for x in ax.get_lines() if x.get_gid() == "test")
        assert np.allclose(np.asarray(line.get_ydata(), float), [b["test"]["estimate"] for b in rep["best_per_target"]])
        pub = next(x for x in ax.get_lines() if x.get_gid() == "published:0")
        assert pub.get_ydata()[0] == pytest.approx(80.0)  # X-STILTs' XNLI accuracy, as published


def test_no_dev_scores_means_no_selection_and_the_report_says_so(tmp_path):
    folder = synthetic.write(STUDY, tmp_path / "sweep", lambda k, t, lang: 60.0)
    report.write_report(folder)
    rep = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert rep["best_per_target"] == [] and rep["submission"] is None
    assert "no finding" in " ".join(rep["answer"]["findings"])


def test_published_rows_name_their_sources_and_disagreements_are_kept():
    data = paper.published()
    assert all(r["source"] and r["kind"] in ("xstilts", "baseline") for r in data["rows"])
    xs = next(r for r in data["rows"] if r["kind"] == "xstilts")["scores"]
    assert xs["xnli"] == {"accuracy": 80.0} and xs["mlqa"] == {"f1": 72.4, "exact_match": 53.7}
    for scores in (r["scores"] for r in data["rows"]):
        assert all(m["f1"] > m["exact_match"] for m in scores.values() if "exact_match" in m)  # EM/F1 not swapped
    rows = [dict(system="A", kind="baseline", scores={"xnli": {"accuracy": 79.2}}),
            dict(system="B", kind="baseline", scores={"xnli": {"accuracy": 79.0}})]
    assert paper._disagreements(rows) == ["xnli accuracy: A 79.2 vs B 79.0"]


def test_a_published_file_without_a_source_is_refused(tmp_path):
    bad = tmp_path / "published.yaml"
    bad.write_text(yaml.safe_dump(dict(rows=[dict(system="X", kind="xstilts", scores={"xnli": {"accuracy": 1}})])))
    with pytest.raises(xstilts.UserError, match="row 1 needs system, kind"):
        paper.published(bad)


def test_the_real_study_is_the_papers_grid_and_dry_runs_offline(capsys):
    study = yaml.safe_load((ROOT / "studies" / "xstilts.yaml").read_text(encoding="utf-8"))
    nine = ["anli_plus", "mnli", "qqp", "squad_v1", "squad_v2", "hellaswag", "cosmosqa", "commonsenseqa", "ccg"]
    assert study["grid"]["task"] == ["none", *nine, ",".join(nine)] and study["suite"] == "xtreme"
    assert xstilts.main(["sweep", "--config", str(ROOT / "studies" / "xstilts.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "GPU-hours" in out and "left out" in out and "CCGbank" in out  # no CCGbank here: said in one line


@pytest.mark.slow
def test_tiny_xstilts_study_end_to_end(tmp_path, capsys):
    """The demo world: the CCG cell is left out and said, the rest runs; the report holds the dev-selected system
    per target, its submission folder scored as `xstilts.py score` scores it, and the published rows."""
    from data_scripts import demo
    world = demo.make_world(tmp_path / "world")
    study = yaml.safe_load((ROOT / "studies" / "demo" / "xstilts.yaml").read_text(encoding="utf-8"))
    study["base"].update(model=str(world / "model"), data_dir=str(world / "data"), runs_dir=str(tmp_path))
    (tmp_path / "xstilts.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    assert xstilts.main(["sweep", "--config", str(tmp_path / "xstilts.yaml")]) == 0
    assert "cell(s) left out" in capsys.readouterr().out
    root = tmp_path / study["name"]
    assert (root / "results.csv").read_text().splitlines()[0] == "cell,task,model,seed,target,lang,metric,value"
    cells = json.loads((root / "cells.json").read_text())
    assert all(c["model"] == str(world / "model") for c in cells)
    assert {c["keys"]["task"] for c in cells if c.get("skipped")} == {"ccg"}
    assert all(set(c["dev"]) == {"xnli", "pawsx"} for c in cells if not c.get("skipped"))
    assert xstilts.main(["report", str(root)]) == 0
    rep = json.loads((root / "report.json").read_text())
    md = (root / "report.md").read_text()
    assert {b["target"] for b in rep["best_per_target"]} == {"xnli", "pawsx", "tatoeba"}
    for b in rep["best_per_target"]:  # chosen on dev: the candidate with the best mean dev score
        if b["how"] == "dev":
            assert b["dev"][b["cell"]] == max(b["dev"].values())
    assert "left out" in " ".join(rep["answer"]["caveats"]) and "ccg" in md
    sub = root / "submission"
    scores = json.loads((sub / "scores.json").read_text())
    assert scores["partial"] and rep["submission"]["partial"]
    for f in ("xnli", "pawsx", "tatoeba"):
        langs = sorted(p.name[5:].rsplit(".", 1)[0] for p in (sub / "predictions" / f).glob("test-*"))
        again = submission.score(sub / "predictions", sub / "labels", "xtreme", [f], langs)[f]
        assert again == scores[f]
        picked = rep["submission"]["systems"][f]  # the files are the picked eval stage's, byte for byte
        for p in (sub / "predictions" / f).glob("test-*"):
            assert p.read_bytes() == (root / picked["stage"] / "predictions" / f / p.name).read_bytes()
    assert "## Against the paper" in md and "Chung et al." in md
    assert re.search(r"\| no: \d+ of 15 langs \|", md)  # XNLI on the demo's 11 languages at most: not comparable
