"""The report of a sweep (SPEC §7): scores, gains over the no-intermediate baseline with bootstrap CIs,
robustness, and the study's own analysis, as report.md, report.json and PNG plots in the sweep folder.

    from studies.report import write_report
    write_report("runs/volume")   # → runs/volume/report.md (+ report.json, *.png)

Reads what `xstilts.py sweep --config STUDY.yaml` writes: study.yaml, results.csv (cell,<grid keys>,seed,target,
lang,metric,value) and cells.json. A cell is one grid combination and one seed; a gain pairs a cell with the
baseline (task none) of the same seed, target and language, then averages over seeds. A half-finished sweep
is reported on what is there, and the report says what is missing. matplotlib is optional.
Statistics: studies/stats.py; languages (Joshi class, URIEL distances): studies/languages.py.
"""
import csv
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from model import UserError
from model.load import atomic_write
from studies import languages, stats
from studies.compare import MAIN

STUDIES = ("generic", "volume", "typology", "ntasks", "robustness", "translated")
METRIC = MAIN  # each target's main metric, as XTREME reports it (studies/compare.py)
N_BOOT = 10000  # bootstrap resamples (and permutations) behind every CI and p-value
SOURCE = "en"  # the intermediate tasks' language: no transfer to measure there, so left out of correlations
COLUMNS = ("cell", "seed", "target", "lang", "metric", "value")


