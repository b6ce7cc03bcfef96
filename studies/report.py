"""The report of a sweep (SPEC §7): the study's one stated Answer first, then scores, gains over the
no-intermediate baseline, robustness and the study's own analysis, as report.md, report.json, figures
(PNG + PDF) and tables (tables/*.csv + *.tex) in the sweep folder.

    from studies.report import write_report
    write_report("runs/volume")   # → runs/volume/report.md (+ report.json, *.png, *.pdf, tables/)

Reads what `xstilts.py sweep --config STUDY.yaml` writes: study.yaml, results.csv (cell,<grid keys>,seed,target,
lang,metric,value) and cells.json. A cell is one grid combination and one seed; a gain pairs a cell with the
baseline (task none) of the same seed, target and language. Uncertainty (METHOD below; studies/README.md says
why): Student-t over seeds, languages as the unit where a seed's luck cancels, no interval or test where the
data cannot give one, every p-value Holm-adjusted with the others of the report. Each section computes first
and registers its tests; the adjustment runs once; then the Answer and the markdown are written from the
numbers. A half-finished sweep is reported on what is there, and the report says what is missing.
Statistics: studies/stats.py; figures: studies/plots.py (matplotlib optional); languages: studies/languages.py.
"""
import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

from util import UserError
from util import atomic_write
from studies import languages, stats
from studies import plots as draw
from studies.compare import MAIN
from tasks import get_task
from tasks.lib.scoring import n_classes

STUDIES = ("generic", "volume", "typology", "ntasks", "robustness", "translated", "xstilts", "encoders")
METRIC = MAIN  # each target's main metric, as XTREME reports it (studies/compare.py)
SOURCE = "en"  # the intermediate tasks' language: no transfer to measure there, so never in a zero-shot group
MIN_LANGS = 3  # a claim about a group of languages is tested from 3 languages on; below, the estimate alone
PAIRS = ("the first group − the second", "each group − the rest")  # the differences tested: 2 groups, more
METHOD = ("every gain is paired by seed (cell − baseline, same seed, target and language), with a Student-t interval "
          "over seeds (none below 2 seeds); a group of languages evaluated on the same models is averaged per seed, "
          "Student-t over seeds, its language count beside it and no test below 3 languages; differences between "
          "groups, regressions across languages and values from separate models take languages as the unit; "
          "95% intervals, coverage proven by simulation (tests/test_stats.py).")
COLUMNS = ("cell", "seed", "target", "lang", "metric", "value")


def _read(sweep):
    files = [sweep / n for n in ("study.yaml", "results.csv", "cells.json")]
    absent = [p.name for p in files if not p.is_file()]
    if files[0].is_file() and (sweep / "stages").is_dir() and absent == ["results.csv", "cells.json"]:
        n = sum(1 for _ in (sweep / "stages").iterdir())
        raise UserError(f"{sweep}: no evaluation stage finished yet (0 rows; {n} stage folder(s) started); rerun the "
                        "same `sweep` command, then report.")
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
    try:
        text = files[1].read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{files[1]}: not UTF-8 (byte {e.start}); sweep writes UTF-8: rerun the same `sweep` command "
                        "to rewrite it.") from None
    with io.StringIO(text, newline="") as f:
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
    combos, scores, ids, collapsed = {}, {}, {}, _collapsed(rows, grid, cells)
    keep = bool(study.get("keep_collapsed"))
    for r in rows:
        if r["metric"] == metric[r["target"]] and (keep or (r["cell"], r["target"], r["lang"]) not in collapsed):
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
    # one baseline system: the grid keys that cannot change it (the intermediate stage's) are dropped, and the
    # baseline cells that then coincide (one per size of a volume grid) are one system, per seed averaged
    applies = {c: _applies(spec, combos[c]) for c in base}
    if len({_label(a) for a in applies.values()}) < len(base):
        merged = {}
        for (c, t, lang), by_seed in list(scores.items()):
            if c in base:
                for s, v in scores.pop((c, t, lang)).items():
                    merged.setdefault((_label(applies[c]), t, lang), {}).setdefault(s, []).append(v)
        scores.update({k: {s: float(np.mean(v)) for s, v in b.items()} for k, b in merged.items()})
        for c in base:
            ids.setdefault(_label(applies[c]), set()).update(ids.pop(c))
        combos = {**{_label(a): a for a in applies.values()}, **{c: k for c, k in combos.items() if c not in base}}
        base = list(dict.fromkeys(_label(a) for a in applies.values()))
    # each combination's own baseline system: the one that matches it on every grid key that applies to a baseline
    # (a grid `model` makes one baseline per encoder); none where no baseline matches
    base_of = {c: next((b for b in base if _applies(spec, combos[b]) == _applies(spec, keys)), None)
               for c, keys in combos.items()}
    info = {c: [cells[i] for i in sorted(ids[c]) if i in cells] for c in combos}
    first = lambda c, key: next((e[key] for e in info[c] if e.get(key) is not None), None)  # noqa: E731
    return dict(kind=kind, study=study, grid=grid, targets=targets, metric=metric, combos=combos, scores=scores,
                tests=[], collapsed={f"{_label({k: r[k] for k in grid})}, seed {r['seed']}, {t} {lang}"
                                     for (_, t, lang), r in collapsed.items()},
                base=base, base_of=base_of, provenance=_provenance(cells), tables={},
                cells=cells, ids=ids, langs=languages.table(), n={c: first(c, "train_examples") for c in combos},
                k={c: first(c, "ntasks") for c in combos}, inter={c: first(c, "inter_lang") for c in combos},
                group={lang: languages.resource_group(lang) for lang in languages.table()})  # Joshi 0-2: low


def _applies(spec, keys):
    """The grid keys of a combination that a baseline shares: all but the intermediate task's (`task`,
    `intermediate.*`), with the `baseline:` spec's values in place of its own."""
    return {**spec, **{k: v for k, v in keys.items() if k not in spec and k != "task"
                       and not k.startswith("intermediate.")}}


def _baseline(d, c, t):
    """{lang: {seed: v}} of combination c's own baseline on target t (empty when it has none)."""
    b = d["base_of"].get(c)
    return _table(d, b, t) if b else {}


def _provenance(cells):
    """One summary of the stages' provenance records (cells.json): commits, versions, devices, time span."""
    recs = list({(r.get("stage"), r.get("started")): r for c in cells.values() for r in c.get("provenance") or []
                 if isinstance(r, dict)}.values())
    if not recs:
        return dict(stages=0)
    count = lambda key: dict(Counter(str(r.get(key)) for r in recs))  # noqa: E731
    return dict(stages=len(recs), commits=count("commit"), torch=count("torch"), cuda=count("cuda"),
                devices=count("device"), first=min(r.get("started", "") for r in recs),
                last=max(r.get("finished", "") for r in recs),
                wall_h=round(sum(r.get("wall_s", 0) for r in recs) / 3600, 2))


def _collapsed(rows, grid, cells):
    """{(cell, target, lang): row} of collapsed evaluations: marked by the sweep (one class >= 95% of the
    predictions: cells.json `collapsed`), or, in a table from elsewhere, one class for every example — with a
    share q of the examples in that class, accuracy = q and macro-F1 = 2q / (1 + q) / C, no other model both."""
    classes = {t: n_classes(get_task(t)) for t in {r["target"] for r in rows}}
    acc = {(r["cell"], r["target"], r["lang"]): r for r in rows if r["metric"] == "accuracy" and classes[r["target"]]}
    marked = {(c, t, lang) for c, info in cells.items() for t, lang in info.get("collapsed") or []}
    out = {k: r for r in rows if (k := (r["cell"], r["target"], r["lang"])) in marked}
    for r in rows:
        key = (r["cell"], r["target"], r["lang"])
        if r["metric"] == "macro_f1" and key in acc:
            q = acc[key]["value"] / 100
            if abs(r["value"] - 100 * 2 * q / (1 + q) / classes[r["target"]]) < 1e-6:
                out[key] = acc[key]
    return out


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
    """A gain paired by seed: its mean over seeds and Student-t interval (seeds the replicates)."""
    r = stats.t_interval(values)
    return dict(gain=r["mean"], ci_low=r["lo"], ci_high=r["hi"], n_seeds=r["n"], why=r["why"])


