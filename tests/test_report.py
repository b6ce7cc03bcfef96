"""studies/report.py on hand-made sweep folders (study.yaml, results.csv, cells.json) of known structure:
gains against hand-computed seed-paired means, each study's section against the numbers it was built from,
plots with and without matplotlib, and the one-line errors that leave no report behind."""
import csv
import itertools
import json
import sys
import zlib

import numpy as np
import pytest
import yaml

from util import UserError
from studies import languages, report, stats

LANGS = ["de", "fr", "ru", "ar", "hi", "sw", "ur", "th", "zh", "tr", "yo", "mr"]  # sw, yo, mr: Joshi class 2
SECTIONS = ["## Setup", "## Scores", "## Gains over the baseline", "## Robustness"]


def sweep(folder, study, score, langs=LANGS, targets=("xnli",), cell_info=None):
    """Write a sweep: every grid combination × seed × target × language gets score(keys, seed, target, lang)."""
    folder.mkdir(exist_ok=True)
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    grid = study["grid"]
    combos = [dict(zip(grid, vals)) for vals in itertools.product(*grid.values())]
    cells, rows = [], []
    for i, keys in enumerate(combos):
        for seed in study["seeds"]:
            cell = f"c{i:02d}s{seed}"
            info = dict(train_examples=None, ntasks=0 if keys["task"] == "none" else len(keys["task"].split(",")),
                        inter_lang="none" if keys["task"] == "none" else (keys["task"].split("@") + ["en"])[1])
            cells.append(dict(cell=cell, keys=keys, seed=seed, **{**info, **(cell_info(keys) if cell_info else {})}))
            for t in targets:
                for lang in langs:
                    v = score(keys, seed, t, lang)
                    if v is not None:
                        rows.append([cell, *keys.values(), seed, t, lang, report.METRIC[t], v])
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["cell", *grid, "seed", "target", "lang", "metric", "value"], *rows])
    (folder / "cells.json").write_text(json.dumps(cells), encoding="utf-8")
    return folder


def read(folder):
    return (folder / "report.md").read_text(encoding="utf-8"), json.loads((folder / "report.json").read_text())


def noise(*parts):
    return np.random.default_rng(zlib.crc32(repr(parts).encode())).normal()


def test_gains_pair_seeds_then_average(tmp_path):
    values = {(task, seed, lang): 50 + 3 * seed + 5 * (task == "mnli") + noise(task, seed, lang)
              for task in ("none", "mnli") for seed in (1, 2, 3) for lang in LANGS}
    d = sweep(tmp_path / "s", dict(grid=dict(task=["none", "mnli"]), seeds=[1, 2, 3], targets=["xnli", "xquad"]),
              lambda k, s, t, lang: values[(k["task"], s, lang)] if t == "xnli" else None)
    md, rep = read(report.write_report(d).parent)
    assert rep["baseline"] == ["task=none"] and rep["metrics"] == {"xnli": "accuracy"}
    assert {g["lang"] for g in rep["gains"]} == set(LANGS) and {g["cell"] for g in rep["gains"]} == {"task=mnli"}
    ss = pytest.importorskip("scipy.stats")
    for g in rep["gains"]:
        paired = [values[("mnli", s, g["lang"])] - values[("none", s, g["lang"])] for s in (1, 2, 3)]
        want = ss.t.interval(0.95, 2, loc=np.mean(paired), scale=ss.sem(paired))  # Student-t over the 3 seeds
        assert g["gain"] == pytest.approx(np.mean(paired)) and (g["ci_low"], g["ci_high"]) == pytest.approx(want)
    (summary,) = rep["gain_summary"]
    assert summary["gain"] == pytest.approx(np.mean([g["gain"] for g in rep["gains"]]))
    assert summary["ci_low"] <= summary["gain"] <= summary["ci_high"] and summary["share_improved"] == 1.0
    assert summary["p_adj"] is not None and "## Answer" in md and md.index("## Answer") < md.index("## Setup")
    per_seed = [np.mean([values[("mnli", s, x)] - values[("none", s, x)] for x in LANGS]) for s in (1, 2, 3)]
    want = ss.t.interval(0.95, 2, loc=np.mean(per_seed), scale=ss.sem(per_seed))  # these languages: t over seeds
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx(want)
    low = [x for x in LANGS if languages.resource_group(x) == "low"]
    groups = {g["group"]: g for g in rep["groups"]}
    for name, members in (("all", LANGS), ("low", low), ("high", [x for x in LANGS if x not in low])):
        means = [np.mean([values[("mnli", s, x)] - values[("none", s, x)] for x in members]) for s in (1, 2, 3)]
        r = groups[name]  # the group's mean per seed, Student-t over seeds
        assert r["n_langs"] == len(members) and r["estimate"] == pytest.approx(np.mean(means))
        assert (r["ci_low"], r["ci_high"]) == pytest.approx(ss.t.interval(0.95, 2, loc=np.mean(means),
                                                                          scale=ss.sem(means)))
    (w,) = rep["group_differences"]  # low − high: Welch over the per-language means
    lang_mean = {x: np.mean([values[("mnli", s, x)] - values[("none", s, x)] for s in (1, 2, 3)]) for x in LANGS}
    ref = ss.ttest_ind([lang_mean[x] for x in low], [lang_mean[x] for x in LANGS if x not in low], equal_var=False)
    assert w["p"] == pytest.approx(ref.pvalue) and w["diff"] == pytest.approx(
        np.mean([lang_mean[x] for x in low]) - np.mean([lang_mean[x] for x in LANGS if x not in low]))
    table = list(csv.reader((d / "tables" / "gains.csv").read_text(encoding="utf-8").splitlines()))
    assert table[0][:3] == ["cell", "target", "these languages [CI]"] and table[1][:2] == ["task=mnli", "xnli"]
    assert f"| {' | '.join(table[1])} |" in md  # the CSV holds what report.md shows
    tex = (d / "tables" / "scores.tex").read_text(encoding="utf-8")
    assert "\\toprule" in tex and "\\bottomrule" in tex and "task=none" in tex and "tables/scores.csv" in rep["tables"]
    assert all(h in md for h in SECTIONS) and "target xquad: no results yet" in md