def _read(sweep):
    files = [sweep / n for n in ("study.yaml", "results.csv", "cells.json")]
    absent = [p.name for p in files if not p.is_file()]
    if absent:
        raise UserError(f"{sweep}: has no {', '.join(absent)}; give a folder made by "
                        "`python xstilts.py sweep --config STUDY.yaml`.")
    try:
        study = yaml.safe_load(files[0].read_text(encoding="utf-8")) or {}
        cells = json.loads(files[2].read_text(encoding="utf-8"))
    except (yaml.YAMLError, json.JSONDecodeError) as e:
        raise UserError(f"{sweep}: study.yaml or cells.json is not valid ({str(e).splitlines()[0]}).") from None
    if not isinstance(study, dict) or not isinstance(study.get("grid"), dict) or not isinstance(cells, list) \
            or not all(isinstance(c, dict) and "cell" in c for c in cells):
        raise UserError(f"{sweep}: study.yaml needs a `grid:` mapping and cells.json a list of {{\"cell\": ...}}.")
    kind = study.get("study") or "generic"
    if kind not in STUDIES:
        raise UserError(f"{files[0]}: unknown study `{kind}`; use one of {', '.join(STUDIES[1:])} (none: generic).")
    grid = {k: [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in study["grid"].items()}
    with open(files[1], newline="", encoding="utf-8") as f:
        reader, rows = csv.DictReader(f), []
        lacking = [c for c in (*COLUMNS, *grid) if c not in (reader.fieldnames or [])]
        if lacking:
            raise UserError(f"{files[1]}: the header lacks {', '.join(lacking)} (cell,<grid keys>,seed,target,...).")
        for i, r in enumerate(reader, 2):
            try:
                seed, value = int(r["seed"]), float(r["value"])
            except (TypeError, ValueError):
                seed, value = None, float("nan")
            if not np.isfinite(value):
                raise UserError(f"{files[1]} line {i}: seed {r['seed']!r} or value {r['value']!r} is not a finite "
                                "number; fix or drop the row.")
            rows.append(dict(r, seed=seed, value=value))
    return kind, study, grid, rows, {c["cell"]: c for c in cells}


def _label(keys):
    return ",".join(f"{k}={v}" for k, v in keys.items())


def _build(kind, study, grid, rows, cells):
    """d["scores"][(combination label, target, lang)] = {seed: value} of the main metric, and its context."""
    targets, want, metric = list(dict.fromkeys(r["target"] for r in rows)), study.get("metric"), {}
    for t in targets:  # the study's metric where the target has it, else XTREME's, else the first one there
        have = list(dict.fromkeys(r["metric"] for r in rows if r["target"] == t))
        wanted = want.get(t) if isinstance(want, dict) else want
        metric[t] = next(m for m in (wanted, METRIC.get(t), have[0]) if m in have)
    combos, scores, ids = {}, {}, {}
    for r in rows:
        if r["metric"] == metric[r["target"]]:
            c = _label({k: r[k] for k in grid})
            combos.setdefault(c, {k: r[k] for k in grid})
            scores.setdefault((c, r["target"], r["lang"]), {})[r["seed"]] = r["value"]
            ids.setdefault(c, set()).add(r["cell"])
    rank = lambda c: [grid[k].index(v) if v in grid[k] else len(grid[k]) for k, v in combos[c].items()]  # noqa: E731
    combos = {c: combos[c] for c in sorted(combos, key=rank)}  # grid order
    spec = {k: str(v) for k, v in (study.get("baseline") or {"task": "none"}).items()}
    base = [c for c, keys in combos.items() if all(keys.get(k) == v for k, v in spec.items())]
    if not base and (kind != "generic" or all(v in grid.get(k, []) for k, v in spec.items())):
        (k, v), what = next(iter(spec.items())), ", ".join(f"{k} {v}" for k, v in spec.items())
        raise UserError(f"the baseline ({what}) has no results in results.csv; add `{v}` to grid.{k} in study.yaml "
                        "(or set `baseline:`) and run the sweep again.")
    baseline = {}  # (target, lang) → {seed: score}, averaged over the baseline combinations of that seed
    for (c, t, lang), by_seed in scores.items():
        if c in base:
            for s, v in by_seed.items():
                baseline.setdefault((t, lang), {}).setdefault(s, []).append(v)
    info = {c: [cells[i] for i in sorted(ids[c]) if i in cells] for c in combos}
    first = lambda c, key: next((e[key] for e in info[c] if e.get(key) is not None), None)  # noqa: E731
    return dict(kind=kind, study=study, grid=grid, targets=targets, metric=metric, combos=combos, scores=scores,
                base=base, baseline={k: {s: float(np.mean(v)) for s, v in b.items()} for k, b in baseline.items()},
                cells=cells, ids=ids, langs=languages.table(), n={c: first(c, "train_examples") for c in combos},
                k={c: first(c, "ntasks") for c in combos}, inter={c: first(c, "inter_lang") for c in combos},
                group={lang: languages.resource_group(lang) for lang in languages.table()})  # Joshi 0-2: low


def _complete(by_lang):
    """{lang: {seed: v}} → (langs, seeds, (L, S) array): the seeds with most languages, the languages they share."""
    count = Counter(s for by_seed in by_lang.values() for s in by_seed)
    seeds = sorted(s for s in count if count[s] == max(count.values()))
    langs = [lang for lang, by_seed in by_lang.items() if seeds and all(s in by_seed for s in seeds)]
    return langs, seeds, np.array([[by_lang[lang][s] for s in seeds] for lang in langs])


def _table(d, c, t):
    return {lang: v for (c2, t2, lang), v in d["scores"].items() if (c2, t2) == (c, t)}


def _diff(a, b):
    """{lang: {seed: a − b}} over the languages and seeds both have: a gain, paired by seed."""
    out = {lang: {s: v - b[lang][s] for s, v in by_seed.items() if s in b[lang]}
           for lang, by_seed in a.items() if lang in b}
    return {lang: g for lang, g in out.items() if g}


def _ci(values):
    mean, lo, hi = stats.mean_ci(values, n_boot=N_BOOT)  # lo, hi None with one seed
    return dict(gain=mean, ci_low=lo, ci_high=hi)


def _missing(d):
    planned = d["study"].get("targets") or []
    planned = planned.split(",") if isinstance(planned, str) else list(planned)
    if not planned and d["study"].get("suite"):
        from tasks.lib.submission import SUITES, task_of
        planned = [task_of(t) for t in SUITES.get(d["study"]["suite"], ({},))[0]]
    done = set().union(*d["ids"].values())
    out = [f"target {t}: no results yet" for t in planned if t not in d["targets"]]
    out += [f"cell {i} ({_label(e.get('keys', {}))}, seed {e.get('seed')}): no results yet"
            for i, e in d["cells"].items() if i not in done]
    out += [f"target {t}: no baseline results, so no gains" for t in d["targets"]
            if d["base"] and not any(k[0] == t for k in d["baseline"])]
    for c in d["combos"]:
        for t in d["targets"]:
            by_lang, every = _table(d, c, t), {lang for (_, t2, lang) in d["scores"] if t2 == t}
            langs, seeds, _ = _complete(by_lang)
            gaps = sorted(every - set(langs))
            if not by_lang:
                out.append(f"{c}: no {t} results yet")
            elif gaps or set().union(*by_lang.values()) - set(seeds):
                out.append(f"{c}, {t}: reported on seeds {seeds}" + (f", without {' '.join(gaps)}" if gaps else ""))
    return out


def _analyse(d):
    """Scores, gains and robustness of every combination × target: the sections every study has."""
    out = dict(scores=[], gains=[], gain_summary=[], robustness=[])
    for c in d["combos"]:
        for t in d["targets"]:
            langs, seeds, a = _complete(_table(d, c, t))
            if not langs:
                continue
            per_seed, per_lang = a.mean(0), a.mean(1)
            out["scores"].append(dict(cell=c, target=t, mean=float(per_seed.mean()), n_seeds=len(seeds),
                                      sd=float(per_seed.std(ddof=1)) if len(seeds) > 1 else None, n_langs=len(langs),
                                      worst_lang=langs[int(per_lang.argmin())], worst=float(per_lang.min())))
            base = {lang: list(d["baseline"][t, lang].values()) for lang in langs
                    if (t, lang) in d["baseline"] and c not in d["base"]} or None
            rob = stats.robustness({lang: list(row) for lang, row in zip(langs, a) if not base or lang in base}, base)
            out["robustness"].append(dict(cell=c, target=t, n=d["n"][c], **rob))
            gains = _diff(_table(d, c, t), {lang: v for (t2, lang), v in d["baseline"].items() if t2 == t})
            if c in d["base"] or not gains:
                continue
            out["gains"] += [dict(target=t, lang=lang, cell=c, **_ci(list(g.values())), n_seeds=len(g))
                             for lang, g in gains.items()]
            glangs, _, g = _complete(gains)
            out["gain_summary"].append(dict(cell=c, target=t, **_ci(g.mean(0)), n_langs=len(glangs),
                                            share_improved=float((g.mean(1) > 0).mean())))
    return out


def _lang_gain(out, c, t):
    return {g["lang"]: g["gain"] for g in out["gains"] if (g["cell"], g["target"]) == (c, t)}


def _fit(n, y, threshold):
    log2 = sat = point = None
    try:
        log2 = stats.fit_log2(n, y)
        sat = stats.fit_saturating(n, y)
    except ValueError:  # too few distinct sizes for the fit
        pass
    saturates = bool(sat) and sat["alpha"] > 1.01 * stats.ALPHA[0]  # alpha at its lower edge: a line in log n,
    try:  # and then the log2 fit says when a doubling stops paying `threshold` points
        point = stats.saturation_point(sat if saturates else log2, threshold)
    except (TypeError, OverflowError):  # no fit, or a point beyond any float
        pass
    return dict(n=list(n), score=[float(v) for v in y], log2=log2, gain_per_doubling=log2 and log2["b"],
                saturating=sat, saturates=saturates, saturation_point=point)


def _series(d):
    """Non-baseline combinations with a known size, grouped by every grid key but the size ones, sorted by n."""
    out = {}
    for c, keys in d["combos"].items():
        if c not in d["base"] and d["n"][c]:
            rest = _label({k: v for k, v in keys.items() if "examples" not in k and "size" not in k}) or "all"
            out.setdefault(rest, []).append(c)
    return {s: sorted(cs, key=d["n"].get) for s, cs in out.items()}


def _volume(d, out):
    threshold, fits, plots = float(d["study"].get("threshold", 0.5)), [], []
    for t in d["targets"]:
        for s, cs in _series(d).items():
            means = {c: {lang: np.mean(list(v.values())) for lang, v in _table(d, c, t).items()} for c in cs}
            cs = [c for c in cs if means[c]]
            langs = [lang for lang in means[cs[0]] if all(lang in means[c] for c in cs)] if cs else []
            if len(cs) < 2 or not langs:
                continue
            n, y = [d["n"][c] for c in cs], np.array([[means[c][lang] for c in cs] for lang in langs])  # (L, C)
            groups = {lang: d["group"].get(lang) for lang in langs}
            scopes = {"average": y.mean(0), **{g: y[[groups[lang] == g for lang in langs]].mean(0)
                                               for g in ("low", "high") if g in groups.values()}, **dict(zip(langs, y))}
            fits += [dict(target=t, series=s, scope=k, group=groups.get(k), **_fit(n, v, threshold))
                     for k, v in scopes.items()]
            base = [np.mean(list(d["baseline"][t, lang].values())) for lang in langs if (t, lang) in d["baseline"]]
            plots.append((f"volume_{t}_{_slug(s)}.png", _plot_volume,
                          (f"{t} {d['metric'][t]}", s, n, langs, groups, y, float(np.mean(base)) if base else None)))
    md = ["## Diminishing returns", "", "Mean score over seeds vs intermediate size n (examples trained on). b = gain "
          "per doubling (log2 fit); c, alpha: asymptote and exponent of the saturating fit (– when the data show no "
          f"saturation); n_sat: size beyond which a doubling gains < {threshold} points (never: at no n).", ""]
    md += _md_table(["target", "series", "scope", "n", "b", "r² (log2)", "c", "alpha", "n_sat"],
                    [[f["target"], f["series"], f["scope"] + (f" ({f['group']})" if f["group"] else ""),
                      f"{min(f['n'])}–{max(f['n'])}", f["gain_per_doubling"], f["log2"] and f["log2"]["r2"],
                      *([f["saturating"]["c"], f["saturating"]["alpha"]] if f["saturates"] else [None, None]),
                      "never" if f["log2"] and f["saturation_point"] is None else f["saturation_point"]] for f in fits])
    return dict(threshold=threshold, fits=fits), md, plots


def _typology(d, out):
    rows, plots, features = [], [], [*languages.FEATURES, "joshi_class"]
    for t in d["targets"]:
        for c in d["combos"]:
            gain = {lang: g for lang, g in _lang_gain(out, c, t).items() if lang != SOURCE and lang in d["langs"]}
            panels = []
            for f in features:
                pts = [(float(d["langs"][lang][f]), g) for lang, g in gain.items()
                       if d["langs"][lang].get(f) is not None]
                if len(pts) >= 3:
                    x, y = map(list, zip(*pts))
                    rows.append(dict(target=t, cell=c, feature=f, **stats.correlate(x, y, N_BOOT, N_BOOT)))
                    panels.append((f, x, y, rows[-1]))
            if panels:
                plots.append((f"typology_{t}_{_slug(c)}.png", _plot_typology, (t, c, panels)))
    md = ["## Gain vs typological distance", "", "Per-language gain over the baseline against each URIEL distance "
          f"from English and the Joshi class ({SOURCE} itself left out); 95% bootstrap CIs, permutation p of r.", ""]
    md += _md_table(["target", "cell", "feature", "n", "pearson r [CI]", "spearman ρ [CI]", "p"],
                    [[r["target"], r["cell"], r["feature"], r["n"], _with_ci(r["pearson"], r["pearson_ci"]),
                      _with_ci(r["spearman"], r["spearman_ci"]), _p(r["p_permutation"])] for r in rows])
    return dict(correlations=rows), md, plots


def _ntasks(d, out):
    rows, best, plots = [], [], []
    for t in d["targets"]:
        by_k = {}
        for s in out["scores"]:
            if s["target"] == t and d["k"][s["cell"]] is not None:
                by_k.setdefault(d["k"][s["cell"]], []).append(s)
        mine = []
        for k, ss in sorted(by_k.items()):
            top, sds = max(ss, key=lambda s: s["mean"]), [s["sd"] for s in ss if s["sd"] is not None]
            mine.append(dict(target=t, k=k, n_combos=len(ss), mean=float(np.mean([s["mean"] for s in ss])),
                             max=top["mean"], best_cell=top["cell"], seed_sd=float(np.mean(sds)) if sds else None))
        single = max(by_k.get(1, []), key=lambda s: s["mean"], default=None)
        best += [dict(target=t, cell=single["cell"], score=single["mean"])] if single else []
        rows += mine
        if mine:
            plots.append((f"ntasks_{t}.png", _plot_ntasks, (f"{t} {d['metric'][t]}", mine, single and single["mean"])))
    md = ["## Number of intermediate tasks", "", "Language-averaged score vs k tasks (k = 0: the baseline): mean and "
          "best over the combinations with k tasks; seed sd = mean over those combinations.", ""]
    md += _md_table(["target", "k", "combos", "mean", "max", "best", "seed sd"],
                    [[r["target"], r["k"], r["n_combos"], r["mean"], r["max"], r["best_cell"], r["seed_sd"]]
                     for r in rows])
    md += ["", *(f"Best single task for {b['target']}: {b['cell']} ({b['score']:.2f})." for b in best)]
    return dict(ntasks=rows, best_single=best), md, plots


def _robustness(d, out):
    rows = sorted((dict(r, series=s) for s, cs in _series(d).items() for r in out["robustness"] if r["cell"] in cs),
                  key=lambda r: (d["targets"].index(r["target"]), r["series"], r["n"]))
    plots = [(f"robustness_{t}.png", _plot_robustness, (t, [r for r in rows if r["target"] == t]))
             for t in d["targets"] if any(r["target"] == t for r in rows)]
    md = ["## Robustness vs data volume", "", "Per intermediate size n: seed sd of the language average, worst "
          "language, spread across languages, share of languages above the baseline.", ""]
    md += _md_table(["target", "series", "n", "seed sd", "worst", "lang sd", "max−min", "improved"],
                    [[r["target"], r["series"], r["n"], r["seed_std"], f"{r['worst']:.2f} ({r['worst_lang']})",
                      r["lang_std"], r["lang_range"], r.get("share_improved")] for r in rows])
    return dict(robustness_vs_size=rows), md, plots


def _translated(d, out):
    """Rows: intermediate languages (cells.json inter_lang); a translated run is also compared with the English
    run of the same task (mnli@hi with mnli) on the same seeds."""
    heat, versus, plots, md_rows = [], [], [], []
    untranslated = lambda c: _label({k: v.split("@")[0] if k == "task" else v  # noqa: E731
                                     for k, v in d["combos"][c].items()})
    english = {untranslated(c): c for c in d["combos"] if d["inter"][c] == SOURCE}
    for t in d["targets"]:
        rows = [c for c in d["combos"] if c not in d["base"] and _lang_gain(out, c, t)]
        for c in rows:
            gain, ref = _lang_gain(out, c, t), english.get(untranslated(c))
            heat += [dict(target=t, row=d["inter"][c], cell=c, lang=lang, gain=g) for lang, g in gain.items()]
            diff = _diff(_table(d, c, t), _table(d, ref, t)) if ref and ref != c else {}
            versus += [dict(target=t, cell=c, inter_lang=d["inter"][c], lang=lang, **_ci(list(v.values())))
                       for lang, v in diff.items()]
            vs = {lang: np.mean(list(v.values())) for lang, v in diff.items()}
            md_rows.append([t, d["inter"][c], c, *_by_group(d, gain), *_by_group(d, vs)])
        inter = [d["inter"][c] for c in rows]  # a row's label: its language, and its cell where two share one
        labels = [lang if inter.count(lang) == 1 else f"{lang} ({c})" for lang, c in zip(inter, rows)]
        plots += [(f"translated_{t}.png", _plot_heatmap, (t, labels, [_lang_gain(out, c, t) for c in rows]))] \
            if rows else []
    md = ["## Intermediate language × target language", "", "Gain over the baseline averaged over all / low- / "
          "high-resource target languages; then the same for the gain over English intermediate training "
          "(per-language values and CIs in report.json: heatmap, vs_english).", ""]
    md += _md_table(["target", "inter lang", "cell", "gain", "low", "high", "vs en", "vs en low", "vs en high"],
                    md_rows)
    return dict(heatmap=heat, vs_english=versus), md, plots


def _by_group(d, gain):
    pick = [[v for lang, v in gain.items() if g is None or d["group"].get(lang) == g] for g in (None, "low", "high")]
    return [float(np.mean(p)) if p else None for p in pick]


def _fmt(x):
    return "–" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)


