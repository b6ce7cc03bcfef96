"""SNLI: English NLI (550k pairs), an intermediate task and part of ANLI+ (SPEC §2).

Files: <data-dir>/snli/snli_1.0_{train,dev}.jsonl — the official snli_1.0.zip (gold_label, sentence1,
sentence2); pairs without a gold label ("-", no annotator majority) are skipped and counted.
"""
import json

from tasks import mnli
from util import UserError
from tasks.lib import reading

HEAD, LABELS, METRIC, LANGS, HPARAMS = "classify", mnli.LABELS, "accuracy", ["en"], mnli.HPARAMS
TRAIN_SIZE = 550_152  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 46.2  # mnli's (same input shape; not measured): studies/tokens.py
FILES = {"train": "snli_1.0_train.jsonl", "dev": "snli_1.0_dev.jsonl"}
encode = mnli.encode


def read_jsonl(path, parse):
    """One JSON object per line → parse(obj); a bad line (not JSON, a field missing or of the wrong type) is
    skipped and named by file:line and the field."""
    examples, skipped = [], []
    for n, line in reading.read_lines(path):
        if line.strip():
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise TypeError(f"a JSON {type(row).__name__}, not an object")
                examples.append(parse(row))
            except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
                skipped.append((f"{path}:{n}", f"no field {e}"[:200] if isinstance(e, KeyError) else str(e)[:200]))
    return examples, skipped


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"snli has no split {split!r}; it has {', '.join(FILES)}.")

    def parse(row):
        if row["gold_label"] not in LABELS:
            raise ValueError(f"label {row['gold_label']!r} not in {LABELS}")
        return dict(a=row["sentence1"], b=row["sentence2"], label=LABELS.index(row["gold_label"]))
    return read_jsonl(reading.data_file(data_dir, "snli", FILES[split]), parse)