def test_each_model_gains_over_its_own_baseline(tmp_path):
    """A grid `model` makes one baseline system per encoder: model b's MNLI cell is paired with b's baseline, not
    a's (planted 20 points apart), and each model's gain is its planted one."""
    base, gain = dict(a=40.0, b=60.0), dict(a=2.0, b=-1.0)
    d = sweep(tmp_path / "s", dict(grid=dict(model=["a", "b"], task=["none", "mnli"]), seeds=[1, 2, 3]),
              lambda k, s, t, lang: base[k["model"]] + gain[k["model"]] * (k["task"] == "mnli") + 0.1 * noise(k, s, lang))
    md, rep = read(report.write_report(d).parent)
    assert rep["baseline"] == ["model=a,task=none", "model=b,task=none"]
    summary = {g["cell"]: g for g in rep["gain_summary"]}
    assert set(summary) == {"model=a,task=mnli", "model=b,task=mnli"}
    for m in ("a", "b"):
        assert summary[f"model={m},task=mnli"]["gain"] == pytest.approx(gain[m], abs=0.2), m
        assert all(abs(g["gain"] - gain[m]) < 0.5 for g in rep["gains"] if g["cell"] == f"model={m},task=mnli")
    rob = {r["cell"]: r for r in rep["robustness"]}
    assert rob["model=b,task=mnli"]["share_improved"] == 0.0 and rob["model=a,task=mnli"]["share_improved"] == 1.0
    assert "no baseline with its grid keys" not in md and "- encoder(s): a, b\n" in md


def test_an_encoder_without_its_baseline_gets_no_gain_and_says_so(tmp_path):
    d = sweep(tmp_path / "s", dict(study="encoders", grid=dict(model=["a", "b"], task=["none", "mnli"]), seeds=[1, 2]),
              lambda k, s, t, lang: None if k == dict(model="b", task="none") else 50.0 + s + noise(k, s, lang))
    md, rep = read(report.write_report(d).parent)
    assert rep["baseline"] == ["model=a,task=none"] and {r["model"] for r in rep["encoder_gains"]} == {"a"}
    assert rep["encoder_differences"] == []
    assert "model=b,task=mnli: no baseline results for this encoder, so no gain" in rep["answer"]["findings"]
    assert "model=b,task=mnli: no baseline with its grid keys, so no gains" in md