def _p(p):
    return "–" if p is None else "<0.01" if p < 0.01 else f"{p:.2f}"


def _with_ci(x, ci):
    return f"{_fmt(x)} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci[0] is not None else _fmt(x)


def _slug(label):
    return re.sub(r"[^\w.-]+", "_", label)


def _md_table(header, rows):
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(_fmt, r)) + " |" for r in rows)] if rows else ["(nothing to show yet)"]


def _common_md(d, out, missing):
    seeds = ", ".join(map(str, sorted({s for v in d["scores"].values() for s in v}))) or "none"
    md = [f"# Report: {d['kind']} study", "", "## Setup", "", f"- study: {d['kind']}",
          "- grid: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in d["grid"].items()),
          f"- seeds: {', '.join(map(str, d['study'].get('seeds') or []))} (with results: {seeds})",
          f"- baseline: {', '.join(d['base']) or 'none in this study'}",
          "- targets (metric): " + (", ".join(f"{t} ({m})" for t, m in d["metric"].items()) or "none yet"),
          f"- missing: {f'{len(missing)} item(s)' if missing else 'nothing'}", *(f"  - {m}" for m in missing[:30]),
          *([f"  - … {len(missing) - 30} more in report.json"] if len(missing) > 30 else [])]
    md += ["", "## Scores", "", "Language-averaged score: mean ± sd over seeds; worst language by its mean over "
           "seeds.", ""]
    md += _md_table(["cell", "target", "mean ± sd", "seeds", "langs", "worst"],
                    [[s["cell"], s["target"], f"{s['mean']:.2f} ± {_fmt(s['sd'])}", s["n_seeds"], s["n_langs"],
                      f"{s['worst']:.2f} ({s['worst_lang']})"] for s in out["scores"]])
    md += ["", "## Gains over the baseline", "", "Cell − baseline on the same seed, target and language; the "
           "language average's mean over seeds with a 95% bootstrap CI (none with one seed).", ""]
    md += _md_table(["cell", "target", "gain [CI]", "langs", "improved"],
                    [[g["cell"], g["target"], _with_ci(g["gain"], (g["ci_low"], g["ci_high"])), g["n_langs"],
                      f"{g['share_improved']:.0%}"] for g in out["gain_summary"]])
    per_lang = {}
    for g in out["gains"]:
        per_lang.setdefault((g["cell"], g["target"]), []).append(f"{g['lang']} {g['gain']:+.2f}")
    md += ["", "Per language (mean over seeds; CIs in report.json):", "",
           *(f"- {c}, {t}: {', '.join(v)}" for (c, t), v in per_lang.items())] if per_lang else []
    md += ["", "## Robustness", "", "Seed sd of the language average, worst language, sd and range across languages, "
           "share of languages above the baseline (stats.robustness).", ""]
    md += _md_table(["cell", "target", "mean", "seed sd", "worst", "lang sd", "max−min", "improved"],
                    [[r["cell"], r["target"], r["mean"], r["seed_std"], f"{r['worst']:.2f} ({r['worst_lang']})",
                      r["lang_std"], r["lang_range"], r.get("share_improved")] for r in out["robustness"]])
    return md


