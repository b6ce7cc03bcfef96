"""The `xstilts` study's own section of the report: the paper's headline, the best intermediate task per target.

Phang et al. (2020) train XLM-R large on each English intermediate task (and on all nine at once), fine-tune on
each XTREME target and report, per target, the best intermediate task. Here that choice is made as it must be
to stay honest: **on English dev**, never on the test set.
  - A trained target's dev score is its target stage's (cells.json `dev`: the best state's English dev metrics,
    the selection set of jiant's protocol; XNLI's is MNLI's dev). Per intermediate task, its mean over seeds.
  - A retrieval target (BUCC, Tatoeba) trains nothing, so it has no dev score of its own: it takes the
    intermediate task with the best mean rank on the trained targets' dev scores.
  - The selected system's test score (all of the target's languages, English included, as XTREME averages) is
    then reported with its Student-t interval over seeds, and its gain over `none`, paired by seed, is a test
    Holm-adjusted with every other of the report. The test scores never influence the choice.
  - The submission folder: per target, the selected task's seed with the best dev score (retrieval: the first
    seed), its predictions and labels in XTREME's layout under <sweep>/submission/, scored by the official
    scorer (tasks/lib/submission.py, as `xstilts.py score` does) into submission/scores.json.
  - "Against the paper": our selected system and our baseline beside the published rows (studies/published.yaml,
    each with its source), per target and per XTREME category, with our intervals; which task won here and in
    the paper where recorded. A target evaluated on fewer languages than XTREME's table is marked not comparable.
"""
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import yaml

import util
from studies import plots as draw
from studies import report as rp
from studies import stats
from tasks import get_task
from tasks.lib import submission
from util import UserError

PUBLISHED = Path(__file__).with_name("published.yaml")
SUITE = "xtreme"
CATEGORIES = {c: [submission.task_of(t) for t in ts] for c, ts in submission.SUITES[SUITE][1].items()}


