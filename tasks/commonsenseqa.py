"""CommonsenseQA: 5-way multiple choice over commonsense questions (an intermediate task, SPEC §2).

Files: <data-dir>/commonsenseqa/{train_rand_split,dev_rand_split}.jsonl — the official release: one JSON
object per line with question, choices {label, text}, answerKey. Each (question, choice) pair is encoded.
"""
from tasks import snli
from util import UserError
from tasks.lib import reading

HEAD = "choice"
CHOICES = 5
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=16, epochs=2.0, max_len=128)
TRAIN_SIZE = 9_741  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 112.7  # real tokens per training example: python -m studies.tokens
FILES = {"train": "train_rand_split.jsonl", "dev": "dev_rand_split.jsonl"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"commonsenseqa has no split {split!r}; it has {', '.join(FILES)}.")

    def parse(row):
        labels, texts = row["choices"]["label"], row["choices"]["text"]
        if len(texts) != CHOICES or row["answerKey"] not in labels:
            raise ValueError(f"{len(texts)} choices / answerKey {row['answerKey']!r} not among {labels}")
        return dict(question=row["question"], choices=texts, label=labels.index(row["answerKey"]))
    return snli.read_jsonl(reading.data_file(data_dir, "commonsenseqa", FILES[split]), parse)


def encode_choices(examples, tok, max_len, n):
    """(question, choice) pairs, one token list per choice, through the parallel batch path."""
    encs = tok([e["question"] for e in examples for _ in e["choices"]],
               [c for e in examples for c in e["choices"]], max_len=max_len)
    return [dict(ids=[encs[i * n + j].ids for j in range(n)], label=e["label"]) for i, e in enumerate(examples)]


def encode(examples, tok, max_len):
    return encode_choices(examples, tok, max_len, CHOICES)