def _test(d, **row):
    """Register a test of this report: every p-value of one report is Holm-adjusted together (p_adj)."""
    d["tests"].append(row)
    return row


def _over_langs(d, label, by_lang, test=True, **keys):
    """A claim over languages whose values are independent (each from its own models): languages the unit,
    Student-t over languages; the estimate alone below MIN_LANGS languages."""
    r = stats.t_interval(list(by_lang.values()))
    row = dict(keys, group=label, langs=sorted(by_lang), n_langs=r["n"], estimate=r["mean"], ci_low=r["lo"],
               ci_high=r["hi"], p=r["p"] if test else None, why=r["why"])
    if r["n"] < MIN_LANGS:
        row.update(ci_low=None, ci_high=None, p=None, why=f"{r['n']} language(s): the estimate only, no test")
    return _test(d, **row) if row["p"] is not None else row


def _group(d, label, table, test=True, **keys):
    """The mean over a group of languages of values from the same models ({lang: {seed: v}}): one model per seed is
    evaluated in every language, so a seed's luck is shared by the group and does not average out over
    languages. The replicates are the seeds: Student-t over the per-seed group means (exact for these
    languages). The number of languages is printed; below MIN_LANGS, the estimate only."""
    langs, seeds, a = _complete(table)
    if not langs:
        return None
    r = stats.t_interval(a.mean(0))
    row = dict(keys, group=label, langs=langs, n_langs=len(langs), n_seeds=len(seeds), estimate=r["mean"],
               ci_low=r["lo"], ci_high=r["hi"], p=r["p"] if test else None, why=r["why"])
    if len(langs) < MIN_LANGS:
        row.update(ci_low=None, ci_high=None, p=None, why=f"{len(langs)} language(s): the estimate only, no test")
    return _test(d, **row) if row["p"] is not None else row


def _zero_shot(d, gains, by=None):
    """{lang: g} without the source language, split into all and the groups of `by` (a languages.grouping; by
    default low / high resource). A language in no group of a named grouping is in `all` only."""
    g = {lang: v for lang, v in gains.items() if lang != SOURCE}
    of, order = (by["of"], by["order"]) if by else (d["group"], ("low", "high"))
    return {"all": g, **{k: {lang: v for lang, v in g.items() if of.get(lang) == k} for k in order}}


def _missing(d):
    planned = d["study"].get("targets") or []
    planned = planned.split(",") if isinstance(planned, str) else list(planned)
    if not planned and d["study"].get("suite"):
        from tasks.lib.submission import SUITES, task_of
        planned = [task_of(t) for t in SUITES.get(d["study"]["suite"], ({},))[0]]
    done = set().union(*d["ids"].values())
    out = [f"target {t}: no results yet" for t in planned if t not in d["targets"]]
    out += [f"cell {i} ({_label(e.get('keys', {}))}, seed {e.get('seed')}): "
            + (f"left out, {e['skipped']}" if e.get("skipped") else "no results yet")
            for i, e in d["cells"].items() if i not in done]
    out += [f"target {t}: no baseline results, so no gains" for t in d["targets"]
            if d["base"] and not any(_table(d, b, t) for b in d["base"])]
    out += [f"{c}: no baseline with its grid keys, so no gains" for c in d["combos"]
            if d["base"] and d["base_of"][c] is None]
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
    """Scores, seed-paired gains and the group claims of every combination × target: what every study has."""
    out = dict(scores=[], gains=[], gain_summary=[], groups=[], group_differences=[], robustness=[])
    by = d["by"]  # the groups: low / high resource, or those asked for (`groups:`, --group-by), named in each row
    named = dict(by=by["name"]) if by["asked"] else {}
    for c in d["combos"]:
        for t in d["targets"]:
            langs, seeds, a = _complete(_table(d, c, t))
            if not langs:
                continue
            per_seed, per_lang = a.mean(0), a.mean(1)
            out["scores"].append(dict(cell=c, target=t, mean=float(per_seed.mean()), n_seeds=len(seeds),
                                      sd=float(per_seed.std(ddof=1)) if len(seeds) > 1 else None, n_langs=len(langs),
                                      worst_lang=langs[int(per_lang.argmin())], worst=float(per_lang.min())))
            own = _baseline(d, c, t)
            base = {lang: list(own[lang].values()) for lang in langs if lang in own and c not in d["base"]} or None
            rob = stats.robustness({lang: list(row) for lang, row in zip(langs, a) if not base or lang in base}, base)
            out["robustness"].append(dict(cell=c, target=t, n=d["n"][c], **rob))
            gains = _diff(_table(d, c, t), own)
            if c in d["base"] or not gains:
                continue
            out["gains"] += [dict(target=t, lang=lang, cell=c, **_ci(list(g.values()))) for lang, g in gains.items()]
            glangs, gseeds, g = _complete(gains)
            summary = _ci(g.mean(0))  # these languages: the seeds are the replicates
            test = d["kind"] == "generic"  # a study's own section holds its tests; here, estimates with intervals
            row = dict(cell=c, target=t, **summary, p=stats.t_interval(g.mean(0))["p"] if test else None,
                       n_langs=len(glangs), share_improved=float((g.mean(1) > 0).mean()))
            out["gain_summary"].append(_test(d, **row) if test else row)
            for k, v in _zero_shot(d, gains, by).items():
                row = _group(d, k, v, test, cell=c, target=t, **named)
                out["groups"] += [row] if row else []
            if test or by["asked"]:
                split = _zero_shot(d, {lang: float(np.mean(list(v.values()))) for lang, v in gains.items()}, by)
                out["group_differences"] += _differences(d, split, cell=c, target=t, **named)
    if by["asked"]:  # the groups these languages fill, what was compared, each target's languages in no group
        zero_shot = {t: {g["lang"] for g in out["gains"] if g["target"] == t and g["lang"] != SOURCE}
                     for t in d["targets"]}
        present = {x: by["of"][x] for v in zero_shot.values() for x in v if x in by["of"]}
        groups = {k: sorted(x for x in present if present[x] == k) for k in by["order"] if k in present.values()}
        out["grouping"] = dict(by=by["name"], groups=groups, comparison=PAIRS[len(groups) > 2],
                               left_out={t: sorted(x for x in v if x not in by["of"]) for t, v in zero_shot.items()})
    return out


def _differences(d, split, **keys):
    """Between groups the seed luck the languages share cancels: languages are the unit, Welch over per-language mean
    gains. Two groups: the first − the second; more: each group − the rest (one test each, Holm with the others).
    Below MIN_LANGS languages on a side: the estimate alone (the default low − high: no row)."""
    names, rows = [k for k in d["by"]["order"] if split[k]], []
    pairs = [(names[0], names[1])] if len(names) == 2 else [(k, None) for k in names] if len(names) > 2 else []
    for a, b in pairs:
        rest = split[b] if b else {x: v for k in names if k != a for x, v in split[k].items()}
        w = stats.welch(list(split[a].values()), list(rest.values()))
        w.update(dict(group_a=a, group_b=b or "the rest", langs_a=sorted(split[a]), langs_b=sorted(rest))
                 if d["by"]["asked"] else {})
        what = f"{a} − {b or 'the rest'}" + (" resource" if d["by"]["name"] == "resource" else "")
        if min(w["n_a"], w["n_b"]) < MIN_LANGS:
            if not d["by"]["asked"]:
                continue
            w.update(lo=None, hi=None, p=None, why=f"{min(w['n_a'], w['n_b'])} language(s) in a group: the estimate "
                                                  "only, no test possible")
        rows.append(_test(d, **keys, what=what, **w) if w["p"] is not None else dict(keys, what=what, **w))
    return rows


