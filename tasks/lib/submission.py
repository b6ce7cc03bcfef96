"""The XTREME / XTREME-R submission folder, and its scorer (`xstilts.py score`), mirroring the official
google-research/xtreme evaluate.py (XTREME; its XTREME-R tables for xtreme-r).

Layout: <folder>/<task>/test-<lang>.<ext>, predictions and gold labels alike. Task folders use XTREME's names
(bucc2018 for tasks/bucc.py). Formats:
  tsv: one label per line (xnli, pawsx), the retrieved row per line (tatoeba), `src_id<TAB>en_id` per mined
       pair (bucc2018), one tag per line with a blank line after each sentence (udpos, panx);
  json: {question id: answer text} (xquad, mlqa, tydiqa; labels: SQuAD JSON), {query id: [ids, best first]}
       (mewslix, lareqa; labels: {query id: [relevant ids]});
  jsonl: {"label": choice} per line (xcopa).
Scores: per task {metric: {lang: value}}, avg_<metric> (mean over the suite's languages), avg_metric (QA:
(EM + F1) / 2, else F1, accuracy or mAP@20); per category, and all_task, when all their tasks are present.
LAReQA: the official tables list no languages for it; here it is scored per question language (mAP@20
against the pool of all 11 languages) and averaged, which equals XTREME's pooled mean up to the few
questions whose answer lies in no sentence.
"""
import json
from collections import defaultdict
from pathlib import Path

from model import UserError
from tasks.lib import metrics

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
FOLDER = dict(bucc="bucc2018")  # tasks/<name>.py → XTREME's folder name
SQUAD_TUNED = ("tatoeba", "lareqa")  # XTREME-R evaluates these with the encoder fine-tuned on SQuAD v1.1
QA, RANKED = ("xquad", "mlqa", "tydiqa"), ("mewslix", "lareqa")


def folder(task):
    return FOLDER.get(task, task)


def task_of(name):
    return {v: k for k, v in FOLDER.items()}.get(name, name)


def suffix(task):
    return "json" if task in QA + RANKED else "jsonl" if task == "xcopa" else "tsv"


def render(task, value, gold=False):
    """A prediction (or gold) object of chain/train.py decode / a retrieval task → the file's text."""
    if task in QA and gold:  # SQuAD JSON, all the official reader needs
        qas = [dict(id=q, answers=[dict(text=t) for t in texts]) for q, texts in value.items()]
        value = dict(data=[dict(paragraphs=[dict(qas=qas)])])
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) + "\n"
    if task == "xcopa":
        return "".join(json.dumps(dict(label=int(v))) + "\n" for v in value)
    if value and isinstance(value[0], list):  # tags: a blank line after each sentence
        return "".join("".join(f"{t}\n" for t in s) + "\n" for s in value)
    return "".join(f"{v}\n" for v in value)


def read(path, task):
    """One submission file → the object the metric takes (the official readers)."""
    text = path.read_text(encoding="utf-8")
    try:
        if task in QA:
            data = json.loads(text)
            if "data" not in data:  # predictions {id: text}
                return data
            return {qa["id"]: [a["text"] for a in qa["answers"]] for art in data["data"] for p in art["paragraphs"]
                    for qa in p["qas"]}
        if task in RANKED:
            return json.loads(text)
        if task == "xcopa":
            return [json.loads(line)["label"] for line in text.splitlines() if line.strip()]
    except (ValueError, KeyError, TypeError) as e:
        raise UserError(f"{path}: not the {task} layout ({e}); see tasks/lib/submission.py.") from None
    if task in ("udpos", "panx"):
        sentences, current = [], []
        for line in text.splitlines():
            if line.strip():
                current.append(line.strip())
            elif current:
                sentences.append(current)
                current = []
        return sentences + [current] if current else sentences
    return [line.strip() for line in text.splitlines()]


def score_file(task, lang, pred, gold, where):
    """The official metric of one (task, language)."""
    if task in QA:
        missing = [q for q in gold if q not in pred]
        if missing:  # the official scripts score an unanswered question 0; say so
            print(f"note: {where}: {len(missing)} of {len(gold)} questions unanswered (scored 0), e.g. {missing[0]}")
        pred = {q: pred.get(q, "") for q in gold}
        return metrics.mlqa(pred, gold, lang) if task == "mlqa" else metrics.squad(pred, gold)
    if task in RANKED:
        return {"map@20": metrics.map_at_k(pred, gold, 20)}
    if task == "bucc2018":
        p, g = {tuple(x.split("\t")) for x in pred}, {tuple(x.split("\t")) for x in gold}
        tp = len(p & g)
        prec, rec = (100.0 * tp / len(p), 100.0 * tp / len(g)) if tp else (0.0, 0.0)
        return {"f1": 2 * prec * rec / (prec + rec) if tp else 0.0, "precision": prec, "recall": rec}
    if len(pred) != len(gold):
        raise UserError(f"{where}: {len(pred)} predictions for {len(gold)} gold {'sentences' if task in ('udpos', 'panx') else 'rows'}; "
                        "one per test example, in the test file's order.")
    if task in ("udpos", "panx"):
        bad = next((i for i, (p, g) in enumerate(zip(pred, gold)) if len(p) != len(g)), None)
        if bad is not None:
            raise UserError(f"{where}: sentence {bad + 1} has {len(pred[bad])} tags for {len(gold[bad])} words.")
        return metrics.chunk_prf(gold, pred)
    return {"accuracy": metrics.accuracy(pred, gold)}


def score(predictions, labels, suite, tasks=None):
    """Score a submission folder against a label folder → the official JSON (categories, all_task, tasks)."""
    langs, groups = SUITES[suite]
    pred_dir, gold_dir = Path(predictions), Path(labels)
    for d, flag in ((pred_dir, "--predictions"), (gold_dir, "--labels")):
        if not d.is_dir():
            raise UserError(f"{flag} {d}: no such folder.")
    chosen = tasks or [t for t in langs if (pred_dir / t).is_dir()]
    unknown = [t for t in chosen if t not in langs]
    if unknown or not chosen:
        raise UserError(f"--tasks: {suite} has no {', '.join(unknown)}; its tasks are {' '.join(langs)}."
                        if unknown else f"{pred_dir}: holds no {suite} task folder ({' '.join(langs)}).")
    paths = {(t, lg): [d / t / f"test-{lg}.{suffix(t)}" for d in (pred_dir, gold_dir)] for t in chosen for lg in langs[t]}
    missing = [str(p) for pair in paths.values() for p in pair if not p.is_file()]
    if missing:
        raise UserError(f"{len(missing)} files missing, e.g. {', '.join(missing[:6])}; a task is scored on all "
                        f"of its {suite} languages.")
    detail = {}
    for task in chosen:
        per = defaultdict(dict)
        for lg in langs[task]:
            p, g = paths[task, lg]
            for m, v in score_file(task, lg, read(p, task), read(g, task), str(p)).items():
                per[m][lg] = v
        s = dict(per)
        s.update({f"avg_{m}": sum(v.values()) / len(v) for m, v in per.items()})
        s["avg_metric"] = ((s["avg_exact_match"] + s["avg_f1"]) / 2 if task in QA else
                           s.get("avg_f1", s.get("avg_accuracy", s.get("avg_map@20"))))
        detail[task] = s
    overall = {}
    if set(langs) <= set(detail):
        overall["all_task"] = sum(detail[t]["avg_metric"] for t in langs) / len(langs)
    for group, members in groups.items():
        if set(members) <= set(detail):
            overall[group] = sum(detail[t]["avg_metric"] for t in members) / len(members)
    return {**overall, **detail}
