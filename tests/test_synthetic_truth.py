"""Planted truths: sweep folders built by studies/synthetic.py from the real studies/*.yaml with known effects,
fed to `report`. Each study's Answer recovers a planted effect and does not report a planted null; the
figures draw the numbers the report states (a zero gain lies on zero)."""
import json
import sys

import numpy as np
import pytest
import yaml

from studies import languages, report, synthetic
from studies.compare import MAIN

TABLE = languages.table()
QUIET = dict(seed_sd=0.2, lang_seed_sd=0.2, examples=50_000)  # noise small enough for 3 seeds to see 1-point effects


def run(tmp_path, study, truth, **noise):
    folder = synthetic.write(study if isinstance(study, dict) else f"studies/{study}.yaml", tmp_path / "sweep",
                             truth, **{**QUIET, **noise})
    report.write_report(folder)
    return json.loads((folder / "report.json").read_text(encoding="utf-8")), (folder / "report.md").read_text()


def low(lang):
    return TABLE[lang]["joshi_class"] <= 2


def test_synthetic_sweep_has_the_documented_formats(tmp_path):
    folder = synthetic.write("studies/volume.yaml", tmp_path / "s", lambda k, t, lang: 50.0, seed_sd=0, lang_seed_sd=0)
    head = (folder / "results.csv").read_text().splitlines()[0]
    assert head == "cell,task,intermediate.max_train_examples,seed,target,lang,metric,value"
    cells = json.loads((folder / "cells.json").read_text())
    sizes = {c["train_examples"] for c in cells if c["keys"]["task"] == "mnli"}
    assert sizes == {1000, 4000, 16000, 64000, 392_702} and {c["seed"] for c in cells} == {1, 2, 3}
    rows = (folder / "results.csv").read_text().splitlines()[1:]
    assert {r.split(",")[-2] for r in rows} == {MAIN[t] for t in ("xcopa", "udpos", "panx", "tydiqa", "tatoeba")}


def test_volume_diminishing_for_low_resource_not_for_high(tmp_path):
    def truth(keys, t, lang):
        n = synthetic._train_examples(keys)
        if n is None:
            return 60.0
        return 60 + (4 * (1 - (n / 1000) ** -0.7) if low(lang) else 0.5 * np.log2(n / 1000))
    study = dict(yaml.safe_load(open("studies/volume.yaml", encoding="utf-8")), seeds=[1, 2, 3, 4, 5])
    rep, md = run(tmp_path, study, truth, rng=1)  # one fixed draw: the error rates themselves are test_stats.py's
    rows = [r for r in rep["volume"] if r["group"] in ("low", "high") and r["change"] and r["change"]["p"] is not None]
    assert {r["group"] for r in rows} == {"low", "high"}
    for r in rows:
        if r["group"] == "low":  # saturating: the gain per doubling falls
            assert r["change"]["p_adj"] < 0.05 and r["change"]["ci_high"] < 0, r["target"]
            # the planted curve gains 4·(1 - 2^-0.7)·(n/1000)^-0.7 per doubling: under 0.5 points from n = 4,977 on
            assert r["fit"]["preferred"] == "saturating" and r["fit"]["n_sat"] == pytest.approx(4977, rel=0.25)
        else:  # log-linear: a constant gain per doubling, no change reported
            assert r["change"]["p_adj"] >= 0.05, r["target"]  # not a finding (its 95% interval is per comparison)
            assert r["fit"]["n_sat"] is None
    answer = " ".join(rep["answer"]["findings"])
    assert "low-resource" in answer and "diminishing returns (" in answer
    assert all("high-resource" not in f or "no evidence of diminishing returns" in f for f in rep["answer"]["findings"])
    tydiqa = next(f for f in rep["answer"]["findings"] if f.startswith("tydiqa, task=mnli, low-resource (2 languages)"))
    assert "cannot be tested" in tydiqa and "the curve is untested" in tydiqa  # 2 languages: no claim either way
    assert md.index("## Answer") < md.index("## Setup")