def _lang_gain(out, c, t):
    return {g["lang"]: g["gain"] for g in out["gains"] if (g["cell"], g["target"]) == (c, t)}


def _series(d):
    """Non-baseline combinations with a known size, grouped by every grid key but the size ones, sorted by n."""
    out = {}
    for c, keys in d["combos"].items():
        if c not in d["base"] and d["n"][c]:
            rest = _label({k: v for k, v in keys.items() if "examples" not in k and "size" not in k}) or "all"
            out.setdefault(rest, []).append(c)
    return {s: sorted(cs, key=d["n"].get) for s, cs in out.items()}


def _curve(d, t, cs):
    """Seed-paired gains over the baseline, (L, C, S), on the languages and seeds every size and the baseline share."""
    tables = [_table(d, c, t) for c in cs]
    base = _baseline(d, cs[0], t)  # a series shares its baseline: it differs only in intermediate sizes
    langs = [lang for lang in base if all(lang in tab for tab in tables)]
    have = [set(tab[lang]) for tab in tables for lang in langs] + [set(base[lang]) for lang in langs]
    seeds = sorted(set.intersection(*have)) if langs else []
    if not seeds:
        return [], [], None
    return langs, seeds, np.array([[[tab[lang][s] - base[lang][s] for s in seeds] for tab in tables] for lang in langs])


def _fits(n, y, threshold):
    """Log-linear vs saturating on one mean gain curve, compared by AIC (m ln(SSE/m) + 2k); n_sat only when the
    saturating fit is preferred and identified (exponent inside its search range, the point inside the sizes)."""
    out = dict(log2=None, saturating=None, preferred=None, n_sat=None, n_sat_note=None)
    try:
        out["log2"] = stats.fit_log2(n, y)
        out["saturating"] = stats.fit_saturating(n, y)
    except ValueError:
        out["n_sat_note"] = "fewer than 3 sizes: no curve to compare"
        return out
    n, y = np.asarray(n, float), np.asarray(y, float)
    lin = out["log2"]["a"] + out["log2"]["b"] * np.log2(n)
    s = out["saturating"]
    sat = s["c"] - s["d"] * n ** -s["alpha"]
    aic = {k: len(n) * np.log(max(float(((y - p) ** 2).sum()), 1e-12) / len(n)) + 2 * m
           for k, p, m in (("log-linear", lin, 2), ("saturating", sat, 3))}
    out.update(aic={k: float(v) for k, v in aic.items()}, preferred=min(aic, key=aic.get))
    edge = not stats.ALPHA[0] * 1.01 < s["alpha"] < stats.ALPHA[1] * 0.99
    if out["preferred"] != "saturating" or s["d"] <= 0:
        out["n_sat_note"] = "no saturation: the log-linear curve fits as well"
    elif edge:
        out["n_sat_note"] = "not identified: the exponent sits at its search bound"
    else:
        point = stats.saturation_point(s, threshold)
        inside = point is not None and n.min() <= point <= n.max()
        out["n_sat"] = point if inside else None
        out["n_sat_note"] = None if inside else "not reached in range"
    return out


def _volume(d, out):
    threshold, rows, intervals, plots = float(d["study"].get("threshold", 0.5)), [], [], []
    for t in d["targets"]:
        for s, cs in _series(d).items():
            langs, seeds, g = _curve(d, t, cs)
            if len(cs) < 2 or not langs:
                continue
            n, logn = [d["n"][c] for c in cs], np.log2([d["n"][c] for c in cs])
            seed_of = dict(enumerate(seeds))
            slope = {lang: {seed_of[k]: stats.slope(logn, g[i, :, k]) for k in range(len(seeds))}
                     for i, lang in enumerate(langs)}
            step = (g[:, 1:, :] - g[:, :-1, :]) / np.diff(logn)[None, :, None]  # (L, C-1, S) gain per doubling
            per_step = lambda j: {lang: dict(zip(seeds, step[i, j].tolist())) for i, lang in enumerate(langs)}  # noqa
            change = {lang: dict(zip(seeds, (step[i, -1] - step[i, 0]).tolist())) for i, lang in enumerate(langs)}
            for k, by in _zero_shot(d, slope).items():
                if not by:
                    continue
                idx = [langs.index(lang) for lang in by]
                keep = lambda table: {lang: v for lang, v in table.items() if lang in by}  # noqa: E731
                rows.append(dict(target=t, series=s, group=k, n=n, langs=sorted(by),
                                 slope=_group(d, k, by, k != "all", target=t, series=s, what="gain per doubling"),
                                 per_interval=[_group(d, k, keep(per_step(j)), False, target=t, series=s,
                                                      what=f"per doubling {n[j]}→{n[j + 1]}")
                                               for j in range(len(cs) - 1)],
                                 change=_group(d, k, keep(change), k != "all", target=t, series=s,
                                               what="change in gain per doubling, last − first interval")
                                 if len(cs) >= 3 else None,
                                 fit=_fits(n, g[idx].mean((0, 2)), threshold), mean_gain=g[idx].mean((0, 2)).tolist(),
                                 at_size=[stats.t_interval(g[idx, j].mean(0)) if len(idx) >= MIN_LANGS
                                          else dict(lo=None, hi=None) for j in range(len(cs))]))  # as the tables
            slope = {lang: float(np.mean(list(v.values()))) for lang, v in slope.items()}
            split = _zero_shot(d, slope)
            if len(split["low"]) >= MIN_LANGS and len(split["high"]) >= MIN_LANGS:
                w = stats.welch(list(split["low"].values()), list(split["high"].values()))
                intervals.append(_test(d, target=t, series=s, what="gain per doubling, low − high resource", **w))
            groups = {lang: d["group"].get(lang) if lang != SOURCE else None for lang in langs}
            plots.append((f"volume_{t}_{_slug(s)}", draw.volume,
                          (f"{t} {d['metric'][t]}", s, n, langs, groups, g.mean(2),
                           [r for r in rows if (r["target"], r["series"]) == (t, s)])))
    return dict(threshold=threshold, volume=rows, volume_differences=intervals), plots


def _identified(extra):
    """After adjustment: n_sat is kept only where the group's returns diminish significantly (change < 0)."""
    for r in extra["volume"]:
        ch, fit = r["change"], r["fit"]
        if fit["n_sat"] is not None and not (ch and ch.get("p_adj") is not None and ch["p_adj"] < 0.05
                                             and ch["estimate"] < 0):
            fit.update(n_sat=None, n_sat_note="no significant diminishing returns: no saturation point")


