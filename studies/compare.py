"""`xstilts.py compare RUN_OR_SWEEP... [--baseline LABEL] [--metric M] [--out FILE]`: finished runs side by side.

Each argument is a run folder (`run`, `eval --all`, `eval`: results.json + predictions/ + labels/), a sweep
folder (every grid point becomes a system, its seeds grouped), or LABEL=DIR,DIR,... (the seeds of one
system made by hand). Prints a target × language pivot (mean ± sd and min over seeds; per system the average
and the worst language) and, with --baseline, each language's delta against it with a 95% interval over both
levels of chance: the seeds (Welch over each system's per-seed scores) and the test examples (a paired
bootstrap of the seeds' averaged per-example scores; ratio metrics such as chunk F1 resample sentences and
recompute the ratio), combined by adding variances (stats.two_level). `none` is the baseline of a sweep.
Metrics are recomputed from the stored predictions and labels.
"""
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import yaml

from util import UserError
from studies import stats
from tasks import get_task, task_names
from tasks.lib import metrics, scoring, submission

N_BOOT = 2000


def main_metric(target):
    """A target's main metric, as XTREME reports it: its task file's METRIC."""
    return get_task(target).METRIC


MAIN = {name: main_metric(name) for name in task_names()}  # for studies/report.py and studies/synthetic.py


def systems(args):
    """→ ({label: [(folder holding predictions/ and labels/, [(target, lang)])] per seed}, {label: encoder})."""
    out, models = {}, {}
    for arg in args:
        label, _, dirs = arg.rpartition("=")
        for d in dirs.split(","):
            d = Path(d)
            if (d / "cells.json").exists():  # a sweep: one system per grid point
                base = _yaml(d / "study.yaml").get("base") or {}
                for c in json.loads((d / "cells.json").read_text(encoding="utf-8")):
                    if c.get("skipped"):  # left out by the sweep (data that cannot be downloaded): no column
                        print(f"note: {d}: cell {c['cell']} ({c['keys']}) was left out by the sweep: {c['skipped']}.")
                        continue
                    # the baseline is one system: grid keys that do not apply to it (a size) are dropped
                    keys = c["keys"] if str(c["keys"].get("task")) != "none" else {"none": None, **{
                        k: v for k, v in c["keys"].items() if k != "task" and not k.startswith("intermediate.")}}
                    name = ",".join(k if v is None else f"{k}={v}" for k, v in keys.items())
                    seed = [(d / s, finished(d / s)) for s in c["stages"] if Path(s).name.startswith("eval-")]
                    runs = out.setdefault(f"{label}:{name}" if label else name, [])
                    model = c.get("model") or c["keys"].get("model") or base.get("model")  # cells.json's, else study's
                    models.setdefault(f"{label}:{name}" if label else name, set()).add(str(model or "unknown"))
                    if seed not in runs:  # the baseline's cells share stages: each seed once
                        runs.append(seed)
            elif (d / "results.json").exists() and (d / "predictions").is_dir():
                if not finished(d):  # a blank column would look like a result
                    raise UserError(f"{d}: no prediction file has its label file beside it (labels/ in XTREME's "
                                    "layout, written by eval); evaluate it again or copy its labels/.")
                out.setdefault(label or d.name, []).append([(d, finished(d))])
                models.setdefault(label or d.name, set()).add(str(_yaml(d / "config.yaml").get("model") or "unknown"))
            else:
                raise UserError(f"{d}: not a finished run (results.json + predictions/) or a sweep (cells.json).")
    return out, {label: ", ".join(sorted(m)) for label, m in models.items()}


def _yaml(path):
    """A run's config.yaml or a sweep's study.yaml as a mapping; {} when absent (the encoder is then unknown)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML ({str(e).splitlines()[0]}); restore it from the run.") from None
    return data if isinstance(data, dict) else {}


def finished(d):
    """(target, lang) pairs whose prediction and label files are both there."""
    pairs = []
    for f in sorted((d / "predictions").glob("*/test-*.*")):
        lang = f.name[5:].rsplit(".", 1)[0]
        if (d / "labels" / f.parent.name / f.name).exists():
            pairs.append((submission.task_of(f.parent.name), lang))
    return pairs


def read_scores(folder, target, lang):
    """(scores, predictions, gold) of one finished (target, language) in a folder holding predictions/ and
    labels/ in XTREME's layout: the official metrics, plus macro-F1 for classification (SPEC §7.3)."""
    f = submission.folder(target)
    p, g = (folder / kind / f / f"test-{lang}.{submission.suffix(f)}" for kind in ("predictions", "labels"))
    pred, gold = submission.read(p, f), submission.read(g, f)
    scores = submission.score_file(f, lang, pred, gold, str(p))
    if get_task(target).HEAD in ("classify", "choice"):
        scores["macro_f1"] = metrics.macro_f1(pred, gold)
    return scores, pred, gold