def test_typology_syntax_only_does_not_report_resource_class(tmp_path):
    """The gain depends on syntactic distance alone; resource class is correlated with it. Bivariately the old
    report called resource class significant; net of syntax it must not be."""
    rep, md = run(tmp_path, "typology", lambda k, t, lang: 60 + (12 * TABLE[lang]["dist_syntax"] if k["task"] != "none"
                                                                    else 0))
    pooled = next(m for m in rep["models"] if m["target"] == "pooled")
    terms = {t["name"]: t for t in pooled["terms"]}
    assert terms["dist_syntax"]["p_adj"] < 0.05 and terms["dist_syntax"]["coef"] > 0
    for m in rep["models"]:
        for t in m["terms"]:
            assert t["name"] == "dist_syntax" or t["p_adj"] >= 0.05, (m["target"], t)
    syntax, joshi = (languages.FEATURES.index("dist_syntax"), 5)
    assert abs(pooled["correlations"][syntax][joshi]) > 0.2  # the confounding is real in these languages
    assert any("dist_syntax" in f for f in rep["answer"]["findings"])
    assert not any("joshi_class (" in f for f in rep["answer"]["findings"])


def test_ntasks_every_multitask_set_worse_than_its_best_member(tmp_path):
    single = dict(mnli=3.0, squad_v2=2.0, hellaswag=1.0, cosmosqa=0.5)

    def truth(keys, t, lang):
        tasks = str(keys["task"]).split(",")
        return 60 + (0 if tasks == ["none"] else max(single[x] for x in tasks) - 1.5 * (len(tasks) > 1))
    study = dict(yaml.safe_load(open("studies/ntasks.yaml", encoding="utf-8")), seeds=[1, 2, 3, 4, 5])
    rep, _ = run(tmp_path, study, truth)
    best = [r for r in rep["versus"] if "best single" in r["what"]]
    assert best and all(r["ci_high"] < 0 and r["p_adj"] < 0.05 for r in best)
    assert all("worse than the best single task" in f for f in rep["answer"]["findings"] if "best" in f)


def test_translated_null_diagonal_is_not_reported(tmp_path):
    rep, _ = run(tmp_path, "translated", lambda k, t, lang: 60 + (k["task"] != "none") * 1.0)
    assert rep["diagonal"] and all(r["p_adj"] is None or r["p_adj"] >= 0.05 for r in rep["diagonal"])
    assert all(p["p_adj"] is None or p["p_adj"] >= 0.05 for p in rep["diagonal_pooled"])


def test_translated_planted_diagonal_is_recovered(tmp_path):
    def truth(keys, t, lang):
        task = str(keys["task"])
        return 60 + (task != "none") * 1.0 + 2.0 * (task.endswith("@" + lang))
    rep, _ = run(tmp_path, "translated", truth)
    for p in rep["diagonal_pooled"]:
        assert p["ci_low"] <= 2.0 <= p["ci_high"] and p["p_adj"] < 0.05, p


def test_the_volume_figure_draws_the_reported_gains(tmp_path, monkeypatch):
    """A group with no gain lies on zero, whatever its languages' baselines; every plotted mean is a reported one."""
    pytest.importorskip("matplotlib")
    figures = {}
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.setdefault(path.name, fig))
    base = {lang: 40 + 30 * TABLE[lang]["joshi_class"] / 5 for lang in TABLE}  # baselines far apart

    def truth(keys, t, lang):
        n = synthetic._train_examples(keys)
        return base[lang] + (0 if n is None or low(lang) else 0.5 * np.log2(n / 1000))
    rep, _ = run(tmp_path, "volume", truth, seed_sd=0, lang_seed_sd=0, examples=10**9)
    for r in [r for r in rep["volume"] if r["group"] != "all"]:
        ax = figures[f"volume_{r['target']}_task_mnli"].axes[0]
        (line,) = [x for x in ax.get_lines() if x.get_gid() == f"mean:{r['group']}"]
        assert list(line.get_xdata()) == r["n"] and np.allclose(line.get_ydata(), r["mean_gain"])
        if r["group"] == "low":
            assert np.allclose(line.get_ydata(), 0, atol=0.01)  # no gain: on zero
        from matplotlib.colors import to_rgba
        mine = [coll for c in ax.containers for coll in c.lines[2]
                if np.allclose(coll.get_colors()[0], to_rgba(line.get_color()))]  # this group's interval bars
        drawn = any(np.ptp(np.asarray(seg)[:, 1]) > 0 for coll in mine for seg in coll.get_segments())
        assert drawn == (len(r["langs"]) >= report.MIN_LANGS)  # bars only where the tables print an interval
        baseline = [x for x in ax.get_lines() if x.get_label().startswith("baseline")]
        assert baseline and np.allclose(baseline[0].get_ydata(), 0)