def _volume_md(d, extra):
    md = ["## Diminishing returns", "", "Gain over the baseline (same seed, same language) against intermediate "
          "size n. Per zero-shot language (English left out), the least-squares gain per doubling of n and the gain "
          "per doubling in each size interval; a group's value is the mean over its languages per seed, Student-t "
          "over seeds. 'Change' = last interval's gain per doubling − the first's: negative means diminishing returns. "
          "Curves: log-linear vs saturating on the group's mean gain, by AIC; n_sat (the size beyond which a doubling "
          f"gains < {extra['threshold']} points) only where the saturating curve wins and is identified.", ""]
    head = ["target", "series", "group", "langs", "gain/doubling [CI]", "p_adj", "change [CI]", "p_adj", "curve (AIC)",
            "n_sat"]
    md += _report_table(d, "volume", head,
                    [[r["target"], r["series"], r["group"], len(r["langs"]), _est(r["slope"]), _padj(r["slope"]),
                      _est(r["change"]), _padj(r["change"]), r["fit"]["preferred"],
                      _count(r["fit"]["n_sat"]) if r["fit"]["n_sat"] else r["fit"]["n_sat_note"]]
                     for r in extra["volume"]])
    md += ["", "Gain per doubling in each size interval (per-seed group means, Student-t over seeds; estimates, not "
           "tests):", ""]
    md += _report_table(d, "volume_intervals", ["target", "series", "group", "interval", "gain/doubling [CI]", "p_adj"],
                    [[r["target"], r["series"], r["group"], p["what"].split(" ", 2)[2], _est(p), _padj(p)]
                     for r in extra["volume"] for p in r["per_interval"] if p])
    md += ["", "Low- vs high-resource gain per doubling (Welch over languages):", ""]
    md += _report_table(d, "volume_differences", ["target", "series", "low − high [CI]", "low/high langs", "p_adj"],
                    [[w["target"], w["series"], _est(w, "diff"), f"{w['n_a']}/{w['n_b']}", _padj(w)]
                     for w in extra["volume_differences"]])
    return md


def _typology(d, out):
    """Per target and pooled (target a fixed effect): the per-language gain (mean over seeds) on every feature at
    once, standardised, so each coefficient is net of the others; the features' correlations beside it."""
    features, models, plots = [*languages.FEATURES, "joshi_class"], [], []
    for c in d["combos"]:
        if c in d["base"]:
            continue
        per_target = {}
        for t in [*d["targets"], None]:
            if t is None:  # pooled: each language's gain, net of its target's mean, averaged over its targets
                if len(per_target) < 2:
                    break
                pooled = {}
                for g in per_target.values():
                    for lang, v in g.items():
                        pooled.setdefault(lang, []).append(v - np.mean(list(g.values())))
                gain = {lang: float(np.mean(v)) for lang, v in pooled.items()}
            else:
                gain = {lang: g for lang, g in _lang_gain(out, c, t).items() if lang != SOURCE and lang in d["langs"]}
                if not gain:
                    continue
                per_target[t] = gain
            langs = sorted(gain)
            X = np.array([[float(d["langs"][lang][f]) for f in features] for lang in langs])
            fit = stats.ols(X, [gain[lang] for lang in langs], features)
            corr = np.corrcoef(X, rowvar=False).round(3).tolist() if len(langs) > 2 else None
            m = dict(cell=c, target=t or "pooled", langs=langs, correlations=corr, **fit)
            m["terms"] = [_test(d, cell=c, target=m["target"], what=f"gain ~ {term['name']}", **term)
                          for term in fit["terms"]]
            models.append(m)
            if fit["terms"]:
                plots.append((f"typology_{t or 'pooled'}_{_slug(c)}", draw.typology, (m["target"], c, m)))
    return dict(features=features, models=models), plots


def _typology_md(d, extra):
    md = ["## Gain vs typology, each feature net of the others", "", "Per-language gain over the baseline (mean over "
          f"seeds, {SOURCE} left out) regressed on every feature at once: URIEL distances from English and the Joshi "
          "resource class (0-5, as a number), each standardised, so a coefficient is points of gain per 1 sd of its "
          "feature with the others held fixed; 'pooled' stacks the targets with a fixed effect per target. p_adj: "
          "Holm over every test in this report. VIF > 5 marks a feature the others largely predict: its coefficient "
          "is poorly separated from theirs.", ""]
    for m in extra["models"]:
        head = f"**{m['target']}, {m['cell']}**: {m['n']} languages"
        if m["why"]:
            md += [head + f": no model ({m['why']}).", ""]
            continue
        md += [head + f", R² {_fmt(m['r2'])}, {m['df']} residual df", ""]
        name = f"{m['target']}_{_slug(m['cell'])}"
        md += _report_table(d, f"typology_{name}", ["feature", "coef [CI]", "partial r", "VIF", "p", "p_adj"],
                            [[x["name"], _est(x, "coef"), x["partial_r"], x["vif"], _p(x["p"]), _padj(x)]
                             for x in m["terms"]]) + [""]
        if m["correlations"]:
            f = extra["features"]
            md += ["Correlations among the features over these languages:", "",
                   *_report_table(d, f"typology_features_{name}", ["", *f],
                                  [[a, *row] for a, row in zip(f, m["correlations"])]), ""]
    return md


def _loso(scores, candidates, seed):
    """The candidate with the best mean score over every seed but `seed`: chosen without the seed it is judged on."""
    return max(candidates, key=lambda c: np.mean([v for s, v in scores[c].items() if s != seed]))


def _ntasks(d, out):
    """Best k-task set vs best single task, and each set vs its own best member: the choice is made leave-one-
    seed-out (on the other seeds) and judged on the held-out seed, so selection does not favour either side."""
    rows, by_k, plots = [], [], []
    for t in d["targets"]:
        avg = {}  # combination → {seed: language-average score}
        for c in d["combos"]:
            langs, seeds, a = _complete(_table(d, c, t))
            if langs and d["k"][c] is not None:
                avg[c] = dict(zip(seeds, a.mean(0).tolist()))
        ks = sorted({d["k"][c] for c in avg})
        for k in ks:
            sets = [c for c in avg if d["k"][c] == k]
            mean = float(np.mean([np.mean(list(avg[c].values())) for c in sets]))
            by_k.append(dict(target=t, k=k, n_sets=len(sets), mean_over_sets=mean))
        singles = [c for c in avg if d["k"][c] == 1]
        seeds = sorted(set.intersection(*[set(avg[c]) for c in avg])) if avg else []
        for k in [k for k in ks if k >= 2]:
            sets = [c for c in avg if d["k"][c] == k]
            rows.append(_versus(d, t, f"best {k}-task set − best single task", avg, sets, singles, seeds, k=k))
            for c in sets:
                members = [m for m in singles if d["combos"][m].get("task") in d["combos"][c]["task"].split(",")]
                if members:
                    rows.append(_versus(d, t, f"{c} − its best member", avg, [c], members, seeds, k=k, cell=c))
        if avg:
            plots.append((f"ntasks_{t}", draw.ntasks, (f"{t} {d['metric'][t]}", [r for r in rows if r["target"] == t
                                                                                 and "best single" in r["what"]])))
    base = d["study"].get("base") or {}
    steps = base.get("intermediate.max_steps") or base.get("max_steps")
    return dict(versus=rows, by_k=by_k, compute=f"matched: every set trains {steps} steps" if steps else
                "not matched: each set trains for its tasks' epochs, so larger sets see more examples"), plots


def _versus(d, t, what, avg, left, right, seeds, **keys):
    if len(seeds) < 2 or not left or not right:
        return dict(target=t, what=what, **keys, gain=None, ci_low=None, ci_high=None, p=None,
                    why="fewer than 2 seeds: no held-out seed to judge the choice on")
    diff = [avg[_loso(avg, left, s)][s] - avg[_loso(avg, right, s)][s] for s in seeds]
    r = stats.t_interval(diff)
    row = dict(target=t, what=what, **keys, gain=r["mean"], ci_low=r["lo"], ci_high=r["hi"], p=r["p"], n_seeds=r["n"],
               why=r["why"])
    return _test(d, **row) if row["p"] is not None else row