def test_setup_names_the_encoder(tmp_path):
    """cells.json's `model` (what the sweep ran) first, else study.yaml's base.model."""
    study = dict(base=dict(model="FacebookAI/xlm-roberta-large"), grid=dict(task=["none", "mnli"]), seeds=[1, 2])
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: 50.0 + s + noise(k, s, lang))
    md, _ = read(report.write_report(d).parent)
    assert "- encoder(s): FacebookAI/xlm-roberta-large\n" in md
    d = sweep(tmp_path / "c", study, lambda k, s, t, lang: 50.0 + s + noise(k, s, lang),
              cell_info=lambda keys: dict(model="runs/local-xlmr"))
    md, _ = read(report.write_report(d).parent)
    assert "- encoder(s): runs/local-xlmr\n" in md


def test_one_seed_has_no_ci_and_the_study_metric_wins(tmp_path):
    study = dict(grid=dict(task=["none", "mnli"]), seeds=[0], targets=["xnli"], metric="macro_f1")
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: 40.0 + (k["task"] == "mnli") * 2)
    with open(d / "results.csv", "a", newline="") as f:  # a second metric: the study asks for it
        csv.writer(f).writerows([[c, task, 0, "xnli", "de", "macro_f1", v] for c, task, v in
                                 (("c00s0", "none", 10.0), ("c01s0", "mnli", 13.5))])
    _, rep = read(report.write_report(d).parent)
    assert rep["metrics"] == {"xnli": "macro_f1"}
    (g,) = rep["gains"]
    assert (g["lang"], g["gain"], g["ci_low"], g["ci_high"]) == ("de", 3.5, None, None)
    assert g["why"] == "1 replicate: no interval"


def test_typology_each_feature_net_of_the_others(tmp_path):
    table = languages.table()
    features = [*languages.FEATURES, "joshi_class"]
    langs = ["en"] + [lang for lang in LANGS if all(table[lang].get(f) is not None for f in features)]
    gain = {lang: 20 * float(table[lang]["dist_syntax"]) + 0.3 * noise(lang) for lang in langs}
    d = sweep(tmp_path / "s", dict(study="typology", grid=dict(task=["none", "mnli"]), seeds=[0, 1]),
              lambda k, s, t, lang: 60 + s + (gain[lang] if k["task"] == "mnli" else 0), langs=langs)
    md, rep = read(report.write_report(d).parent)
    (m,) = rep["models"]
    assert m["langs"] == sorted(langs[1:]) and m["n"] == len(langs) - 1  # English, the source, left out
    X = np.array([[float(table[lang][f]) for f in features] for lang in m["langs"]])
    Z = np.column_stack([np.ones(len(X)), (X - X.mean(0)) / X.std(0, ddof=1)])
    want = np.linalg.lstsq(Z, [gain[lang] for lang in m["langs"]], rcond=None)[0][1:]
    assert [t["coef"] for t in m["terms"]] == pytest.approx(want.tolist())
    syntax = next(t for t in m["terms"] if t["name"] == "dist_syntax")
    assert syntax["p_adj"] < 0.05 and syntax["lo"] > 0
    assert "dist_syntax" in rep["answer"]["findings"][0] and all(h in md for h in SECTIONS)


