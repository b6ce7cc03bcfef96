"""Metrics as the literature reports them (SPEC §5): numbers ×100, per-task score = mean over languages.

squad: the official SQuAD v1.1/v2.0 evaluation — lowercase, drop ASCII punctuation, drop English articles,
split on whitespace; EM and token F1 take the max over gold answers. Each script's own F1 rule when a side
normalises to nothing ("a" vs "The"): v1.1 (XQuAD, TyDiQA in XTREME) scores 0, v2.0 scores 1 when both
are empty — so a question with no gold answer (v2) is right only when the prediction is empty too.
"""
import re
import string
import sys
import unicodedata
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


def squad_f1(pred, gold, v2=False):
    p, g = squad_normalize(pred).split(), squad_normalize(gold).split()
    if v2 and (not p or not g):
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    return 0.0 if not common else 2 * common / (len(p) + len(g))


def squad(predictions, answers, v2=False):
    """predictions {id: text}; answers {id: [gold texts]} (empty list = unanswerable) → EM and F1 ×100 by
    the v1.1 script, or v2.0's."""
    missing = sorted(set(answers) - set(predictions))
    if missing:
        raise ValueError(f"squad: no prediction for {len(missing)} questions, e.g. {missing[0]}")
    em = f1 = 0.0
    for qid, golds in answers.items():
        golds = golds or [""]
        em += max(float(squad_normalize(predictions[qid]) == squad_normalize(g)) for g in golds)
        f1 += max(squad_f1(predictions[qid], g, v2) for g in golds)
    return {"exact_match": 100.0 * em / len(answers), "f1": 100.0 * f1 / len(answers)}


def chunks(tags):
    """Chunks (type, first, last) of one tag sequence, by seqeval's default (conlleval) rules: a tag's first
    character is its position mark (B I E S O), the rest after a '-' its type. Tags without a prefix —
    UPOS — are read the same way ("NOUN": mark N, type "OUN"), so runs of one tag merge into one chunk and
    POS "F1" is not token accuracy (SPEC §5). Reproduced as XTREME scores it, deliberately not fixed."""
    out, start, prev_mark, prev_type = [], 0, "O", ""
    for i, tag in enumerate(list(tags) + ["O"]):
        mark, kind = tag[0], tag[1:].split("-", maxsplit=1)[-1] or "_"
        ends = (prev_mark in "ES" or (prev_mark in "BI" and mark in "BSO")
                or (prev_mark not in "O." and prev_type != kind))
        starts = mark in "BS" or (prev_mark in "ESO" and mark in "EI") or (mark not in "O." and prev_type != kind)
        if ends:
            out.append((prev_type, start, i - 1))
        if starts:
            start = i
        prev_mark, prev_type = mark, kind
    return out


def chunk_prf(gold, pred):
    """seqeval.metrics f1_score / precision_score / recall_score (default mode, micro) ×100 over lists of
    tag sequences."""
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("chunk F1: gold and predicted sequences differ in number or length")
    # seqeval joins the sentences with an "O" after each and chunks the whole: a sentence that follows
    # another starts after an "O" (type "_"), the first one after nothing (type "") — it matters for "X".
    g, p = (set(chunks([t for s in seqs for t in list(s) + ["O"]])) for seqs in (gold, pred))
    tp = len(g & p)
    return {"f1": 100.0 * 2 * tp / (len(g) + len(p)) if tp else 0.0,
            "precision": 100.0 * tp / len(p) if p else 0.0, "recall": 100.0 * tp / len(g) if g else 0.0}


def chunk_f1(gold, pred):
    return chunk_prf(gold, pred)["f1"]


def map_at_k(ranked, relevant, k=20):
    """Mean average precision at k ×100 (LAReQA, Mewsli-X): per query, the sum of precision@i at each rank
    i <= k that holds a relevant item, over min(k, number relevant); mean over the queries of `relevant`."""
    total = 0.0
    for q, rel in relevant.items():
        rel, hits, ap = set(rel), 0, 0.0
        for i, c in enumerate(ranked.get(q, [])[:k], 1):
            if c in rel:
                hits += 1
                ap += hits / i
        total += ap / min(k, len(rel)) if rel else 0.0
    return 100.0 * total / len(relevant)


PUNCT = {chr(i) for i in range(sys.maxunicode + 1) if unicodedata.category(chr(i)).startswith("P")} \
    | set(string.punctuation)
ARTICLES = dict(en=r"\b(a|an|the)\b", es=r"\b(un|una|unos|unas|el|la|los|las)\b",
                vi=r"\b(của|là|cái|chiếc|những)\b",
                de=r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
                ar="ال")  # MLQA's own script removes every "ال", not only the prefix: reproduced as scored


def mlqa_tokens(text, lang):
    """MLQA's normalisation: lowercase, drop every Unicode punctuation character, drop the language's
    articles, whitespace-split — for zh every CJK character (U+4E00-U+9FA5) is a token of its own."""
    text = "".join(ch for ch in text.lower() if ch not in PUNCT)
    text = re.sub(ARTICLES[lang], " ", text) if lang in ARTICLES else text
    if lang != "zh":
        return text.split()
    return re.sub(r"([\u4e00-\u9fa5])", r" \1 ", text).split()


def mlqa(predictions, answers, lang):
    """MLQA EM / F1 ×100 with its per-language normalisation (SPEC §5)."""
    em = f1 = 0.0
    for qid, golds in answers.items():
        p, golds = mlqa_tokens(predictions[qid], lang), golds or [""]
        em += max(float(p == mlqa_tokens(g, lang)) for g in golds)
        f1 += max(token_f1(p, mlqa_tokens(g, lang)) for g in golds)
    return {"exact_match": 100.0 * em / len(answers), "f1": 100.0 * f1 / len(answers)}


def token_f1(p, g):
    common = sum((Counter(p) & Counter(g)).values())
    return 0.0 if not common else 2 * common / (len(p) + len(g))


def macro_f1(pred, gold):
    """Unweighted mean over classes of per-class F1 ×100, the classes being those in gold or predictions
    (scikit-learn's f1_score(average="macro")); SPEC §7.3 asks for F1 on XTREME-R classification."""
    if len(pred) != len(gold) or not gold:
        raise ValueError(f"macro F1: {len(pred)} predictions for {len(gold)} gold labels")
    classes = sorted(set(gold) | set(pred), key=str)
    return sum(binary_f1(pred, gold, positive=c) for c in classes) / len(classes)