def _ntasks_md(d, extra):
    md = ["## Number of intermediate tasks", "", "Language-averaged score. 'Best' is chosen leave-one-seed-out: on "
          "every seed but one, then scored on that one; the difference is paired by seed, Student-t over seeds. "
          f"Compute: {extra['compute']}.", ""]
    md += _report_table(d, "ntasks", ["target", "comparison", "difference [CI]", "seeds", "p_adj"],
                    [[r["target"], r["what"], _est(r, "gain") if r["gain"] is not None else r["why"],
                      r.get("n_seeds"), _padj(r)] for r in extra["versus"]])
    md += ["", "Mean over the k-task sets (descriptive, not a comparison: it averages good and bad sets):", ""]
    md += _report_table(d, "ntasks_mean_over_sets", ["target", "k", "sets", "mean over sets"],
                        [[r["target"], r["k"], r["n_sets"], r["mean_over_sets"]] for r in extra["by_k"]])
    return md


def _robustness(d, out):
    """Per size and for the baseline: seed sd of the language average (chi-square interval), worst language and
    spread per seed; their differences from the baseline, paired by seed."""
    rows, plots = [], []
    for t in d["targets"]:
        base = next((c for c in d["base"] if _table(d, c, t)), None)
        series = {"baseline": [base]} if base else {}
        series.update(_series(d))
        per = {}
        for s, cs in series.items():
            for c in cs:
                langs, seeds, a = _complete(_table(d, c, t))
                if not langs:
                    continue
                sd, lo, hi = stats.sd_interval(a.mean(0))
                per[c] = dict(zip(seeds, zip(a.mean(0), a.min(0), a.max(0) - a.min(0))))
                row = dict(target=t, series=s, cell=c, n=d["n"][c], n_seeds=len(seeds), n_langs=len(langs),
                           mean=float(a.mean()), seed_sd=sd, seed_sd_ci=[lo, hi],
                           lang_seed_sd={lang: stats.sd_interval(row)[0] for lang, row in zip(langs, a)},
                           worst_lang=langs[int(a.mean(1).argmin())], worst=float(a.min(0).mean()),
                           spread=float((a.max(0) - a.min(0)).mean()))
                if base and c != base and base in per:
                    common = sorted(set(per[c]) & set(per[base]))
                    for key, i in (("worst_vs_baseline", 1), ("spread_vs_baseline", 2)):
                        r = stats.t_interval([per[c][x][i] - per[base][x][i] for x in common]) if common else None
                        v = r and dict(what=f"{key} at n={d['n'][c]}", estimate=r["mean"], ci_low=r["lo"],
                                       ci_high=r["hi"], p=r["p"], why=r["why"])
                        row[key] = _test(d, **v) if v and v["p"] is not None else v
                rows.append(row)
        if rows:
            mine = [r for r in rows if r["target"] == t]
            plots.append((f"robustness_{t}", draw.robustness, (t, d["metric"][t], mine)))
    return dict(robustness_vs_size=rows), plots


def _robustness_md(d, extra):
    md = ["## Robustness vs data volume", "", "Per intermediate size n and for the baseline: the seed sd of the "
          "language-averaged score (95% chi-square interval), the worst language's score and the spread (best − "
          "worst language), each averaged over seeds; Δ = the same minus the baseline's, paired by seed "
          "(Student-t).", ""]
    head = ["target", "series", "n", "seeds", "seed sd [CI]", "worst", "Δ worst [CI]", "p_adj", "spread",
            "Δ spread [CI]", "p_adj"]
    md += _report_table(d, "robustness_vs_size", head,
                    [[r["target"], r["series"], r["n"] or "baseline", r["n_seeds"],
                      _with_ci(r["seed_sd"], r["seed_sd_ci"]),
                      f"{r['worst']:.2f} ({r['worst_lang']})", _est(r.get("worst_vs_baseline")),
                      _padj(r.get("worst_vs_baseline")), r["spread"], _est(r.get("spread_vs_baseline")),
                      _padj(r.get("spread_vs_baseline"))] for r in extra["robustness_vs_size"]])
    return md


def _translated(d, out):
    """The diagonal question: intermediate data in language L vs English intermediate data, on target language L."""
    heat, diag, pooled, plots = [], [], [], []
    untranslated = lambda c: _label({k: v.split("@")[0] if k == "task" else v  # noqa: E731
                                     for k, v in d["combos"][c].items()})
    english = {untranslated(c): c for c in d["combos"] if d["inter"][c] == SOURCE}
    for t in d["targets"]:
        rows = sorted((c for c in d["combos"] if c not in d["base"] and d["inter"][c] not in (SOURCE, "none")
                       and english.get(untranslated(c)) and _lang_gain(out, c, t)), key=lambda c: d["inter"][c])
        by_lang = {}
        for c in rows:
            ref, L = english[untranslated(c)], d["inter"][c]
            vs = _diff(_table(d, c, t), _table(d, ref, t))
            heat += [dict(target=t, row=L, cell=c, lang=lang, vs_english=float(np.mean(list(v.values()))),
                          gain=_lang_gain(out, c, t).get(lang)) for lang, v in vs.items()]
            genus = d["langs"].get(L, {}).get("genus")
            kin = sorted(x for x in vs if x != L and genus and d["langs"].get(x, {}).get("genus") == genus)
            for on, langs in ((L, [L] if L in vs else []), (f"{L}'s genus ({genus}: {' '.join(kin)})", kin)):
                seeds = sorted(set.intersection(*(set(vs[x]) for x in langs))) if langs else []
                if not seeds:
                    continue
                values = [float(np.mean([vs[x][s] for x in langs])) for s in seeds]  # per seed, over the languages
                r, p = _ci(values), stats.t_interval(values)["p"]
                row = dict(target=t, cell=c, inter_lang=L, on=on, what=f"{L} data − English data on {on}", **r)
                diag.append(_test(d, **row, p=p) if r["why"] is None else dict(row, p=None))
                if on == L:
                    by_lang[L] = r["gain"]
        if by_lang:
            pooled.append(_over_langs(d, "diagonal", by_lang, target=t, what="own-language data − English data"))
            cols = [d["inter"][c] for c in rows]
            cols += sorted({h["lang"] for h in heat if h["target"] == t} - set(cols))
            plots.append((f"translated_{t}", draw.heatmap, (t, d["metric"][t], [d["inter"][c] for c in rows], cols,
                                                             [h for h in heat if h["target"] == t])))
    return dict(heatmap=heat, diagonal=diag, diagonal_pooled=[p for p in pooled if p]), plots


def _translated_md(d, extra):
    md = ["## Intermediate language × target language", "", "The diagonal: intermediate data in language L (machine-"
          "translated) minus English intermediate data, on target language L and on the other target languages of "
          "L's genus (WALS), paired by seed (Student-t over seeds); "
          "pooled over languages with languages as the unit. Translated data differ from human-written English in "
          "more than language (translation noise, translationese): a diagonal gain is the sum of both.", ""]
    md += _report_table(d, "translated_diagonal", ["target", "L", "on", "L data − en data [CI]", "seeds", "p_adj"],
                        [[r["target"], r["inter_lang"], r["on"], _est(r, "gain") if r["why"] is None else
                          f"{_fmt(r['gain'])} ({r['why']})", r["n_seeds"], _padj(r)] for r in extra["diagonal"]])
    md += ["", *_report_table(d, "translated_pooled", ["target", "pooled over", "estimate [CI]", "langs", "p_adj"],
                          [[p["target"], " ".join(p["langs"]), _est(p), p["n_langs"], _padj(p)]
                           for p in extra["diagonal_pooled"]])]
    return md


