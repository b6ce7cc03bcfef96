"""Cosmos QA: 4-way multiple-choice reading comprehension needing commonsense (an intermediate task).

Files: <data-dir>/cosmosqa/{train,valid}.csv — the official RFC-4180 CSV (quoted, multi-line fields):
id, context, question, answer0..answer3, label. Encoded as (context + question, answer) pairs.
"""
import csv

from tasks import commonsenseqa
from tasks.lib import common

HEAD = "choice"
CHOICES = 4
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=16, epochs=2.0, max_len=256)
FILES = {"train": "train.csv", "dev": "valid.csv"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise common.UserError(f"cosmosqa has no split {split!r}; it has {', '.join(FILES)}.")
    path = common.data_file(data_dir, "cosmosqa", FILES[split])
    examples, skipped = [], []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        for row in reader:  # reader.line_num: the physical line where the record ends
            try:
                label = int(row["label"])
                if not 0 <= label < CHOICES or None in row.values():
                    raise ValueError(f"label {row['label']!r} or a missing field")
                examples.append(dict(question=f"{row['context']} {row['question']}",
                                     choices=[row[f"answer{j}"] for j in range(CHOICES)], label=label))
            except (ValueError, KeyError, TypeError) as e:
                skipped.append((f"{path}:{reader.line_num}", str(e)))
    return examples, skipped


def encode(examples, tok, max_len):
    return commonsenseqa.encode_choices(examples, tok, max_len, CHOICES)
