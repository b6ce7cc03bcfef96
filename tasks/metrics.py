"""Metrics as the literature reports them (SPEC §5): numbers ×100, per-task score = mean over languages.

squad: the official SQuAD v1.1/v2.0 evaluation — lowercase, drop ASCII punctuation, drop English articles,
split on whitespace; EM and token F1 take the max over gold answers; a question with no gold answer (v2)
is right only when the prediction is empty too.
"""
import re
import string
from collections import Counter


def accuracy(pred, gold):
    if len(pred) != len(gold) or not gold:
        raise ValueError(f"accuracy: {len(pred)} predictions for {len(gold)} gold labels")
    return 100.0 * sum(int(p == g) for p, g in zip(pred, gold)) / len(gold)


def binary_f1(pred, gold, positive=1):
    tp = sum(p == g == positive for p, g in zip(pred, gold))
    fp = sum(p == positive != g for p, g in zip(pred, gold))
    fn = sum(g == positive != p for p, g in zip(pred, gold))
    return 100.0 * 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def squad_normalize(text):
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def squad_f1(pred, gold):
    p, g = squad_normalize(pred).split(), squad_normalize(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    return 0.0 if not common else 2 * common / (len(p) + len(g))


def squad(predictions, answers):
    """predictions {id: text}; answers {id: [gold texts]} (empty list = unanswerable) → EM and F1 ×100."""
    missing = sorted(set(answers) - set(predictions))
    if missing:
        raise ValueError(f"squad: no prediction for {len(missing)} questions, e.g. {missing[0]}")
    em = f1 = 0.0
    for qid, golds in answers.items():
        golds = golds or [""]
        em += max(float(squad_normalize(predictions[qid]) == squad_normalize(g)) for g in golds)
        f1 += max(squad_f1(predictions[qid], g) for g in golds)
    return {"exact_match": 100.0 * em / len(answers), "f1": 100.0 * f1 / len(answers)}