def test_volume_gain_per_doubling_languages_as_unit(tmp_path):
    sizes = {"1000": 1000, "4000": 4000, "16000": 16000, "0": 64000}  # 0 = all of MNLI: cells.json has the count
    b = {lang: 0.5 + 0.25 * i for i, lang in enumerate(LANGS)}
    study = dict(study="volume", grid={"task": ["none", "mnli"], "intermediate.max_train_examples": list(sizes)},
                 seeds=[0, 1], threshold=1.1)
    n_of = lambda k: sizes[str(k["intermediate.max_train_examples"])] if k["task"] == "mnli" else None  # noqa: E731
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: 30 + s + (b[lang] * np.log2(n_of(k)) if n_of(k) else 0),
              cell_info=lambda k: dict(train_examples=n_of(k)))
    md, rep = read(report.write_report(d).parent)
    rows = {r["group"]: r for r in rep["volume"] if r["target"] == "xnli"}
    assert rows["all"]["n"] == [1000, 4000, 16000, 64000]
    assert rep["baseline"] == ["task=none"]  # one baseline system, not one per size (a size does not apply to it)
    assert [s["cell"] for s in rep["scores"]].count("task=none") == 1
    assert rows["all"]["slope"]["estimate"] == pytest.approx(np.mean(list(b.values())))
    groups = {lang: languages.resource_group(lang) for lang in LANGS}
    for g in ("low", "high"):
        mine = [b[x] for x in LANGS if groups[x] == g]
        assert rows[g]["slope"]["estimate"] == pytest.approx(np.mean(mine)) and rows[g]["slope"]["n_langs"] == len(mine)
        assert rows[g]["change"]["estimate"] == pytest.approx(0, abs=1e-9)  # log-linear: no change per doubling
        assert rows[g]["fit"]["n_sat"] is None and rows[g]["fit"]["preferred"] == "log-linear"
        for p in rows[g]["per_interval"]:  # log-linear in n: every interval gains b per doubling
            assert p["estimate"] == pytest.approx(np.mean(mine)) and p["n_langs"] == len(mine)
    (w,) = [w for w in rep["volume_differences"] if w["target"] == "xnli"]
    low = [b[x] for x in LANGS if groups[x] == "low"]
    assert w["diff"] == pytest.approx(np.mean(low) - np.mean([b[x] for x in LANGS if groups[x] == "high"]))
    assert "## Diminishing returns" in md and all(h in md for h in SECTIONS)


def test_ntasks_best_sets_chosen_on_other_seeds(tmp_path):
    mean = {"none": 50, "mnli": 55, "squad_v2": 53, "mnli,squad_v2": 56, "mnli,squad_v2,hellaswag": 54}
    d = sweep(tmp_path / "s", dict(study="ntasks", grid=dict(task=list(mean)), seeds=[0, 1, 2]),
              lambda k, s, t, lang: mean[k["task"]] + (s - 0.5) + 0.3 * noise(k["task"], s))
    md, rep = read(report.write_report(d).parent)
    by_k = {r["k"]: r for r in rep["by_k"]}
    assert sorted(by_k) == [0, 1, 2, 3] and by_k[1]["n_sets"] == 2
    assert by_k[1]["mean_over_sets"] == pytest.approx(54, abs=0.5)
    versus = {r["what"]: r for r in rep["versus"]}
    two = versus["best 2-task set − best single task"]
    avg = lambda task, s: mean[task] + (s - 0.5) + 0.3 * noise(task, s)  # noqa: E731
    assert two["gain"] == pytest.approx(np.mean([avg("mnli,squad_v2", s) - avg("mnli", s) for s in (0, 1, 2)]))
    assert versus["task=mnli,squad_v2,hellaswag − its best member"]["gain"] < 0
    assert "## Number of intermediate tasks" in md and "not matched" in rep["compute"]


def test_robustness_per_size_against_the_baseline(tmp_path):
    study = dict(study="robustness", grid={"task": ["none", "mnli"], "intermediate.max_train_examples": [100, 1000]},
                 seeds=[0, 1, 2])
    size = lambda k: int(k["intermediate.max_train_examples"]) if k["task"] == "mnli" else None  # noqa: E731
    spread = {None: 4.0, 100: 3.0, 1000: 1.0}  # seed spread shrinks with more data
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: 50 + LANGS.index(lang) + spread[size(k)] * (s - 1)
              + (size(k) or 0) / 100, cell_info=lambda k: dict(train_examples=size(k)))
    md, rep = read(report.write_report(d).parent)
    rows = {r["n"]: r for r in rep["robustness_vs_size"]}
    assert sorted(rows, key=str) == [100, 1000, None] and rows[None]["series"] == "baseline"
    for n, r in rows.items():
        assert r["seed_sd"] == pytest.approx(spread[n]) and r["seed_sd_ci"][0] < r["seed_sd"] < r["seed_sd_ci"][1]
        assert r["worst_lang"] == "de" and r["worst"] == pytest.approx(50 + (n or 0) / 100)
        assert r["spread"] == pytest.approx(len(LANGS) - 1)
    assert rows[1000]["worst_vs_baseline"]["estimate"] == pytest.approx(10)
    assert rows[1000]["spread_vs_baseline"]["estimate"] == pytest.approx(0)
    assert "## Robustness vs data volume" in md and all(h in md for h in SECTIONS)


