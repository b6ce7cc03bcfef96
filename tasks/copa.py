"""COPA (English, SuperGLUE's copy): choose the more plausible cause or effect of a premise; XCOPA's English
training and selection data (tasks/xcopa.py), also usable as an intermediate task.

Files: <data-dir>/copa/COPA/{train,val}.jsonl — SuperGLUE's COPA.zip (premise, choice1, choice2, question
"cause"/"effect", label 0/1). The model sees ("{premise} What was the {question}?", choice) per choice, as
XTREME's run_xcopa.py does. Get them: python -m data_scripts.copa.
"""
from tasks import commonsenseqa, snli
from util import UserError
from tasks.lib import reading

HEAD = "choice"
CHOICES = 2
METRIC = "accuracy"
LANGS = ["en"]
# XTREME-R's scripts/train_xcopa.sh for XLM-R large (its one reference; base: lr 2e-5): batch 2 x 16 accumulation,
# 5 epochs, max length 128; run_xcopa.py's HF Trainer defaults: no warm-up, weight decay 0, the last state kept.
HPARAMS = dict(lr=3e-5, batch_size=32, epochs=5.0, max_len=128, warmup=0.0, weight_decay=0.0)
TRAIN_SIZE = 400  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 112.7  # commonsenseqa's (multiple choice: the nearest slice; not measured): studies/tokens.py
SELECT = "last"  # the final state, not the best on dev (Trainer's load_best_model_at_end=False)
FILES = {"train": "COPA/train.jsonl", "dev": "COPA/val.jsonl"}


def parse(row):
    if row["question"] not in ("cause", "effect") or int(row["label"]) not in (0, 1):
        raise ValueError(f"question {row['question']!r} / label {row['label']!r}; expected cause|effect and 0|1")
    return dict(question=f"{row['premise']} What was the {row['question']}?", choices=[row["choice1"], row["choice2"]],
                label=int(row["label"]))


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"copa has no split {split!r}; it has {', '.join(FILES)}.")
    return snli.read_jsonl(reading.data_file(data_dir, "copa", FILES[split]), parse)


def encode(examples, tok, max_len):
    return commonsenseqa.encode_choices(examples, tok, max_len, CHOICES)