def _plot_volume(plt, t, series, n, langs, groups, y, base):
    fig, ax = plt.subplots(figsize=(7, 4.5))
    color = {"low": "tab:red", "high": "tab:blue", None: "grey"}
    for lang, row in zip(langs, y):
        ax.plot(n, row, lw=0.7, alpha=0.35, color=color[groups[lang]])
    for g in ("low", "high"):
        if g in groups.values():
            ax.plot(n, y[[groups[lang] == g for lang in langs]].mean(0), lw=3, color=color[g], marker="o",
                    label=f"{g}-resource mean")
    ax.plot(n, y.mean(0), lw=3, color="black", marker="o", label="all languages")
    if base is not None:
        ax.axhline(base, ls="--", color="black", lw=1, label="baseline (no intermediate task)")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="intermediate training examples n", ylabel=t, title=f"{t}: {series}")
    ax.legend(fontsize=8)
    return fig


def _plot_typology(plt, t, c, panels):
    cols = min(3, len(panels))
    fig, axes = plt.subplots(-(-len(panels) // cols), cols, figsize=(4.5 * cols, 3.8 * -(-len(panels) // cols)),
                             squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    for ax, (f, x, y, r) in zip(axes.flat, panels):
        ax.scatter(x, y, s=18)
        if len(set(x)) > 1:  # the least-squares line
            b, a = np.polyfit(x, y, 1)
            ax.plot([min(x), max(x)], [a + b * min(x), a + b * max(x)], color="tab:red")
        ax.set_title(f"r={_with_ci(r['pearson'], r['pearson_ci'])}\nρ={_with_ci(r['spearman'], r['spearman_ci'])}",
                     fontsize=8)
        ax.set(xlabel=f, ylabel="gain")
    fig.suptitle(f"{t}: gain vs distance from English ({c})", fontsize=10)
    return fig


def _plot_ntasks(plt, t, rows, best):
    fig, ax = plt.subplots(figsize=(6, 4))
    k = [r["k"] for r in rows]
    ax.errorbar(k, [r["mean"] for r in rows], yerr=[r["seed_sd"] or 0 for r in rows], marker="o", capsize=3,
                label="mean over combinations (± seed sd)")
    ax.plot(k, [r["max"] for r in rows], marker="^", ls="--", label="best combination")
    if best is not None:
        ax.axhline(best, color="grey", ls=":", label="best single task")
    ax.set(xlabel="number of intermediate tasks k", ylabel=t, title=t, xticks=k)
    ax.legend(fontsize=8)
    return fig


def _plot_robustness(plt, t, rows):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    for s in dict.fromkeys(r["series"] for r in rows):
        rs = [r for r in rows if r["series"] == s]
        n = [r["n"] for r in rs]
        a1.plot(n, [r["seed_std"] or 0 for r in rs], marker="o", label=f"seed sd ({s})")
        a2.plot(n, [r["worst"] for r in rs], marker="o", label=f"worst language ({s})")
        a2.plot(n, [r["lang_range"] for r in rs], marker="s", ls="--", label=f"max−min ({s})")
    for ax, title in ((a1, "seed variance"), (a2, "worst language and spread")):
        ax.set_xscale("log", base=2)
        ax.set(xlabel="intermediate training examples n", title=f"{t}: {title}")
        ax.legend(fontsize=8)
    return fig


def _plot_heatmap(plt, t, rows, gains):
    cols = list(dict.fromkeys(lang for g in gains for lang in g))
    m = np.array([[g.get(lang, np.nan) for lang in cols] for g in gains])  # (rows, target languages)
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(cols) + 2), 0.5 * len(rows) + 2))
    lim = np.nanmax(np.abs(m)) or 1
    im = ax.imshow(m, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")  # white = no gain
    for (i, j), v in np.ndenumerate(m):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(cols)), cols), ax.set_yticks(range(len(rows)), rows)
    ax.set(xlabel="target language", ylabel="intermediate language", title=f"{t}: gain over the baseline")
    fig.colorbar(im, ax=ax)
    return fig


