"""Scoring, in one place: a trained head's predictions → the submission's terms (`decode`) → the task's metrics,
the way the literature reports them (SPEC §2, §5), and the same metrics split per example (`per_example`) for
compare's paired bootstrap. The loop's dev selection (`score`), `eval` (`decode` + `measure`), `score`
(tasks/lib/submission.py: score_file) and `compare` (studies/compare.py) all score through here.

Which rule scores a task is read off its file (`kind`): span answers (SQuAD's script, or MLQA's per-language
normalisation where QA_SCORER says so), ranked lists (mAP@20), mined pairs (BUCC: P/R/F1 over pairs), tags
(seqeval chunk F1), else labels (accuracy; QQP's acc_f1 beside it).
"""
import numpy as np
import torch

from tasks.lib import metrics, qa, retrieval
from tasks.lib.heads import IGNORE


def kind(task):
    """answers | ranked | pairs | tags | labels: the shape of a task's predictions and gold, and so its metric."""
    if task.HEAD == "span":
        return "answers"
    if task.METRIC == "map@20":
        return "ranked"
    if task.RETRIEVAL and task.METRIC == "f1":  # BUCC's `src_id<TAB>en_id` rows
        return "pairs"
    if task.HEAD == "tag":
        return "tags"
    return "labels"


def decode(task, examples, features, pred, route="reference"):
    """(predictions, gold) per example in the submission's terms (tasks/lib/submission.py): answer texts
    {id: text} and {id: [texts]} (span; route: --qa-decode, tasks/lib/qa.py), each word's tag (tag: a
    sentence's segments joined), label names."""
    if task.HEAD == "span":  # all windows of an example → one answer text
        windows = {}
        for f, p in zip(features, pred):
            fs, ps = windows.setdefault(f["example"], ([], []))
            fs.append(f)
            ps.append(p)
        guess = {}
        for i, (fs, ps) in windows.items():
            e = examples[i]
            guess[e["id"]] = qa.decode(e["context"], fs, ps, route, v2=task.V2, align=e.get("align", True))
        return guess, {e["id"]: [t for _, t in e["answers"]] for e in examples}
    if task.HEAD == "tag":  # the first sub-token of each word carries its prediction
        guess = [[] for _ in examples]
        for f, ps in zip(features, pred):
            guess[f["example"]] += [task.LABELS[p] for p, g in zip(ps.tolist(), f["label"]) if g != IGNORE]
        return guess, [[task.LABELS[g] for g in e["label"]] for e in examples]
    names = task.LABELS or [str(i) for i in range(task.CHOICES)]
    return [names[p] for p in pred], [names[f["label"]] for f in features]


def score(task, examples, features, pred, route="reference"):
    """The loop's dev metrics of a trained head's predictions."""
    if task.HEAD == "dual":  # each dev question ranks the dev candidates
        return {task.METRIC: dual_map(pred, [tuple(f["ids"][1]) for f in features])}
    if task.HEAD == "mlm" or task.HEAD == "tag" and task.METRIC != "f1":  # token accuracy: masked tokens, CCG
        pairs = [(int(p), g) for f, ps in zip(features, pred) for p, g in zip(ps, f["label"]) if g != IGNORE]
        return {task.METRIC: metrics.accuracy(*zip(*pairs))}
    return measure(task, examples, *decode(task, examples, features, pred, route))


def measure(task, examples, guess, gold):
    """Metrics of decoded predictions against the gold (decode's terms); MLQA's test examples carry their
    language (its scorer normalises per language), its English dev examples do not."""
    return official(task, guess, gold, examples[0].get("lang"))


def official(task, guess, gold, lang=None):
    """A task's metrics of predictions against gold in the submission's terms (one test file's, or decode's):
    the official scripts' numbers. lang: the test language, for a task whose QA_SCORER normalises per language."""
    how = kind(task)
    if how == "answers":
        if task.QA_SCORER == "mlqa" and lang:
            return metrics.mlqa(guess, gold, lang)
        return metrics.squad(guess, gold, task.V2)
    if how == "ranked":
        return {"map@20": metrics.map_at_k(guess, gold, 20)}
    if how == "pairs":
        p, g = {tuple(x.split("\t")) for x in guess}, {tuple(x.split("\t")) for x in gold}
        tp = len(p & g)
        if not tp:
            return {"f1": 0.0, "precision": 0.0, "recall": 0.0}
        prec, rec = 100.0 * tp / len(p), 100.0 * tp / len(g)
        return {"f1": 2 * prec * rec / (prec + rec), "precision": prec, "recall": rec}
    if how == "tags":  # seqeval chunk F1 per sentence (XTREME)
        return metrics.chunk_prf(gold, guess)
    result = {"accuracy": metrics.accuracy(guess, gold)}
    if task.METRIC == "acc_f1":  # QQP: (accuracy + F1) / 2
        result["f1"] = metrics.binary_f1(guess, gold, positive=task.LABELS[1])
        result["acc_f1"] = (result["accuracy"] + result["f1"]) / 2
    return result


def per_example(task, guess, gold, metric, lang=None):
    """`official`'s `metric` split per example: (num, den) arrays with metric = 100·Σnum/Σden, or None where
    the metric does not split so (BUCC's pairs, precision, recall)."""
    how = kind(task)
    if how == "answers" and metric in ("f1", "exact_match"):
        num = [max(_answer(task, guess.get(q, ""), g, metric, lang) for g in golds or [""])
               for q, golds in gold.items()]
        return np.array(num), np.ones(len(num))
    if how == "ranked" and metric == "map@20":
        num = [metrics.map_at_k(guess, {q: rel}, 20) / 100 for q, rel in gold.items()]
        return np.array(num), np.ones(len(num))
    if how == "tags" and metric == "f1":  # the ratio's parts per sentence: 2·matched chunks, all chunks
        counts = []
        for g, p in zip(gold, guess):
            g, p = metrics.chunks(g), metrics.chunks(p)
            counts.append((len(set(g) & set(p)), len(g) + len(p)))
        return np.array([2.0 * t for t, _ in counts]), np.array([float(n) for _, n in counts])
    if how == "labels" and metric == "accuracy":
        return np.array([float(p == g) for p, g in zip(guess, gold)]), np.ones(len(gold))
    return None


def _answer(task, pred, gold, metric, lang):
    """One answer's EM or F1 (0..1) against one gold text, by the scorer `official` uses."""
    if task.QA_SCORER == "mlqa" and lang:
        p, g = metrics.mlqa_tokens(pred, lang), metrics.mlqa_tokens(gold, lang)
        return float(p == g) if metric == "exact_match" else metrics.token_f1(p, g)
    if metric == "exact_match":
        return float(metrics.squad_normalize(pred) == metrics.squad_normalize(gold))
    return metrics.squad_f1(pred, gold)


def dual_map(pred, candidates, k=20):
    """Dev selection for Dual: mAP@k of each question over the dev candidates; equal candidate texts are
    equally relevant (several SQuAD questions share a sentence)."""
    _, top = retrieval.topk(torch.stack([p[0] for p in pred]), torch.stack([p[1] for p in pred]), k)
    same = {}
    for i, key in enumerate(candidates):
        same.setdefault(key, []).append(i)
    return metrics.map_at_k(dict(enumerate(top.tolist())), {i: same[key] for i, key in enumerate(candidates)}, k)


def n_classes(task):
    """How many classes (HEAD classify: its LABELS) or choices (HEAD choice: CHOICES) a task predicts among;
    None for the other heads."""
    if task.HEAD == "classify":
        return len(task.LABELS)
    if task.HEAD == "choice":
        return task.CHOICES
    return None