def _encoder_study(d, out):
    """Per encoder × intermediate task × target: the gain over that encoder's own baseline on the zero-shot
    languages (paired by seed, averaged over the languages per seed, Student-t over seeds: _group); per task ×
    target, each encoder's gain − the reference encoder's (the grid's first), Welch over the two encoders' per-seed
    gains on the languages both have: different encoders' seeds are separate models, not pairs."""
    models = d["grid"].get("model") or _encoder_names(d)[:1]
    rows, diffs, plots, tables = [], [], [], {}
    for t in d["targets"]:
        for c, keys in d["combos"].items():
            if c in d["base"]:
                continue
            m, task = keys.get("model", models[0]), keys.get("task")
            gains = _zero_shot(d, _diff(_table(d, c, t), _baseline(d, c, t)))["all"]
            row = _group(d, "zero-shot", gains, True, model=m, task=task, target=t, cell=c)
            if row:
                rows.append(row)
                tables[m, task, t] = gains
        for m, task in [(m, task) for m, task, t2 in tables if t2 == t and m != models[0]]:
            ref = tables.get((models[0], task, t))
            if ref is None:
                continue
            langs = sorted(set(tables[m, task, t]) & set(ref))
            a, b = (_complete({x: g[x] for x in langs})[2] for g in (tables[m, task, t], ref))
            w = stats.welch(a.mean(0), b.mean(0)) if len(langs) else dict(diff=None, p=None, why="no common language")
            row = dict(model=m, reference=models[0], task=task, target=t, n_langs=len(langs),
                       what=f"gain of {m} − gain of {models[0]}", **w)
            diffs.append(_test(d, **row) if row["p"] is not None else row)
        mine = [r for r in rows if r["target"] == t]
        if mine:
            plots.append((f"encoders_{t}", draw.encoders, (t, d["metric"][t], models, mine)))
    return dict(reference=models[0], encoder_gains=rows, encoder_differences=diffs), plots


def _encoder_study_md(d, extra):
    md = ["## Intermediate training across encoders", "", "Gain over the same encoder's own baseline (task none, "
          f"same seed and language) averaged over the zero-shot languages ({SOURCE} left out) per seed, Student-t "
          f"over seeds, no test below {MIN_LANGS} languages. 'vs reference': this encoder's gain − "
          f"{extra['reference']}'s on the languages both have, Welch over the two encoders' per-seed gains (separate "
          "models: not paired). p_adj: Holm over every test in this report.", ""]
    diff = {(r["model"], r["task"], r["target"]): r for r in extra["encoder_differences"]}
    rows = []
    for r in extra["encoder_gains"]:
        w = diff.get((r["model"], r["task"], r["target"]))
        rows.append([r["model"], r["task"], r["target"], r["n_langs"], r["n_seeds"], _est(r) if r["why"] is None
                     else f"{_fmt(r['estimate'])} ({r['why']})", _padj(r),
                     "reference" if r["model"] == extra["reference"] else "–" if not w else _est(w, "diff")
                     if w["why"] is None else f"{_fmt(w['diff'])} ({w['why']})", _padj(w)])
    return md + _report_table(d, "encoders", ["encoder", "task", "target", "langs", "seeds", "gain [CI]", "p_adj",
                                              "vs reference [CI]", "p_adj"], rows)


def _answer(d, out, extra, missing):
    """The study's one stated answer, generated from the numbers: {question, findings, caveats}."""
    sig = lambda r: r and r.get("p_adj") is not None and r["p_adj"] < 0.05  # noqa: E731
    kind, findings = d["kind"], []
    if kind == "volume":
        question = "Does more English intermediate data give diminishing returns, above all for low-resource languages?"
        for r in extra["volume"]:
            if r["group"] == "all" or not r["change"]:
                continue
            ch = r["change"]
            verdict = (f"cannot be tested ({ch['why']})" if ch.get("p_adj") is None else "diminishing returns"
                       if sig(ch) and ch["estimate"] < 0 else "accelerating returns" if sig(ch)
                       else "no evidence of diminishing returns")
            sl = r["slope"]
            trend = ("falling" if sl["estimate"] < 0 else "rising") if sig(sl) else "not distinguishable from flat" \
                if sl.get("p_adj") is not None else "untested"
            findings.append(f"{r['target']}, {r['series']}, {r['group']}-resource ({len(r['langs'])} languages): "
                            f"{verdict} (change in gain per doubling {_est(ch)}, p_adj {_padj(ch)}); the curve is "
                            f"{trend} ({_est(sl)} points per doubling); better described as {r['fit']['preferred']}")
        findings += [f"{w['target']}, {w['series']}: low − high resource gain per doubling {_est(w, 'diff')}, "
                     f"p_adj {_padj(w)}" for w in extra["volume_differences"]]
    elif kind == "typology":
        question = "Which typological features predict the gain of English intermediate training, net of the others?"
        for m in extra["models"]:
            if m["terms"]:
                kept = [f"{x['name']} ({x['coef']:+.2f} per sd, p_adj {_padj(x)})" for x in m["terms"] if sig(x)]
                findings.append(f"{m['target']}, {m['cell']}: " + (", ".join(kept) if kept else
                                "no feature survives adjustment") + f" ({m['n']} languages)")
    elif kind == "ntasks":
        question = "Does training on more intermediate tasks beat the best single task?"
        for r in extra["versus"]:
            if "best single" in r["what"] and r["gain"] is None:
                findings.append(f"{r['target']}: the best {r['k']}-task set vs the best single task: {r['why']}")
            elif "best single" in r["what"]:
                verdict = ("worse than" if r["gain"] < 0 else "better than") if sig(r) else "not distinguishable from"
                findings.append(f"{r['target']}: the best {r['k']}-task set is {verdict} the best single task "
                                f"({_est(r, 'gain')}, p_adj {_padj(r)}, {r['n_seeds']} seeds)")
        findings.append(f"Compute {extra['compute']}")
    elif kind == "robustness":
        question = "Does more intermediate data make transfer more robust (seeds, worst language, spread)?"
        for r in extra["robustness_vs_size"]:
            for key, name in (("worst_vs_baseline", "worst language"), ("spread_vs_baseline", "spread")):
                if r.get(key) and r[key]["p"] is not None:
                    findings.append(f"{r['target']}, n={r['n']}: {name} vs baseline {_est(r[key])}, "
                                    f"p_adj {_padj(r[key])}")
    elif kind == "translated":
        question = "Does intermediate data in the target language beat English intermediate data on that language?"
        findings += [f"{p['target']}: own-language data − English data, pooled over {p['n_langs']} languages: "
                     f"{_est(p)}, p_adj {_padj(p)}" + (f" ({p['why']})" if p["why"] else "")
                     for p in extra["diagonal_pooled"]]
    elif kind == "xstilts":
        from studies import paper
        question = ("Which English intermediate task helps each XTREME target most (chosen on dev), and how does "
                    "that system compare with the published X-STILTs numbers?")
        findings += paper.findings(extra)
    elif kind == "encoders":
        question = "Does English intermediate training still help newer multilingual encoders, as much as XLM-R large?"
        diff = {(r["model"], r["task"], r["target"]): r for r in extra["encoder_differences"]}
        for r in extra["encoder_gains"]:
            verdict = (f"cannot be tested ({r['why']})" if r.get("p_adj") is None else
                       ("helps" if r["estimate"] > 0 else "hurts") if sig(r) else "no evidence that it helps")
            w, ref = diff.get((r["model"], r["task"], r["target"])), extra["reference"]
            versus = "" if r["model"] == ref else f"; vs {ref}: " + (
                "no comparison (no reference gain)" if not w else f"cannot be tested ({w['why']})"
                if w.get("p_adj") is None else f"{'larger' if w['diff'] > 0 else 'smaller'} gain" if sig(w)
                else "not distinguishable") + (f" ({_est(w, 'diff')}, p_adj {_padj(w)})" if w else "")
            findings.append(f"{r['model']}, {r['task']} → {r['target']} ({r['n_langs']} zero-shot languages): "
                            f"{verdict} ({_est(r)}, p_adj {_padj(r)}){versus}")
        findings += [f"{c}: no baseline results for this encoder, so no gain" for c in d["combos"]
                     if d["base_of"][c] is None]
    else:
        question = "Does each cell improve over the baseline?"
    if d["by"]["asked"]:
        by = d["by"]
        question = question if kind != "generic" else (f"Does the gain over the baseline differ between the groups of "
                                                       f"languages by {by['name']} ({', '.join(by['order'])})?")
        findings += [_difference_finding(w, sig(w)) for w in out["group_differences"]]
    if kind != "typology":
        findings += [f"{g['cell']}, {g['target']}: average gain over {g['n_langs']} languages {_est(g, 'gain')}, "
                     f"p_adj {_padj(g)}" for g in out["gain_summary"] if kind == "generic"]
    seeds = sorted({s for v in d["scores"].values() for s in v})
    caveats = [f"{len(missing)} missing item(s): see Setup"] if missing else []
    skipped = sorted({e["skipped"] for e in d["cells"].values() if e.get("skipped")})
    caveats += [f"cells left out, the others reported: {'; '.join(skipped)}"] if skipped else []
    caveats += [f"only {len(seeds)} seed(s) with results: no interval over seeds"] if len(seeds) < 2 else []
    if 2 <= len(seeds) < 5:
        caveats.append(f"{len(seeds)} seeds: intervals are wide and only large effects are detectable")
    commits = d["provenance"].get("commits", {})
    caveats += [f"the stages come from {len(commits)} different commits ({', '.join(commits)}): results may mix "
                "code versions"] if len(commits) > 1 else []
    if d["collapsed"]:
        by = Counter(x.rsplit(", ", 1)[1].split()[0] for x in d["collapsed"])
        caveats.append(f"{len(d['collapsed'])} collapsed evaluation(s) (one class >= 95% of the predictions: "
                       f"{', '.join(f'{t} {n}' for t, n in by.items())}) "
                       + ("kept in the statistics (keep_collapsed)" if d["study"].get("keep_collapsed") else
                          "left out of the statistics") + "; listed in report.json `collapsed`")
    return dict(question=question, findings=findings or ["no finding: the data cannot answer yet"], caveats=caveats,
                method=METHOD, tests=len(d["tests"]))