def test_translated_diagonal_and_gain_over_english(tmp_path):
    bonus = {"none": 0, "mnli": 3, "mnli@hi": 2, "mnli@sw": 1}
    d = sweep(tmp_path / "s", dict(study="translated", grid=dict(task=list(bonus)), seeds=[0, 1]),
              lambda k, s, t, lang: 40 + s + bonus[k["task"]] + 4 * (k["task"] == f"mnli@{lang}"))
    md, rep = read(report.write_report(d).parent)
    heat = {(h["row"], h["lang"]): h for h in rep["heatmap"]}
    assert heat[("hi", "hi")]["gain"] == pytest.approx(6) and heat[("hi", "hi")]["vs_english"] == pytest.approx(3)
    assert heat[("sw", "de")]["vs_english"] == pytest.approx(-2) and heat[("sw", "hi")]["gain"] == pytest.approx(1)
    diag = {r["inter_lang"]: r for r in rep["diagonal"] if r["on"] == r["inter_lang"]}
    (kin,) = [r for r in rep["diagonal"] if r["inter_lang"] == "hi" and r["on"] != "hi"]  # Hindi data on ur, mr
    assert kin["on"] == "hi's genus (Indic: mr ur)" and kin["gain"] == pytest.approx(-1)
    assert diag["hi"]["gain"] == pytest.approx(3) and diag["sw"]["gain"] == pytest.approx(2)
    (pooled,) = rep["diagonal_pooled"]
    assert pooled["n_langs"] == 2 and pooled["p"] is None and "no test" in pooled["why"]  # 2 languages: no test
    assert "## Intermediate language × target language" in md and all(h in md for h in SECTIONS)


def test_plots_with_and_without_matplotlib(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    study = dict(study="ntasks", grid=dict(task=["none", "mnli", "mnli,squad_v2"]), seeds=[0, 1])
    score = lambda k, s, t, lang: 50.0 + len(k["task"]) + s  # noqa: E731
    md, rep = read(report.write_report(sweep(tmp_path / "a", study, score)).parent)
    assert rep["plots"] and all((tmp_path / "a" / p).stat().st_size > 0 for p in rep["plots"])
    assert all(f"]({p})" in md for p in rep["plots"])
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    md, rep = read(report.write_report(sweep(tmp_path / "b", study, score)).parent)
    assert rep["plots"] == [] and not list((tmp_path / "b").glob("*.png"))
    assert "pip install matplotlib" in md and "pip install matplotlib" in capsys.readouterr().out


def test_half_finished_sweep_says_what_is_missing(tmp_path):
    study = dict(grid=dict(task=["none", "mnli"]), seeds=[0, 1], targets=["xnli"])
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: None if (k["task"], s) == ("mnli", 1) or
              (s == 0 and lang == "sw" and k["task"] == "mnli") else 50.0)
    md, rep = read(report.write_report(d).parent)
    assert "cell c01s1 (task=mnli, seed 1): no results yet" in rep["missing"]
    assert any("task=mnli, xnli" in m and "without sw" in m for m in rep["missing"])
    assert {g["lang"] for g in rep["gains"]} == set(LANGS) - {"sw"}


@pytest.mark.parametrize("problem, message", [
    ("no baseline", r"the baseline \(task none\) has no results in results.csv; add `none` to grid.task"),
    ("unknown study", "unknown study `vibes`"),
    ("no cells.json", "has no cells.json"),
    ("a NaN score", r"results.csv line 2: .*'nan' is not a finite number"),
    ("not UTF-8", r"results.csv: not UTF-8 \(byte \d+\); sweep writes UTF-8")])
def test_errors_are_one_line_and_write_nothing(tmp_path, problem, message):
    study = dict(study="vibes" if problem == "unknown study" else "typology", seeds=[0],
                 grid=dict(task=["mnli"] if problem == "no baseline" else ["none", "mnli"]))
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: float("nan") if problem == "a NaN score" else 50.0)
    if problem == "no cells.json":
        (d / "cells.json").unlink()
    if problem == "not UTF-8":
        (d / "results.csv").write_bytes((d / "results.csv").read_bytes() + "ß".encode("latin-1"))
    with pytest.raises(UserError, match=message) as e:
        report.write_report(d)
    assert "\n" not in str(e.value)
    assert not [p.name for p in d.iterdir() if p.name.startswith("report") or p.suffix == ".png"]


