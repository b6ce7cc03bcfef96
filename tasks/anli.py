"""ANLI, rounds 1-3 together: adversarial English NLI (Nie et al. 2020), an intermediate task (SPEC §2).

Files: <data-dir>/anli/anli_v1.0/R{1,2,3}/{train,dev}.jsonl — the official anli_v1.0.zip (context,
hypothesis, label e/n/c).
"""
from tasks import mnli, snli
from util import UserError
from tasks.lib import reading

HEAD, LABELS, METRIC, LANGS, HPARAMS = "classify", mnli.LABELS, "accuracy", ["en"], mnli.HPARAMS
TRAIN_SIZE = 162_865  # rounds 1-3: 16,946 + 45,460 + 100,459 (Nie et al. 2020): sweep --dry-run
TRAIN_TOKENS = 46.2  # mnli's (same input shape; not measured): studies/tokens.py
ROUNDS = ("R1", "R2", "R3")
CODE = dict(e="entailment", n="neutral", c="contradiction")
encode = mnli.encode


def load(data_dir, split, lang="en"):
    if split not in ("train", "dev"):
        raise UserError(f"anli has no split {split!r}; it has train, dev.")

    def parse(row):
        if row["label"] not in CODE:
            raise ValueError(f"label {row['label']!r} not in e/n/c")
        return dict(a=row["context"], b=row["hypothesis"], label=LABELS.index(CODE[row["label"]]))
    examples, skipped = [], []
    for r in ROUNDS:
        ex, sk = snli.read_jsonl(reading.data_file(data_dir, "anli", f"anli_v1.0/{r}/{split}.jsonl"), parse)
        examples, skipped = examples + ex, skipped + sk
    return examples, skipped
