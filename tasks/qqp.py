"""QQP (GLUE): are two Quora questions duplicates? Selection metric (accuracy + F1) / 2 (SPEC §2).

Files: <data-dir>/qqp/{train,dev}.tsv — GLUE's QQP.zip (header id, qid1, qid2, question1, question2,
is_duplicate; columns read by name).
"""
from tasks import mnli
from util import UserError
from tasks.lib import reading

HEAD = "classify"
LABELS = ["not_duplicate", "duplicate"]
METRIC = "acc_f1"
LANGS = ["en"]
HPARAMS = dict(batch_size=32, epochs=2.0, max_len=256)
TRAIN_SIZE = 363_846  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 46.2  # mnli's (same input shape; not measured): studies/tokens.py
FILES = {"train": "train.tsv", "dev": "dev.tsv"}
encode = mnli.encode


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"qqp has no split {split!r}; it has {', '.join(FILES)}.")
    path = reading.data_file(data_dir, "qqp", FILES[split])
    header = next(line for _, line in reading.read_lines(path) if line.strip()).split("\t")
    try:
        a, b, y = (header.index(c) for c in ("question1", "question2", "is_duplicate"))
    except ValueError:
        raise UserError(f"{path}:1: header lacks question1/question2/is_duplicate; is this GLUE QQP?") from None

    def parse(cols):  # read_tsv checks the width against the header
        if cols[y] not in ("0", "1"):
            raise ValueError(f"is_duplicate {cols[y]!r} not 0/1")
        return dict(a=cols[a], b=cols[b], label=int(cols[y]))
    return reading.read_tsv(path, parse, header=True)
