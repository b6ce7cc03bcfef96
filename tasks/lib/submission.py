"""The XTREME / XTREME-R submission folder, and its scorer (`xstilts.py score`), mirroring the official
google-research/xtreme evaluate.py (XTREME; its XTREME-R tables for xtreme-r).

Layout: <folder>/<task>/test-<lang>.<ext>, predictions and gold labels alike; a task file's FOLDER names its
folder (XTREME's: bucc2018 for tasks/bucc.py) and its SUFFIX the extension. Formats:
  tsv: one label per line (xnli, pawsx), the retrieved row per English sentence, English sorted by text
       (tatoeba), `src_id<TAB>en_id` per mined pair (bucc2018), one tag per line with a blank line after each
       sentence (udpos, panx);
  json: {question id: answer text} (xquad, mlqa, tydiqa; labels: SQuAD JSON), {query id: [ids, best first]}
       (mewslix, lareqa; labels: {query id: [relevant ids]});
  jsonl: {"label": choice} per line (xcopa).
Scores: per task {metric: {lang: value}}, avg_<metric> (mean over the suite's languages), avg_metric (QA:
(EM + F1) / 2, else F1, accuracy or mAP@20); per category, and all_task, when all their tasks are present
(`langs=`: some languages only, marked "partial", no category or all_task); a task no suite lists (a new target,
named with tasks=) is scored on its LANGS beside them. per_language(): the table to print.
LAReQA: the official tables list no languages for it; here it is scored per question language (mAP@20
against the pool of all 11 languages) and averaged, which equals XTREME's pooled mean up to the few
questions whose answer lies in no sentence. XTREME-R's all_task: evaluate.py's mean of every task's avg_metric
over its ten-task table, LAReQA included (evaluate.py itself cannot finish it: its LAReQA entry has no languages;
the paper's own table was not at hand; mGTE's gather_xtreme.py also averages ten tasks, QA as F1 alone)."""
import json
import re
from collections import defaultdict
from pathlib import Path

from util import UserError
from tasks import get_task, task_names
from tasks.lib import scoring

_36 = "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh kk tr et fi hu"
_UD = "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh"
_PANX = ("ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my zh kk "
         "tr et fi hu")
XTREME = dict(pawsx="de en es fr ja ko zh", xnli="ar bg de el en es fr hi ru sw th tr ur vi zh", panx=_PANX,
              udpos=_UD, bucc2018="de fr ru zh", tatoeba=_36, xquad="en es de el ru tr ar vi th zh hi",
              mlqa="en es de ar hi vi zh", tydiqa="en ar bn fi id ko ru sw te")
XTREME_R = dict(xnli=XTREME["xnli"], xcopa="et ht id it qu sw ta th tr vi zh", udpos=_UD + " lt pl uk wo ro",
                panx=_PANX + " qu pl uk az lt pa gu ro", xquad=XTREME["xquad"] + " ro", mlqa=XTREME["mlqa"],
                tydiqa=XTREME["tydiqa"], tatoeba=_36 + " az lt pl uk ro", mewslix="ar de en es fa ja pl ro ta tr uk",
                lareqa="ar de el en es hi ru th tr vi zh")
SUITES = {  # suite → ({task: languages}, {category: tasks}); the official evaluate.py tables
    "xtreme": ({t: v.split() for t, v in XTREME.items()},
               dict(classification=["pawsx", "xnli"], tagging=["udpos", "panx"], qa=["xquad", "mlqa", "tydiqa"],
                    retrieval=["bucc2018", "tatoeba"])),
    "xtreme-r": ({t: v.split() for t, v in XTREME_R.items()},
                 dict(classification=["xnli", "xcopa"], tagging=["udpos", "panx"], qa=["xquad", "mlqa", "tydiqa"],
                      retrieval=["tatoeba", "mewslix"], multi_choice=["xcopa"])),
}
SQUAD_TUNED = ("tatoeba", "lareqa")  # XTREME-R evaluates these with the encoder fine-tuned on SQuAD v1.1


def _task(name):
    """The task file of a task name or its submission folder (its FOLDER); None for a folder no task names."""
    if name in task_names():
        return get_task(name)
    return next((t for t in map(get_task, task_names()) if t.FOLDER == name), None)


def folder(name):
    """A task's folder in the submission layout: its FOLDER (bucc: bucc2018), else its name."""
    return get_task(name).FOLDER if name in task_names() else name


def task_of(name):
    """The task whose submission folder this is."""
    task = _task(name)
    return task.NAME if task else name


def suffix(name):
    """The extension of a task's (or its folder's) submission files: its SUFFIX."""
    task = _task(name)
    return task.SUFFIX if task else "tsv"