def _difference_finding(w, significant):
    """One group difference of the Answer: estimate, interval, adjusted p and the languages behind each side."""
    head = f"{w['cell']}, {w['target']}: {w['what']} (by {w['by']}, languages the unit)"
    if w["p"] is None:
        return f"{head}: {_fmt(w['diff'])} points, {w['n_a']} vs {w['n_b']} languages ({w['why']})"
    verdict = (f"{w['group_a']} languages gain {'more' if w['diff'] > 0 else 'less'} than {w['group_b']}"
               if significant else "no evidence of a difference")
    return f"{head}: {verdict} ({_est(w, 'diff')} points, p_adj {_padj(w)}, {w['n_a']} vs {w['n_b']} languages)"


def _est(r, key="estimate"):
    if not r or r.get(key) is None:
        return "–"
    return _with_ci(r[key], (r.get("ci_low", r.get("lo")), r.get("ci_high", r.get("hi"))))


def _padj(r):
    return _p(r.get("p_adj")) if r else "–"


def _count(n):
    return f"{n:,.0f}"


def _fmt(x):
    return "–" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)


def _p(p):
    return "–" if p is None else "<0.001" if p < 0.001 else f"{p:.3f}"


def _with_ci(x, ci):
    return f"{_fmt(x)} [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci[0] is not None else _fmt(x)


def _slug(label):
    return re.sub(r"[^\w.-]+", "_", label)


def _report_table(d, name, header, rows):
    """A markdown table for report.md, kept in d["tables"] to be written as tables/NAME.csv and .tex too."""
    d["tables"][name] = (header, [[_fmt(x) for x in r] for r in rows])
    return _md_table(header, rows)


def _latex(header, rows):
    """A booktabs tabular; LaTeX's special characters escaped."""
    esc = lambda x: re.sub(r"([&%$#_{}])", r"\\\1", str(x)).replace("~", r"\textasciitilde{}").replace(  # noqa
        "^", r"\textasciicircum{}").replace("<", r"\textless{}").replace(">", r"\textgreater{}")
    body = [" & ".join(map(esc, r)) + r" \\" for r in rows]
    return "\n".join([r"\begin{tabular}{" + "l" * len(header) + "}", r"\toprule", " & ".join(map(esc, header)) + r" \\",
                      r"\midrule", *body, r"\bottomrule", r"\end{tabular}", ""])


def _md_table(header, rows):
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(map(_fmt, r)) + " |" for r in rows)] if rows else ["(nothing to show yet)"]


def _common_md(d, out, missing):
    seeds = ", ".join(map(str, sorted({s for v in d["scores"].values() for s in v}))) or "none"
    md = ["## Setup", "", f"- study: {d['kind']}",
          "- grid: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in d["grid"].items()),
          f"- encoder(s): {', '.join(_encoder_names(d)) or 'not recorded'}",
          f"- seeds: {', '.join(map(str, d['study'].get('seeds') or []))} (with results: {seeds})",
          f"- baseline: {', '.join(d['base']) or 'none in this study'}",
          "- targets (metric): " + (", ".join(f"{t} ({m})" for t, m in d["metric"].items()) or "none yet"),
          f"- uncertainty: {METHOD}",
          "- provenance: " + (", ".join(f"{k} {', '.join(f'{v} ({n})' for v, n in p.items())}" for k, p in
                                        d["provenance"].items() if isinstance(p, dict))
                              + f"; {d['provenance']['first']} to {d['provenance']['last']}, "
                                f"{d['provenance']['wall_h']} h of stage time" if d["provenance"]["stages"] else
                              "no stage records (stages from before provenance was recorded)"),
          f"- missing: {f'{len(missing)} item(s)' if missing else 'nothing'}", *(f"  - {m}" for m in missing[:30]),
          *([f"  - … {len(missing) - 30} more in report.json"] if len(missing) > 30 else [])]
    md += ["", "## Scores", "", "Language-averaged score: mean ± sd over seeds; worst language by its mean over "
           "seeds.", ""]
    md += _report_table(d, "scores", ["cell", "target", "mean ± sd", "seeds", "langs", "worst"],
                    [[s["cell"], s["target"], f"{s['mean']:.2f} ± {_fmt(s['sd'])}", s["n_seeds"], s["n_langs"],
                      f"{s['worst']:.2f} ({s['worst_lang']})"] for s in out["scores"]])
    groups = f"by {d['by']['name']}" if d["by"]["asked"] else "low = Joshi class 0-2"
    md += ["", "## Gains over the baseline", "", "Cell − baseline on the same seed, target and language. 'These "
           "languages': the language average, Student-t over seeds (no interval below 2 seeds). Groups (zero-shot "
           f"languages, {SOURCE} left out; {groups}): the group's mean per seed, Student-t over seeds, "
           f"no test below {MIN_LANGS} languages.", ""]
    md += _report_table(d, "gains", ["cell", "target", "these languages [CI]", "p_adj", "langs", "improved"],
                    [[g["cell"], g["target"],
                      _est(g, "gain") if g["why"] is None else f"{_fmt(g['gain'])} ({g['why']})",
                      _padj(g), g["n_langs"], f"{g['share_improved']:.0%}"] for g in out["gain_summary"]])
    md += ["", *_report_table(d, "groups", ["cell", "target", "group", "langs", "mean gain [CI]", "p_adj"],
                          [[g["cell"], g["target"], g["group"], g["n_langs"], _est(g) if g["why"] is None else
                            f"{_fmt(g['estimate'])} ({g['why']})", _padj(g)] for g in out["groups"]])]
    per_lang = {}
    for g in out["gains"]:
        per_lang.setdefault((g["cell"], g["target"]), []).append(f"{g['lang']} {g['gain']:+.2f}")
    md += ["", "Per language (mean over seeds; t intervals in report.json, not adjusted: estimates, not tests):", "",
           *(f"- {c}, {t}: {', '.join(v)}" for (c, t), v in per_lang.items())] if per_lang else []
    md += _groups_md(d, out)
    md += ["", "## Robustness", "", "Seed sd of the language average, worst language, sd and range across languages, "
           "share of languages above the baseline (stats.robustness).", ""]
    head = ["cell", "target", "mean", "seed sd", "worst", "lang sd", "max−min", "improved"]
    md += _report_table(d, "robustness", head,
                    [[r["cell"], r["target"], r["mean"], r["seed_std"], f"{r['worst']:.2f} ({r['worst_lang']})",
                      r["lang_std"], r["lang_range"], r.get("share_improved")] for r in out["robustness"]])
    return md