def load(folder, target, lang, metric):
    """(the metric's value, per-example (num, den) or None: tasks/lib/scoring.py) of one finished (target, language)."""
    scores, pred, gold = read_scores(folder, target, lang)
    if metric not in scores:
        raise UserError(f"--metric {metric}: {target} has {', '.join(scores)}.")
    return scores[metric], scoring.per_example(get_task(target), pred, gold, metric, lang)


def paired_ratio_bootstrap(a, b, seed=0, n_boot=None):
    """The bootstrap distribution of metric(b) − metric(a) over the same examples (N_BOOT resamples)."""
    (na, da), (nb, db) = a, b
    idx = np.random.default_rng(seed).integers(0, len(na), size=(n_boot or N_BOOT, len(na)))
    ratio = lambda num, den, i: 100.0 * num[i].sum(-1) / np.maximum(den[i].sum(-1), 1e-12)
    return ratio(nb, db, idx) - ratio(na, da, idx)


def compare(args, baseline=None, metric=None, out=None):
    found, models = systems(args)
    if baseline and baseline not in found:
        raise UserError(f"--baseline {baseline}: no such system; the systems are {', '.join(found)}.")
    table = defaultdict(dict)  # (target, lang) → label → {values [per seed], examples [(num, den) per seed]}
    for label, seeds in found.items():
        for seed in seeds:
            for folder, pairs in seed:
                for target, lang in pairs:
                    value, ex = load(folder, target, lang, metric or main_metric(target))
                    cell = table[target, lang].setdefault(label, dict(values=[], examples=[]))
                    cell["values"].append(value)
                    cell["examples"].append(ex)
    if not table:
        raise UserError(f"{', '.join(args)}: no finished evaluation (predictions/ + labels/) found.")
    labels = list(found)
    lines = ["| target | lang | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    summary = {}
    for (target, lang), row in sorted(table.items()):
        lines.append(f"| {target} | {lang} | " + " | ".join(show(row.get(lb)) for lb in labels) + " |")
    for target in sorted({t for t, _ in table}):
        for lb in labels:
            langs = {lang: np.mean(r[lb]["values"]) for (t, lang), r in table.items() if t == target and lb in r}
            if langs:
                worst = min(langs, key=langs.get)
                summary.setdefault(target, {})[lb] = dict(avg=float(np.mean(list(langs.values()))), worst_lang=worst,
                                                          worst=float(langs[worst]), langs=len(langs))
        lines.append(f"| {target} | **avg** (worst) | " + " | ".join(
            f"{s['avg']:.2f} ({s['worst_lang']} {s['worst']:.2f})" if (s := summary.get(target, {}).get(lb)) else ""
            for lb in labels) + " |")
    result = dict(metric=metric or "main", table={f"{t}/{lg}": {lb: r[lb]["values"] for lb in r}
                                                   for (t, lg), r in sorted(table.items())}, summary=summary,
                  models=models)
    print("\n".join(lines))
    print("\nEncoders:\n" + "\n".join(f"  {lb}: {models[lb]}" for lb in labels))
    if baseline:
        result["deltas"] = deltas(table, labels, baseline)
        print(f"\nΔ against {baseline}: 95% CI over seeds and test examples (Welch over seeds + a paired bootstrap "
              "over examples; one seed: examples only); * = excludes 0, per language, not adjusted")
        for d in result["deltas"]:
            ci = f"[{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]{' *' if d['ci_low'] > 0 or d['ci_high'] < 0 else ''}" \
                + (" (examples only: 1 seed)" if d["method"] == "examples" else "") \
                if d["ci_low"] is not None else f"({d.get('method') or 'no per-example split'})"
            print(f"  {d['system']} {d['target']} {d['lang']}: {d['delta']:+.2f} {ci}")
    if out:
        from chain.rundir import write_json
        write_json(out, result)
    return result


def show(cell):
    if not cell:
        return ""
    v = cell["values"]
    return f"{np.mean(v):.2f} ± {np.std(v, ddof=1):.2f} (min {min(v):.2f})" if len(v) > 1 else f"{v[0]:.2f}"


def deltas(table, labels, baseline):
    out = []
    for (target, lang), row in sorted(table.items()):
        if baseline not in row:
            continue
        base = row[baseline]
        for lb in labels:
            if lb == baseline or lb not in row:
                continue
            d = dict(system=lb, target=target, lang=lang,
                     delta=float(np.mean(row[lb]["values"]) - np.mean(base["values"])), ci_low=None, ci_high=None)
            a, b = (mean_examples(r["examples"]) for r in (base, row[lb]))
            if a is not None and b is not None and len(a[0]) == len(b[0]):
                r = stats.two_level(base["values"], row[lb]["values"], float(paired_ratio_bootstrap(a, b).std()))
                d.update(ci_low=r["lo"], ci_high=r["hi"], method=r["method"])
            out.append(d)
    return out


def mean_examples(seeds):
    """The seeds' per-example (num, den) averaged: one paired sample per test example."""
    if any(s is None for s in seeds) or len({len(s[0]) for s in seeds}) != 1:
        return None
    return np.mean([s[0] for s in seeds], 0), np.mean([s[1] for s in seeds], 0)