def render(task, value, gold=False):
    """A prediction (or gold) object of tasks/lib/scoring.py decode / a retrieval task → the file's text."""
    t = _task(task)
    if scoring.kind(t) == "answers" and gold:  # SQuAD JSON, all the official reader needs
        qas = [dict(id=q, answers=[dict(text=t) for t in texts]) for q, texts in value.items()]
        value = dict(data=[dict(paragraphs=[dict(qas=qas)])])
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) + "\n"
    if t.SUFFIX == "jsonl":
        return "".join(json.dumps(dict(label=int(v))) + "\n" for v in value)
    if value and isinstance(value[0], list):  # tags: a blank line after each sentence
        return "".join("".join(f"{t}\n" for t in s) + "\n" for s in value)
    return "".join(f"{v}\n" for v in value)


def read(path, task):
    """One submission file → the object the metric takes (the official readers): UTF-8 (a BOM dropped), trailing
    blank lines are no rows; a file of another shape (or value types) is one line naming it."""
    t = _task(task)
    how = scoring.kind(t)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:  # 10: the line feed
        raise UserError(f"{path}:{raw.count(10, 0, e.start) + 1}: not UTF-8 ({e.reason}); write it as UTF-8.") from None
    try:
        if t.SUFFIX == "json":
            return _read_json(text, how)
        if t.SUFFIX == "jsonl":
            labels = [json.loads(line)["label"] for line in text.splitlines() if line.strip()]
            choices = [str(i) for i in range(t.CHOICES)]
            bad = [v for v in labels if str(v) not in choices]  # "1" and 1 are the same choice
            if bad:
                raise ValueError(f"label {bad[0]!r:.40} is not {' or '.join(choices)}")
            return [int(v) for v in labels]
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise UserError(f"{path}: not the {task} layout ({e}); see tasks/lib/submission.py.") from None
    text = text.rstrip()  # trailing blank lines are not predictions
    if how == "tags":  # one or more blank lines end a sentence
        return [[t.strip() for t in s.splitlines() if t.strip()] for s in re.split(r"\n\s*\n", text) if s.strip()]
    return [line.strip() for line in text.splitlines() if line.strip() or how != "pairs"]


def _read_json(text, how):
    """{id: answer text} (answers' predictions; their gold: SQuAD JSON) or {id: [ids or texts]} (ranked)."""
    data = json.loads(text)
    gold = how == "answers" and isinstance(data, dict) and "data" in data  # SQuAD JSON, else {id: answer text}
    if gold:
        data = {qa["id"]: [a["text"] for a in qa["answers"]] for art in data["data"] for p in art["paragraphs"]
                for qa in p["qas"]}
    want = "answer text" if how == "answers" and not gold else "[ids or texts]"
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}; expected {{id: {want}}}")
    for k, v in data.items():
        if want == "answer text":
            fits = isinstance(v, str)
        else:
            fits = isinstance(v, list) and all(isinstance(x, str) for x in v)
        if not fits:
            raise ValueError(f"{k!r:.60}: {v!r:.60}; expected {{id: {want}}}")
    return data


def score_file(task, lang, pred, gold, where):
    """The official metric of one (task folder, language): the files' rows checked against each other, then
    scored as every other path scores (tasks/lib/scoring.py: official)."""
    t = _task(task)
    how = scoring.kind(t)
    if how == "answers":
        missing = [q for q in gold if q not in pred]
        if missing:  # the official scripts score an unanswered question 0; say so
            print(f"note: {where}: {len(missing)} of {len(gold)} questions unanswered (scored 0), e.g. {missing[0]}")
        pred = {q: pred.get(q, "") for q in gold}
    if how in ("tags", "labels") and len(pred) != len(gold):
        rows = "sentences" if how == "tags" else "rows"
        raise UserError(f"{where}: {len(pred)} predictions for {len(gold)} gold {rows}; "
                        "one per test example, in the test file's order.")
    if how == "tags":
        bad = next((i for i, (p, g) in enumerate(zip(pred, gold)) if len(p) != len(g)), None)
        if bad is not None:
            raise UserError(f"{where}: sentence {bad + 1} has {len(pred[bad])} tags for {len(gold[bad])} words.")
    return scoring.official(t, pred, gold, lang)


def languages(suite, name):
    """The languages a suite scores a task folder on: its official table's; a task file no suite lists (a new
    target) is scored on its LANGS, outside the categories and all_task; None for any other folder."""
    table = SUITES[suite][0]
    if name in table:
        return table[name]
    listed = {t for table, _ in SUITES.values() for t in table}
    task = _task(name)
    return list(task.LANGS) if task and name not in listed else None