def _groups_md(d, out):
    """The groups asked for (`groups:` or --group-by): who is in which, who is left out, the differences."""
    if not d["by"]["asked"]:
        return []
    g = out["grouping"]
    md = ["", "## Language groups", "", f"By {g['by']}, the zero-shot languages of this study: " + "; ".join(
        f"{k} ({len(v)}: {' '.join(v)})" for k, v in g["groups"].items())
        + f". Each group's mean gain is in the table above. The difference between groups takes languages as the "
        f"unit (the seed luck they share cancels): Welch's t over the per-language mean gains (mean over seeds), 95% "
        f"interval, Holm-adjusted with every test of this report; {g['comparison']}; below {MIN_LANGS} languages on "
        "a side the estimate alone (no test is possible).", ""]
    md += [f"- {t}: {len(v)} zero-shot language(s) in no group, left out of the groups: {' '.join(v)}"
           for t, v in g["left_out"].items() if v] or ["- every zero-shot language is in a group"]
    md += ["", *_report_table(d, "group_differences", ["cell", "target", "comparison", "difference [CI]", "langs",
                                                       "p_adj"],
                              [[w["cell"], w["target"], w["what"], _est(w, "diff") if w["p"] is not None else
                                f"{_fmt(w['diff'])} ({w['why']})", f"{w['n_a']}/{w['n_b']}", _padj(w)]
                               for w in out["group_differences"]])]
    return md


def _group_plots(d, out):
    """Where groups were asked for: one figure per target, the groups side by side (studies/plots.py groups)."""
    if not d["by"]["asked"]:
        return []
    gain = {}  # per target: {cell: {lang: mean gain over seeds}}
    for g in out["gains"]:
        gain.setdefault(g["target"], {}).setdefault(g["cell"], {})[g["lang"]] = g["gain"]
    return [(f"groups_{t}", draw.groups, (t, d["metric"][t], d["by"]["name"], rows, gain[t],
                                          [w for w in out["group_differences"] if w["target"] == t]))
            for t in d["targets"] if (rows := [g for g in out["groups"] if g["target"] == t and g["group"] != "all"])]


def _encoder_names(d):
    """The encoders of the study: cells.json's `model` where the sweep wrote it, else a grid `model`, else base's."""
    recorded = [str(c["model"]) for c in d["cells"].values() if c.get("model")]
    return list(dict.fromkeys(recorded or d["grid"].get("model") or
                              [str(m) for m in [(d["study"].get("base") or {}).get("model")] if m]))


def _answer_md(d, answer):
    return ["## Answer", "", f"**{answer['question']}**", "", *(f"- {f}." for f in answer["findings"]), "",
            f"Caveats: {'; '.join(answer['caveats']) or 'none'}.", "",
            f"Method: {answer['method']} {answer['tests']} test(s) in this report, Holm-adjusted together (p_adj)."]


def _xstilts(d, out):
    from studies import paper  # the paper's own study: it builds on this module's helpers
    return paper.analyse(d, out)


def _xstilts_md(d, extra):
    from studies import paper
    return paper.markdown(d, extra)


SECTIONS = dict(xstilts=(_xstilts, _xstilts_md), volume=(_volume, _volume_md), typology=(_typology, _typology_md),
                ntasks=(_ntasks, _ntasks_md), robustness=(_robustness, _robustness_md),
                translated=(_translated, _translated_md), encoders=(_encoder_study, _encoder_study_md))


def _save(fig, path):
    """A figure as PNG and PDF, atomically; the tests replace this to read the plotted data."""
    for fmt in ("png", "pdf"):
        atomic_write(path.with_suffix(f".{fmt}"),
                     lambda tmp: fig.savefig(tmp, format=fmt, dpi=120, bbox_inches="tight"))


def write_report(sweep_dir, group_by=None) -> Path:
    """Compute everything first (an error leaves no file behind), then write the figures, report.json, report.md.
    group_by: --group-by, a languages.tsv column or a grouping named in the study's `groups:` (which it overrides)."""
    sweep = Path(sweep_dir)
    d = dict(_build(*_read(sweep)), dir=sweep)
    d["by"] = languages.grouping(d["study"].get("groups"), group_by, str(sweep / "study.yaml"))
    out, missing = _analyse(d), _missing(d)
    compute, to_md = SECTIONS.get(d["kind"], (None, None))
    extra, plots = compute(d, out) if compute else ({}, [])
    plots = [*plots, *_group_plots(d, out)]
    for row, p in zip(d["tests"], stats.holm([r["p"] for r in d["tests"]])):
        row["p_adj"] = p
    if d["kind"] == "volume":
        _identified(extra)
    answer = _answer(d, out, extra, missing)
    md = [f"# Report: {d['kind']} study", "", *_answer_md(d, answer), "", *_common_md(d, out, missing)]
    md += ["", *to_md(d, extra)] if to_md else []
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
    for name, figure, args in plots if plt else []:
        fig = figure(plt, *args)
        fig.tight_layout()  # titles of one row clear the axis labels of the row above
        _save(fig, sweep / name)
        plt.close(fig)
        written.append(name + ".png")
    md += ["", "## Plots", "", *(f"![{name[:-4]}]({name})" for name in written)] if written else []
    seeds = sorted({s for v in d["scores"].values() for s in v})
    report = dict(study=d["kind"], answer=answer, grid=d["grid"], seeds=seeds,
                  targets=d["targets"], metrics=d["metric"], baseline=d["base"], missing=missing,
                  collapsed=sorted(d["collapsed"]), provenance=d["provenance"], **out, **extra, plots=written,
                  tables=sorted(f"tables/{_slug(n)}.csv" for n in d["tables"]))
    (sweep / "tables").mkdir(exist_ok=True)
    for name, (header, rows) in d["tables"].items():  # each table of report.md, for a paper: CSV and booktabs
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        atomic_write(sweep / "tables" / f"{_slug(name)}.csv",
                     lambda tmp: Path(tmp).write_text(buf.getvalue(), encoding="utf-8"))
        atomic_write(sweep / "tables" / f"{_slug(name)}.tex",
                     lambda tmp: Path(tmp).write_text(_latex(header, rows), encoding="utf-8"))
    text = json.dumps(report, indent=1, ensure_ascii=False, default=float)
    atomic_write(sweep / "report.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    atomic_write(sweep / "report.md", lambda tmp: Path(tmp).write_text("\n".join(md) + "\n", encoding="utf-8"))
    return sweep / "report.md"