def test_robustness_planted_worst_language_gain_and_null_spread(tmp_path):
    """All data sizes lift every language by 2 points (worst language +2, spread unchanged): the worst-language
    difference is found at every size, the spread difference nowhere; the baseline is a row of its own."""
    def truth(keys, t, lang):
        return 50 + 10 * TABLE[lang]["joshi_class"] / 5 + (2.0 if keys["task"] != "none" else 0)
    rep, md = run(tmp_path, "robustness", truth)
    rows = rep["robustness_vs_size"]
    assert {r["series"] for r in rows} >= {"baseline"} and "| baseline |" in md.replace("| task=mnli |", "|")
    for r in [r for r in rows if r["series"] != "baseline"]:
        w, sp = r["worst_vs_baseline"], r["spread_vs_baseline"]
        assert w["ci_low"] <= 2.0 <= w["ci_high"] and w["p_adj"] < 0.05, (r["target"], r["n"], w)
        assert sp["p_adj"] is None or sp["p_adj"] >= 0.05, (r["target"], r["n"], sp)


def test_every_figure_draws_the_numbers_of_its_report(tmp_path, monkeypatch):
    """typology's coefficients, ntasks' differences, robustness' baseline lines, translated's cells: each read
    back from the figure and compared with report.json."""
    pytest.importorskip("matplotlib")
    figures = {}
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.setdefault(path.name, fig))
    rep, _ = run(tmp_path / "t", "typology", lambda k, t, lang: 60 + (12 * TABLE[lang]["dist_syntax"]
                                                                      if k["task"] != "none" else 0))
    for m in [m for m in rep["models"] if m["terms"]]:
        line = next(x for x in figures[f"typology_{m['target']}_task_mnli"].axes[0].get_lines() if x.get_gid() == "coef")
        assert np.allclose(line.get_xdata(), [x["coef"] for x in m["terms"]])
    single = dict(mnli=3.0, squad_v2=2.0, hellaswag=1.0, cosmosqa=0.5)
    study = dict(yaml.safe_load(open("studies/ntasks.yaml", encoding="utf-8")), seeds=[1, 2, 3])
    rep, _ = run(tmp_path / "n", study, lambda k, t, lang: 60 + (0 if k["task"] == "none" else max(
        single[x] for x in str(k["task"]).split(","))))
    for t in ("xnli", "xcopa"):
        line = next(x for x in figures[f"ntasks_{t}"].axes[0].get_lines() if x.get_gid() == "diff")
        best = [r for r in rep["versus"] if r["target"] == t and "best single" in r["what"]]
        assert np.allclose(line.get_ydata(), [r["gain"] for r in best]) and list(line.get_xdata()) == [r["k"] for r in best]
    rep, _ = run(tmp_path / "r", "robustness", lambda k, t, lang: 55.0)
    for t in ("panx", "xcopa", "tatoeba"):
        axes = figures[f"robustness_{t}"].axes
        base = next(r for r in rep["robustness_vs_size"] if r["target"] == t and r["series"] == "baseline")
        for ax, key in zip(axes, ("seed_sd", "worst", "spread")):
            (line,) = [x for x in ax.get_lines() if x.get_gid() == f"baseline:{key}"]
            assert np.allclose(line.get_ydata(), base[key])
    rep, _ = run(tmp_path / "x", "translated", lambda k, t, lang: 60 + 2.0 * str(k["task"]).endswith("@" + lang))
    heat = figures["translated_xnli"].axes[0].get_images()[0].get_array()
    rows = sorted({h["row"] for h in rep["heatmap"] if h["target"] == "xnli"})
    for i, lang in enumerate(rows):  # the diagonal: row L, column L
        h = next(h for h in rep["heatmap"] if (h["target"], h["row"], h["lang"]) == ("xnli", lang, lang))
        assert heat[i, i] == pytest.approx(h["vs_english"])


EUROPE = yaml.safe_load(open("studies/groups.yaml", encoding="utf-8"))["groups"]["europe"]


