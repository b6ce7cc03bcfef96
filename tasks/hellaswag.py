"""HellaSwag: pick the right 4-way continuation of an activity description (an intermediate task).

Files: <data-dir>/hellaswag/hellaswag_{train,val}.jsonl — rowanz/hellaswag's data (ctx_a, ctx_b, endings, label).
Inputs follow jiant (the paper's code base, jiant/tasks/lib/hellaswag.py): the prompt is ctx_a, each choice is
ctx_b + " " + ending (ctx_b, the start of the sentence the ending completes, goes with the ending), a pair each.
"""
from tasks import commonsenseqa, snli
from util import UserError
from tasks.lib import reading

HEAD = "choice"
CHOICES = 4
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=16, epochs=2.0, max_len=128)
TRAIN_SIZE = 39_905  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 470.3  # cosmosqa's (multiple choice: the nearest slice; not measured): studies/tokens.py
FILES = {"train": "hellaswag_train.jsonl", "dev": "hellaswag_val.jsonl"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"hellaswag has no split {split!r}; it has {', '.join(FILES)}.")

    def parse(row):
        if len(row["endings"]) != CHOICES or not 0 <= int(row["label"]) < CHOICES:
            raise ValueError(f"{len(row['endings'])} endings / label {row['label']!r}")
        choices = [row["ctx_b"] + " " + ending for ending in row["endings"]]  # jiant's choice text
        return dict(question=row["ctx_a"], choices=choices, label=int(row["label"]))
    return snli.read_jsonl(reading.data_file(data_dir, "hellaswag", FILES[split]), parse)


def encode(examples, tok, max_len):
    return commonsenseqa.encode_choices(examples, tok, max_len, CHOICES)