SECTIONS = dict(volume=_volume, typology=_typology, ntasks=_ntasks, robustness=_robustness, translated=_translated)


def write_report(sweep_dir) -> Path:
    """Compute everything first (an error leaves no file behind), then write the PNGs, report.json, report.md."""
    sweep = Path(sweep_dir)
    d = _build(*_read(sweep))
    out, missing = _analyse(d), _missing(d)
    md, extra, plots = _common_md(d, out, missing), {}, []
    if d["kind"] in SECTIONS:
        extra, section, plots = SECTIONS[d["kind"]](d, out)
        md += ["", *section]
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
    except ImportError:
        plt = None
    written = []
    if plt is None and plots:
        hint = "Plots need matplotlib: `pip install matplotlib` (`make study` installs it), then report again."
        print(hint)
        md += ["", hint]
    for name, draw, args in plots if plt else []:
        fig = draw(plt, *args)
        fig.tight_layout()  # titles of one row clear the axis labels of the row above
        atomic_write(sweep / name, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
        plt.close(fig)
        written.append(name)
    md += ["", "## Plots", "", *(f"![{name[:-4]}]({name})" for name in written)] if written else []
    report = dict(study=d["kind"], grid=d["grid"], seeds=sorted({s for v in d["scores"].values() for s in v}),
                  targets=d["targets"], metrics=d["metric"], baseline=d["base"], missing=missing, **out, **extra,
                  plots=written)
    text = json.dumps(report, indent=1, ensure_ascii=False)
    atomic_write(sweep / "report.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    atomic_write(sweep / "report.md", lambda tmp: Path(tmp).write_text("\n".join(md) + "\n", encoding="utf-8"))
    return sweep / "report.md"
