"""Scoring, in one place: a trained head's predictions → the submission's terms (`decode`) → the task's metrics
(`measure`), the way the literature reports them (SPEC §2, §5). The loop's dev selection, `eval`, `score` and
`compare` all score through here."""
from tasks.lib import heads, metrics


def decode(task, examples, features, pred):
    """(predictions, gold) per example in the submission's terms (tasks/lib/submission.py): answer texts
    {id: text} and {id: [texts]} (span), each word's tag (tag: a sentence's segments joined), label names."""
    if task.HEAD == "span":  # all windows of an example → one answer text
        by_example = {}
        for f, p in zip(features, pred):
            by_example.setdefault(f["example"], ([], []))
            by_example[f["example"]][0].append(f), by_example[f["example"]][1].append(p)
        return ({examples[i]["id"]: heads.decode(examples[i]["context"], fs, ps, v2=task.V2,
                                                 align=examples[i].get("align", True))
                 for i, (fs, ps) in by_example.items()}, {e["id"]: [t for _, t in e["answers"]] for e in examples})
    if task.HEAD == "tag":  # the first sub-token of each word carries its prediction
        guess = [[] for _ in examples]
        for f, ps in zip(features, pred):
            guess[f["example"]] += [task.LABELS[p] for p, g in zip(ps.tolist(), f["label"]) if g != heads.IGNORE]
        return guess, [[task.LABELS[g] for g in e["label"]] for e in examples]
    names = task.LABELS or [str(i) for i in range(task.CHOICES)]
    return [names[p] for p in pred], [names[f["label"]] for f in features]


def score(task, examples, features, pred):
    """The task's metrics, the way the literature reports them (SPEC §2, §5)."""
    if task.HEAD == "dual":  # each dev question ranks the dev candidates
        return {task.METRIC: heads.dual_map(pred, [tuple(f["ids"][1]) for f in features])}
    if task.HEAD == "mlm" or task.HEAD == "tag" and task.METRIC != "f1":  # token accuracy: masked tokens, CCG
        pairs = [(int(p), g) for f, ps in zip(features, pred) for p, g in zip(ps, f["label"]) if g != heads.IGNORE]
        return {task.METRIC: metrics.accuracy(*zip(*pairs))}
    return measure(task, examples, *decode(task, examples, features, pred))


def measure(task, examples, guess, gold):
    """Metrics of decoded predictions against the gold (decode's terms)."""
    if task.HEAD == "span":
        lang = examples[0].get("lang")  # MLQA's test sets: its own per-language normalisation
        return metrics.mlqa(guess, gold, lang) if lang else metrics.squad(guess, gold, task.V2)
    if task.HEAD == "tag":  # seqeval chunk F1 per sentence (XTREME)
        return metrics.chunk_prf(gold, guess)
    result = {"accuracy": metrics.accuracy(guess, gold)}
    if task.METRIC == "acc_f1":  # QQP: (accuracy + F1) / 2
        result["f1"] = metrics.binary_f1(guess, gold, positive=task.LABELS[1])
        result["acc_f1"] = (result["accuracy"] + result["f1"]) / 2
    return result


def n_classes(task):
    """How many classes (HEAD classify: its LABELS) or choices (HEAD choice: CHOICES) a task predicts among;
    None for the other heads."""
    head = task.HEAD
    return len(task.LABELS) if head == "classify" else task.CHOICES if head == "choice" else None