def score(predictions, labels, suite, tasks=None, langs=None, out=None):
    """Score a submission folder against a label folder → the official JSON (categories, all_task, tasks), also
    written to `out` when given. langs: only these languages; the result is then marked partial and holds no
    category or all_task."""
    table, groups = SUITES[suite]
    pred_dir, gold_dir, out = Path(predictions), Path(labels), out and Path(out)
    for d, flag in ((pred_dir, "--predictions"), (gold_dir, "--labels")):
        if not d.is_dir():
            raise UserError(f"{flag} {d}: no such folder.")
    if out and out.is_dir():  # said before any work
        raise UserError(f"--out {out}: is a folder; give a file name such as {out / 'scores.json'}.")
    chosen = tasks or [t for t in table if (pred_dir / t).is_dir()]
    langs_of = {t: languages(suite, t) for t in chosen}
    unknown = [t for t in chosen if langs_of[t] is None]
    if unknown:
        raise UserError(f"--tasks: {suite} has no {', '.join(unknown)}; its tasks are {' '.join(table)}.")
    if not chosen:
        raise UserError(f"{pred_dir}: holds no {suite} task folder ({' '.join(table)}).")
    absent = [t for t in table if t not in chosen]
    if absent and not tasks:
        print(f"note: {pred_dir} has no {' '.join(absent)} folder: not scored, so no all_task score (nor a category "
              "missing one) is given.")
    lost = sorted(set(langs or ()) - {lg for t in chosen for lg in langs_of[t]})
    if lost:
        raise UserError(f"--langs: no task scored ({' '.join(chosen)}) has {' '.join(lost)} among its {suite} "
                        "languages.")
    langs_of = {t: [lg for lg in langs_of[t] if not langs or lg in langs] for t in chosen}
    chosen = [t for t in chosen if langs_of[t]]
    paths = {(t, lg): [d / t / f"test-{lg}.{suffix(t)}" for d in (pred_dir, gold_dir)]
             for t in chosen for lg in langs_of[t]}
    missing = [str(p) for pair in paths.values() for p in pair if not p.is_file()]
    if missing:
        raise UserError(f"{len(missing)} files missing, e.g. {', '.join(missing[:6])}; a task is scored on all "
                        f"of its {suite} languages{' (or those of --langs)' * bool(langs)}.")
    detail = {}
    for task in chosen:
        per = defaultdict(dict)
        for lg in langs_of[task]:
            p, g = paths[task, lg]
            for m, v in score_file(task, lg, read(p, task), read(g, task), str(p)).items():
                per[m][lg] = v
        s = dict(per)
        s.update({f"avg_{m}": sum(v.values()) / len(v) for m, v in per.items()})
        if scoring.kind(_task(task)) == "answers":  # QA: (EM + F1) / 2
            s["avg_metric"] = (s["avg_exact_match"] + s["avg_f1"]) / 2
        else:
            s["avg_metric"] = s.get("avg_f1", s.get("avg_accuracy", s.get("avg_map@20")))
        detail[task] = s
    overall = {}
    if set(table) <= set(detail) and not langs:  # the suite's tasks only: a new target stands beside it
        suite_tasks = [t for t in detail if t in table]
        overall["all_task"] = sum(detail[t]["avg_metric"] for t in suite_tasks) / len(suite_tasks)
    for group, members in groups.items():
        if set(members) <= set(detail) and not langs:
            overall[group] = sum(detail[t]["avg_metric"] for t in members) / len(members)
    scores = {**overall, **detail, **({"partial": True} if langs else {})}
    if out:
        from util import atomic_write  # renamed whole: never a half-written file
        text = json.dumps(scores, indent=2, ensure_ascii=False) + "\n"
        atomic_write(out, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return scores


def per_language(scores):
    """score()'s result → a text table: a row per task (its headline metric: F1 for QA, tagging and BUCC, else
    accuracy or mAP@20), a column per language, then the task's average over the languages scored."""
    tasks = {t: s for t, s in scores.items() if isinstance(s, dict)}
    head = {t: next(m for m in ("f1", "accuracy", "map@20") if m in s) for t, s in tasks.items()}
    langs = sorted({lg for t, s in tasks.items() for lg in s[head[t]]})
    rows = [["task", "metric", *langs, "avg"]] + [
        [t, m, *(f"{tasks[t][m][lg]:.1f}" if lg in tasks[t][m] else "-" for lg in langs), f"{tasks[t]['avg_' + m]:.1f}"]
        for t, m in head.items()]
    width = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]  # names left-aligned, numbers right
    return "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, width)))
                     for r in rows)