def test_generic_study_without_baseline_reports_scores_only(tmp_path):
    d = sweep(tmp_path / "s", dict(grid=dict(task=["mnli"], lr=[1e-5, 2e-5]), seeds=[0]),
              lambda k, s, t, lang: 60.0 + (k["lr"] == 2e-5))
    md, rep = read(report.write_report(d).parent)
    assert rep["baseline"] == [] and rep["gains"] == [] and rep["plots"] == []
    assert [s["mean"] for s in rep["scores"]] == [60.0, 61.0] and all(h in md for h in SECTIONS)


def test_a_model_that_predicts_one_class_is_left_out(tmp_path):
    """From the scores alone: accuracy q with macro-F1 2q/(1+q)/3 on XNLI is one class for every example; that
    (cell, language) leaves the statistics and is named in the caveats; keep_collapsed puts it back."""
    study = dict(grid=dict(task=["none", "mnli"]), seeds=[0, 1], targets=["xnli"], metric="accuracy")
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: 50.0 + s + (k["task"] == "mnli") + 0.1 * noise(lang, s))
    q = 0.4  # the share of the class it always predicts
    rows = (d / "results.csv").read_text().splitlines()
    extra = [f"{r.split(',')[0]},{r.split(',')[1]},{r.split(',')[2]},xnli,{r.split(',')[4]},macro_f1,"
             f"{100 * 2 * q / (1 + q) / 3 if r.split(',')[4] == 'de' and r.split(',')[1] == 'mnli' else 20.0}"
             for r in rows[1:]]
    rows = [r if not (r.split(",")[4] == "de" and r.split(",")[1] == "mnli") else
            ",".join(r.split(",")[:6] + [str(100 * q)]) for r in rows]
    (d / "results.csv").write_text("\n".join(rows + extra) + "\n")
    _, rep = read(report.write_report(d).parent)
    assert rep["collapsed"] == ["task=mnli, seed 0, xnli de", "task=mnli, seed 1, xnli de"]
    assert "de" not in {g["lang"] for g in rep["gains"]} and any("2 collapsed" in c for c in rep["answer"]["caveats"])
    study["keep_collapsed"] = True
    (d / "study.yaml").write_text(yaml.safe_dump(study))
    _, rep = read(report.write_report(d).parent)
    assert "de" in {g["lang"] for g in rep["gains"]} and any("kept in the statistics" in c for c in rep["answer"]["caveats"])


def test_provenance_is_printed_and_mixed_commits_are_a_caveat(tmp_path):
    commit = {0: "a" * 40, 1: "b" * 40}
    record = lambda s: dict(stage=f"eval-xnli-{s}", commit=commit[s], torch="2.13.0", cuda=None,  # noqa: E731
                            device="cpu (x86_64)", started=f"2026-12-0{s + 1}T10:00:00",
                            finished=f"2026-12-0{s + 1}T11:00:00", wall_s=3600.0)
    d = sweep(tmp_path / "s", dict(grid=dict(task=["none", "mnli"]), seeds=[0, 1], targets=["xnli"]),
              lambda k, s, t, lang: 50.0 + s + (k["task"] == "mnli") + 0.1 * noise(k["task"], s, lang),
              cell_info=lambda k: dict(provenance=[]))
    cells = json.loads((d / "cells.json").read_text())
    for c in cells:
        c["provenance"] = [record(c["seed"])]
    (d / "cells.json").write_text(json.dumps(cells))
    md, rep = read(report.write_report(d).parent)
    assert rep["provenance"]["commits"] == {"a" * 40: 1, "b" * 40: 1} and rep["provenance"]["wall_h"] == 2.0
    assert "- provenance: commits" in md and "2026-12-01T10:00:00 to 2026-12-02T11:00:00" in md
    assert any("2 different commits" in c for c in rep["answer"]["caveats"])


