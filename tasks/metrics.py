"""Metrics as the literature reports them (SPEC §5): numbers ×100, per-task score = mean over languages."""


def accuracy(pred, gold):
    if len(pred) != len(gold) or not gold:
        raise ValueError(f"accuracy: {len(pred)} predictions for {len(gold)} gold labels")
    return 100.0 * sum(int(p == g) for p, g in zip(pred, gold)) / len(gold)