def groups_reports(tmp_path, monkeypatch, gains, draws):
    """The groups study on `draws` synthetic sweeps (each its own language deviations and noise), without figures."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # figures: test_the_groups_figure_draws_the_reported_gains
    return [run(tmp_path / str(r), "groups", synthetic.group_effect(EUROPE, gains, spread=0.3, rng=r), rng=r)
            for r in range(draws)]


def test_groups_planted_difference_is_recovered(tmp_path, monkeypatch):
    """European languages gain 3 points, non-European 1 (each language ± 0.3 of its group's): european − non-european
    is found on every target with 3+ languages a side, its interval holding +2; TyDiQA's 2 European languages give
    the estimate alone."""
    covered, tested = 0, 0
    for rep, md in groups_reports(tmp_path, monkeypatch, {"european": 3.0, "non-european": 1.0}, draws=8):
        for w in rep["group_differences"]:
            assert w["what"] == "european − non-european" and w["by"] == "europe", w
            if w["target"] == "tydiqa":  # fi, ru
                assert w["n_a"] == 2 and w["p"] is None and "no test possible" in w["why"]
                continue
            tested += 1
            covered += w["lo"] <= 2.0 <= w["hi"]
            assert w["p_adj"] < 0.05 and w["lo"] > 0, w
        found = [f for f in rep["answer"]["findings"] if "european − non-european" in f]
        assert len(found) == 5 and sum("european languages gain more than non-european" in f for f in found) == 4
        assert "## Language groups" in md and "every zero-shot language is in a group" in md
    assert tested == 32 and covered / tested >= 0.85, covered


def test_groups_planted_null_is_not_a_finding(tmp_path, monkeypatch):
    """Both groups gain 1 point: over 20 draws, a group difference survives Holm in at most 2 reports (a 5%
    family-wise rate: 1 expected), and the Answer calls every other one no evidence of a difference."""
    false = 0
    for rep, _ in groups_reports(tmp_path, monkeypatch, {"european": 1.0, "non-european": 1.0}, draws=20):
        tested = [w for w in rep["group_differences"] if w["p"] is not None]
        assert len(tested) == 4
        false += any(w["p_adj"] < 0.05 for w in tested)
        if not any(w["p_adj"] < 0.05 for w in tested):
            found = [f for f in rep["answer"]["findings"] if "european − non-european" in f and "no test" not in f]
            assert len(found) == 4 and all("no evidence of a difference" in f for f in found), found
    assert false <= 2, false


def test_the_groups_figure_draws_the_reported_gains(tmp_path, monkeypatch):
    """Gains drawn as gains: the non-European group (no gain) on zero, the European one at +2 above it; every
    diamond a reported group mean, every dot a reported per-language gain."""
    pytest.importorskip("matplotlib")
    figures = {}
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.setdefault(path.name, fig))
    study = dict(yaml.safe_load(open("studies/groups.yaml", encoding="utf-8")), targets=["xquad", "tydiqa"])
    base = {lang: 40 + 30 * TABLE[lang]["joshi_class"] / 5 for lang in TABLE}  # baselines far apart
    planted = synthetic.group_effect(EUROPE, {"european": 2.0})
    rep, _ = run(tmp_path, study, lambda k, t, lang: planted(k, t, lang) - 60 + base[lang], seed_sd=0,
                 lang_seed_sd=0, examples=10**9)
    assert rep["plots"] == ["groups_xquad.png", "groups_tydiqa.png"]
    gain = {(g["target"], g["lang"]): g["gain"] for g in rep["gains"]}
    for t in ("xquad", "tydiqa"):
        ax = figures[f"groups_{t}"].axes[0]
        rows = [g for g in rep["groups"] if g["target"] == t and g["group"] != "all"]
        (line,) = [x for x in ax.get_lines() if x.get_gid() == "mean:task=mnli"]
        assert np.allclose(line.get_ydata(), [r["estimate"] for r in rows])
        assert np.allclose(line.get_ydata(), [2.0, 0.0], atol=0.01)  # european, non-european: sign and size
        for r in rows:
            (dots,) = [x for x in ax.get_lines() if x.get_gid() == f"langs:task=mnli:{r['group']}"]
            assert np.allclose(dots.get_ydata(), [gain[t, lang] for lang in r["langs"]])
        baseline = [x for x in ax.get_lines() if x.get_label().startswith("baseline")]
        assert baseline and np.allclose(baseline[0].get_ydata(), 0)
        (w,) = [w for w in rep["group_differences"] if w["target"] == t]  # the title states the difference
        assert f"european − non-european: {w['diff']:+.2f}" in ax.get_title() and w["diff"] == pytest.approx(2, abs=0.01)


ENCODER_GAIN = {"FacebookAI/xlm-roberta-large": 2.0, "microsoft/infoxlm-large": 2.0,
                "intfloat/multilingual-e5-large": 1.0, "facebook/xlm-v-base": 2.0, "cis-lmu/glot500-base": 0.0}


def test_encoders_planted_gains_recovered_and_the_null_encoder_not_reported(tmp_path, monkeypatch):
    """Each encoder gains its planted amount over its own baseline (the baselines planted far apart); the null
    encoder's gain is not a finding, and its difference from XLM-R large (-2) is; the figure draws the report's
    gains and intervals, with their sign."""
    pytest.importorskip("matplotlib")
    figures = {}
    monkeypatch.setattr(report, "_save", lambda fig, path: figures.setdefault(path.name, fig))
    models = list(ENCODER_GAIN)
    study = dict(yaml.safe_load(open("studies/encoders.yaml", encoding="utf-8")), seeds=[1, 2, 3, 4, 5])
    rep, md = run(tmp_path, study, lambda k, t, lang: 40 + 8 * models.index(k["model"])
                  + ENCODER_GAIN[k["model"]] * (k["task"] != "none"), seed_sd=0.1, lang_seed_sd=0.1)
    rows = rep["encoder_gains"]
    assert len(rows) == 5 * 2 * 4 and rep["reference"] == models[0]
    covered = [r["ci_low"] <= ENCODER_GAIN[r["model"]] <= r["ci_high"] for r in rows]
    assert sum(covered) >= 0.9 * len(rows)  # 95% intervals: one fixed draw, a few may miss
    for r in rows:
        assert r["estimate"] == pytest.approx(ENCODER_GAIN[r["model"]], abs=0.5), r
        assert (r["p_adj"] < 0.05) == (ENCODER_GAIN[r["model"]] > 0), r  # the null encoder: never a finding
    diffs = {(r["model"], r["task"], r["target"]): r for r in rep["encoder_differences"]}
    assert len(diffs) == 4 * 2 * 4 and all(r["reference"] == models[0] for r in diffs.values())
    for (m, task, t), r in diffs.items():
        planted = ENCODER_GAIN[m] - ENCODER_GAIN[models[0]]
        assert r["diff"] == pytest.approx(planted, abs=0.5), r
        if planted == 0:
            assert r["p_adj"] >= 0.05, r  # infoxlm and xlm-v gain as much as XLM-R: not reported as different
    null = [f for f in rep["answer"]["findings"] if f.startswith("cis-lmu/glot500-base")]
    assert len(null) == 8 and all("no evidence that it helps" in f for f in null)
    assert all(" helps (" in f for f in rep["answer"]["findings"] if f.startswith("FacebookAI/xlm-roberta-large"))
    assert "## Intermediate training across encoders" in md and "- encoder(s): FacebookAI/xlm-roberta-large, " in md
    for t in ("xnli", "panx", "xquad", "tatoeba"):
        ax = figures[f"encoders_{t}"].axes[0]
        for task in ("mnli", "squad_v2"):
            mine = {r["model"]: r for r in rows if (r["target"], r["task"]) == (t, task)}
            bars = [b for b in ax.patches if b.get_gid() == f"gain:{task}"]
            assert [b.get_height() for b in bars] == pytest.approx([mine[m]["estimate"] for m in models])
            assert [round(b.get_x() + b.get_width() / 2) for b in bars] == list(range(5))  # in the grid's order
        drawn = sorted(tuple(sorted(np.asarray(seg)[:, 1])) for c in ax.containers if hasattr(c, "lines")
                       for coll in c.lines[2] for seg in coll.get_segments())
        want = sorted((r["ci_low"], r["ci_high"]) for r in rows if r["target"] == t)
        assert np.allclose(drawn, want)
