"""Cosmos QA: 4-way multiple-choice reading comprehension needing commonsense (an intermediate task).

Files: <data-dir>/cosmosqa/{train,valid}.csv — the official RFC-4180 CSV (quoted, multi-line fields):
id, context, question, answer0..answer3, label. Encoded as (context + question, answer) pairs. Read strictly:
a quote never closed is an error of that record (not a silent merge of the records after it).
"""
import csv

from tasks import commonsenseqa
from util import UserError
from tasks.lib import reading

HEAD = "choice"
CHOICES = 4
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=16, epochs=2.0, max_len=256)
TRAIN_SIZE = 25_262  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 470.3  # real tokens per training example: python -m studies.tokens
FILES = {"train": "train.csv", "dev": "valid.csv"}
COLUMNS = ["id", "context", "question", *(f"answer{j}" for j in range(CHOICES)), "label"]
csv.field_size_limit(1 << 30)  # a long context is data: the default limit (128 KB) would stop the reader


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"cosmosqa has no split {split!r}; it has {', '.join(FILES)}.")
    path = reading.data_file(data_dir, "cosmosqa", FILES[split])
    reader = csv.reader((line + "\n" for _, line in reading.read_lines(path)), strict=True)
    examples, skipped, header, end = [], [], None, 0
    while True:
        start = end + 1  # a record may span lines: it starts after the previous one ends
        try:
            values = next(reader, None)
        except csv.Error as e:  # e.g. an unclosed quote that ran on into later records: one malformed row
            values = f"{e} (a quote never closed?)"
        end = reader.line_num
        if values is None:
            break
        if header is None:  # read by name
            header = values if isinstance(values, list) else []
            if set(COLUMNS) - set(header):
                raise UserError(f"{path}:1: the header lacks {sorted(set(COLUMNS) - set(header))}; is it "
                                       "Cosmos QA's CSV?")
            continue
        if not values:
            continue
        try:
            if isinstance(values, str) or len(values) != len(header):
                raise ValueError(values if isinstance(values, str) else
                                 f"{len(values)} fields, the header has {len(header)}")
            row = dict(zip(header, values))
            if row["label"] not in [str(j) for j in range(CHOICES)]:
                raise ValueError(f"label {row['label']!r:.40} not 0..{CHOICES - 1}")
            examples.append(dict(question=f"{row['context']} {row['question']}",
                                 choices=[row[f"answer{j}"] for j in range(CHOICES)], label=int(row["label"])))
        except ValueError as e:
            skipped.append((f"{path}:{start}", str(e)))
    if not examples and not skipped:
        raise UserError(f"{path}: only a header line, no rows; fetch the file again.")
    return examples, skipped


def encode(examples, tok, max_len):
    return commonsenseqa.encode_choices(examples, tok, max_len, CHOICES)