def test_named_groups_each_against_the_rest_languages_the_unit(tmp_path, capsys):
    """Three groups: each group − the rest (Welch over per-language mean gains), Holm with every other test; a group
    of 2 languages gets the estimate alone; languages in no group are named and left out; --group-by overrides."""
    import xstilts
    region = {"europe": ["de", "fr", "ru"], "asia": ["hi", "th", "zh", "ur", "mr"], "africa": ["sw", "yo"]}
    of = {x: g for g, xs in region.items() for x in xs}
    values = {(task, seed, lang): 50 + seed + (task == "mnli") * (1 + 2 * (of.get(lang) == "europe"))
              + noise(task, seed, lang) for task in ("none", "mnli") for seed in (1, 2, 3) for lang in LANGS}
    study = dict(grid=dict(task=["none", "mnli"]), seeds=[1, 2, 3], targets=["xnli"], groups={"region": region})
    d = sweep(tmp_path / "s", study, lambda k, s, t, lang: values[(k["task"], s, lang)])
    assert xstilts.main(["report", str(d), "--group-by", "regio"]) == 2  # a typo: one line, nothing written
    err = capsys.readouterr().err.strip()
    assert "--group-by regio: not a column of languages.tsv (resource, family, genus, script, joshi_class) nor a " \
           "grouping in" in err and "groups (region)" in err and len(err.splitlines()) == 1
    assert not list(d.glob("report*"))
    md, rep = read(report.write_report(d).parent)
    assert rep["grouping"] == dict(by="region", groups={k: sorted(v) for k, v in region.items()},
                                   comparison="each group − the rest",
                                   left_out={"xnli": ["ar", "tr"]})
    assert "- xnli: 2 zero-shot language(s) in no group, left out of the groups: ar tr" in md
    lang_mean = {x: np.mean([values[("mnli", s, x)] - values[("none", s, x)] for s in (1, 2, 3)]) for x in of}
    ss = pytest.importorskip("scipy.stats")
    diffs = {w["group_a"]: w for w in rep["group_differences"]}
    for g in ("europe", "asia"):
        rest = [lang_mean[x] for x in of if of[x] != g]
        ref = ss.ttest_ind([lang_mean[x] for x in region[g]], rest, equal_var=False)
        assert diffs[g]["what"] == f"{g} − the rest" and diffs[g]["p"] == pytest.approx(ref.pvalue)
        assert diffs[g]["n_b"] == len(rest) and diffs[g]["lo"] < diffs[g]["diff"] < diffs[g]["hi"]
    africa = diffs["africa"]  # 2 languages: the estimate, no interval, no test
    assert africa["p"] is None and africa["lo"] is None and "no test possible" in africa["why"]
    assert africa["diff"] == pytest.approx(np.mean([lang_mean[x] for x in region["africa"]])
                                           - np.mean([lang_mean[x] for x in of if of[x] != "africa"]))
    assert diffs["europe"]["p_adj"] < 0.05 and diffs["europe"]["diff"] == pytest.approx(2, abs=0.6)
    rows = [r for r in (*rep["gain_summary"], *rep["groups"], *rep["group_differences"]) if r.get("p") is not None]
    assert [r["p_adj"] for r in rows] == pytest.approx(stats.holm([r["p"] for r in rows]))  # one family: the report
    assert rep["answer"]["tests"] == len(rows) == 6  # the gain, 3 group means (all, europe, asia), 2 differences
    groups = {g["group"]: g for g in rep["groups"]}
    assert groups["africa"]["p"] is None and groups["europe"]["by"] == "region" and groups["all"]["n_langs"] == 12
    finding = next(f for f in rep["answer"]["findings"] if f.startswith("task=mnli, xnli: europe − the rest"))
    assert "europe languages gain more than the rest" in finding and "3 vs 7 languages" in finding
    assert "groups of languages by region" in rep["answer"]["question"] and "## Language groups" in md
    assert xstilts.main(["report", str(d), "--group-by", "script"]) == 0  # the flag overrides the YAML
    md, rep = read(d)
    assert rep["grouping"]["by"] == "script" and rep["grouping"]["left_out"] == {"xnli": []}
    assert set(rep["grouping"]["groups"]) == {"Latin", "Cyrillic", "Arabic", "Devanagari", "Thai", "Han"}  # these
    latin = next(w for w in rep["group_differences"] if w["what"] == "Latin − the rest")
    assert latin["langs_a"] == ["de", "fr", "sw", "tr", "yo"] and latin["p"] is not None