def published(path=PUBLISHED):
    """The published rows, checked: each has a system, a kind (xstilts | baseline), a source and scores."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    for i, row in enumerate(data.get("rows") or []):
        if not row.get("source") or row.get("kind") not in ("xstilts", "baseline") or not row.get("scores"):
            raise UserError(f"{path}: row {i + 1} needs system, kind (xstilts | baseline), source and scores.")
    return data


def _dev(d, c, t):
    """{seed: dev main metric} of combination c on target t, from cells.json."""
    metric = get_task(t).METRIC
    return {d["cells"][i]["seed"]: d["cells"][i]["dev"][t][metric] for i in sorted(d["ids"].get(c, ()))
            if i in d["cells"] and metric in (d["cells"][i].get("dev") or {}).get(t, {})}


def select(d):
    """{target: (chosen combination, how, {combination: mean dev})}: the best intermediate task on dev."""
    candidates = [c for c in d["combos"] if c not in d["base"]]
    dev = {t: {c: float(np.mean(list(v.values()))) for c in candidates if (v := _dev(d, c, t))} for t in d["targets"]}
    ranks = {}  # for the targets without a dev score: mean rank over the trained targets' dev scores
    for t, by in dev.items():
        for r, c in enumerate(sorted(by, key=by.get, reverse=True), 1):
            ranks.setdefault(c, []).append(r)
    out = {}
    for t in d["targets"]:
        have = [c for c in candidates if rp._table(d, c, t)]
        if dev[t]:
            out[t] = (max(dev[t], key=dev[t].get), "dev", dev[t])
        elif have and ranks:
            mean = {c: float(np.mean(ranks[c])) for c in have if c in ranks}
            out[t] = (min(mean, key=mean.get), "mean dev rank on the trained targets", mean) if mean else None
        else:
            out[t] = None
    return {t: v for t, v in out.items() if v}


def _score(d, c, t):
    """The test score of c on t (all its languages): per-seed language average, Student-t over seeds."""
    return rp._group(d, "all", rp._table(d, c, t), test=False, cell=c, target=t)


def analyse(d, out):
    """→ (extra, plots): the selection, its scores and gains, the submission folder, the published rows."""
    chosen, best, pub = select(d), [], published()
    for t, (c, how, dev) in chosen.items():
        base = d["base_of"][c]  # the chosen system's own baseline (report.py: the one matching its grid keys)
        row = dict(target=t, cell=c, how=how, dev=dev, test=_score(d, c, t), baseline=base and _score(d, base, t),
                   gain=None, n_langs=len(rp._table(d, c, t)), suite_langs=len(submission.languages(
                       SUITE, submission.folder(t)) or []))
        if base:
            g = rp._diff(rp._table(d, c, t), rp._baseline(d, c, t))
            langs, seeds, a = rp._complete(g)
            if langs:
                r = stats.t_interval(a.mean(0))
                gain = dict(estimate=r["mean"], ci_low=r["lo"], ci_high=r["hi"], p=r["p"], n_seeds=len(seeds),
                            n_langs=len(langs), why=r["why"])  # the languages and seeds both systems have
                row["gain"] = rp._test(d, what=f"{t}: selected − none", **gain) if r["p"] is not None else gain
        best.append(row)
    extra = dict(best_per_target=best, categories=_categories(d, chosen), published=pub.get("rows") or [],
                 claims=pub.get("claims") or [], paper_winners=pub.get("winners") or {},
                 winners_source=pub.get("winners_source"), disagreements=_disagreements(pub.get("rows") or []))
    extra["submission"] = _submission(d, chosen)
    for b in best:
        b["metric"] = get_task(b["target"]).METRIC
    return extra, [("paper", draw.paper, (best, extra["published"]))] if best else []


def _categories(d, chosen):
    """Per XTREME category whose targets were all selected: the per-seed mean of the selected systems' language
    averages (seeds the replicates, Student-t), and the same for the baseline."""
    out = []
    for cat, members in CATEGORIES.items():
        if not all(t in chosen for t in members):
            continue
        row = dict(category=cat, targets=members)
        for key, pick in (("selected", lambda t: chosen[t][0]), ("baseline", lambda t: d["base_of"][chosen[t][0]])):
            per = [rp._complete(rp._table(d, pick(t), t)) if pick(t) else ([], [], None) for t in members]
            seeds = sorted(set.intersection(*[set(s) for _, s, _ in per])) if all(s for _, s, _ in per) else []
            values = [np.mean([a[:, s.index(x)].mean() for _, s, a in per]) for x in seeds]
            r = stats.t_interval(values) if values else None
            row[key] = r and dict(estimate=r["mean"], ci_low=r["lo"], ci_high=r["hi"], n_seeds=r["n"], why=r["why"])
        out.append(row)
    return out


def _disagreements(rows):
    """Targets where two published rows of the same kind give different values for one metric."""
    seen, out = {}, []
    for row in rows:
        for t, metrics in row["scores"].items():
            for m, v in metrics.items():
                other = seen.setdefault((row["kind"], t, m), (row["system"], v))
                if other[1] != v:
                    out.append(f"{t} {m}: {other[0]} {other[1]} vs {row['system']} {v}")
    return out


def _submission(d, chosen):
    """Assemble the selected systems' predictions into <sweep>/submission/ (XTREME's layout) and score it."""
    folder = d.get("dir")
    if folder is None or not chosen:
        return None
    tmp = Path(tempfile.mkdtemp(prefix=".submission-", dir=folder))
    try:
        picked, own = {}, {}
        for t, (c, _, _) in chosen.items():
            dev = _dev(d, c, t)
            ids = [i for i in sorted(d["ids"][c]) if i in d["cells"] and d["cells"][i].get("evals", {}).get(t)]
            ids.sort(key=lambda i: -dev.get(d["cells"][i]["seed"], -np.inf))  # the best dev seed first
            if not ids:
                continue
            cell = d["cells"][ids[0]]
            stage, f = Path(folder) / cell["evals"][t], submission.folder(t)
            langs = sorted(x.name[5:].rsplit(".", 1)[0] for x in (stage / "predictions" / f).glob("test-*.*"))
            for kind in ("predictions", "labels"):
                shutil.copytree(stage / kind / f, tmp / kind / f)
            picked[t] = dict(cell=ids[0], seed=cell["seed"], stage=cell["evals"][t])
            own[f] = langs
        if not picked:
            return None
        table = submission.SUITES[SUITE][0]
        whole = all(set(table.get(f, ())) <= set(langs) for f, langs in own.items())
        if whole:
            scores = submission.score(tmp / "predictions", tmp / "labels", SUITE)
        else:  # some target on a subset of its XTREME languages: each scored on what it has, marked partial
            scores = {f: submission.score(tmp / "predictions", tmp / "labels", SUITE, [f], langs)[f]
                      for f, langs in own.items()}
            scores["partial"] = True
        util.write_json(tmp / "scores.json", scores)
        final = Path(folder) / "submission"
        old = Path(folder) / f".submission-old-{os.getpid()}"
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        return dict(folder="submission", systems=picked, scores=scores, partial=not whole)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _fmt(r):
    if not r:
        return "–"
    return rp._est(r) if r.get("why") is None else f"{rp._fmt(r['estimate'])} ({r['why']})"


def markdown(d, extra):
    md = ["## Best intermediate task per target (selected on English dev)", "",
          "The intermediate task with the best mean English dev score over seeds (the target stage's selection "
          "set); retrieval targets, which train nothing, take the best mean dev rank over the trained targets. "
          "Test: the average over the target's languages, Student-t over seeds; gain: selected − none, paired by "
          "seed, Holm-adjusted with the report's other tests.", ""]
    md += rp._report_table(d, "best per target", ["target", "selected", "chosen by", "test [CI]", "none [CI]",
                                                  "gain [CI] (langs)", "p_adj", "langs"],
                           [[b["target"], b["cell"], b["how"], _fmt(b["test"]), _fmt(b["baseline"]),
                             (f"{rp._est(b['gain'])} ({b['gain']['n_langs']})" if b["gain"]["why"] is None else
                              f"{b['gain']['why']} ({b['gain']['n_langs']})") if b["gain"] else "no baseline",
                             rp._padj(b["gain"]),
                             f"{b['n_langs']}/{b['suite_langs']}"] for b in extra["best_per_target"]])
    sub = extra.get("submission")
    md += ["", "## The submission", ""]
    if sub:
        overall = sub["scores"].get("all_task")
        md += [f"The selected systems' predictions in XTREME's layout: `{sub['folder']}/` (predictions/, labels/, "
               "scores.json from the official scorer, as `xstilts.py score` computes it)"
               + (f"; XTREME score {overall:.2f}." if overall is not None else
                  "; partial (not every XTREME target or language), so no XTREME score."), ""]
        md += [f"- {t}: {s['stage']} (seed {s['seed']})" for t, s in sub["systems"].items()]
    else:
        md.append("No submission: no target has a selected system with finished predictions yet.")
    md += ["", "## Against the paper", "", "Published rows (studies/published.yaml) beside ours; ours are 95% "
           "Student-t intervals over seeds. `langs` below XTREME's count: not comparable with a published average "
           "over all of them.", ""]
    header = ["target", "metric", "ours: selected", "ours: none", *[r["system"] for r in extra["published"]],
              "winner here", "winner in the paper", "comparable"]
    rows = []
    for b in extra["best_per_target"]:
        t, m = b["target"], get_task(b["target"]).METRIC
        rows.append([t, m, _fmt(b["test"]), _fmt(b["baseline"]),
                     *[rp._fmt(r["scores"].get(t, {}).get(m)) for r in extra["published"]], b["cell"],
                     extra["paper_winners"].get(t, "not recorded"),
                     "yes" if b["n_langs"] >= b["suite_langs"] else f"no: {b['n_langs']} of {b['suite_langs']} langs"])
    md += rp._report_table(d, "against the paper", header, rows)
    cats = [[c["category"], ", ".join(c["targets"]), _fmt(c["selected"]), _fmt(c["baseline"]),
             *[rp._fmt(_published_category(r, c["targets"])) for r in extra["published"]]] for c in extra["categories"]]
    if cats:
        md += ["", *rp._report_table(d, "against the paper by category",
                                     ["category", "targets", "ours: selected", "ours: none",
                                      *[r["system"] for r in extra["published"]]], cats)]
    md += ["", "Sources:", *(f"- {r['system']}: {r['source']}" for r in extra["published"]),
           *(f"- claim: {c}" for c in extra["claims"]),
           f"- winners in the paper: {extra['winners_source'] or 'not recorded in studies/published.yaml'}"]
    md += ["", "Sources disagree: " + "; ".join(extra["disagreements"])] if extra["disagreements"] else []
    return md


def _published_category(row, targets):
    """A published row's category average (each target's main metric), or None when it lacks a target."""
    values = [row["scores"].get(t, {}).get(get_task(t).METRIC) for t in targets]
    return None if None in values else float(np.mean(values))


def findings(extra):
    """The Answer's lines: per target the selected task, its test score and its gain over none."""
    out = []
    for b in extra["best_per_target"]:
        g = b["gain"]
        on = f" on the {g['n_langs']} language(s) and {g['n_seeds']} seed(s) both have" if g else ""
        gain = (f"gain over none{on} {rp._est(g)}, p_adj {rp._padj(g)}" if g and g["why"] is None else
                f"gain over none{on} {rp._fmt(g['estimate'])} ({g['why']})" if g else "no baseline to compare")
        out.append(f"{b['target']}: {b['cell']} is best on dev ({b['how']}); test {_fmt(b['test'])}, {gain}")
    sub = extra.get("submission")
    if sub and sub["scores"].get("all_task") is not None:
        out.append(f"the dev-selected submission scores {sub['scores']['all_task']:.2f} on XTREME (official scorer)")
    return out
