"""Social IQa: 3-way multiple choice on social situations; XTREME-R trains XCOPA's model on it before COPA
(tasks/xcopa.py), and it serves as an intermediate task on its own.

Files: <data-dir>/siqa/socialIQa_v1.4_{trn,dev}.jsonl — the v1.4 release XTREME downloads (context, question,
answerA-C, correct: "A"/"B"/"C"). The model sees ("{context} {question}", answer) per choice, as XTREME's
siqa reader builds it. Get them: python -m data_scripts.siqa.
"""
from tasks import commonsenseqa, copa, snli
from util import UserError
from tasks.lib import reading

HEAD = "choice"
CHOICES = 3
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS, SELECT = copa.HPARAMS, copa.SELECT  # XTREME-R trains SIQA with COPA's recipe (train_xcopa.sh)
TRAIN_SIZE = 33_410  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 112.7  # commonsenseqa's (multiple choice: the nearest slice; not measured): studies/tokens.py
FILES = {"train": "socialIQa_v1.4_trn.jsonl", "dev": "socialIQa_v1.4_dev.jsonl"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"siqa has no split {split!r}; it has {', '.join(FILES)}.")

    def parse(row):
        if row["correct"] not in ("A", "B", "C"):
            raise ValueError(f"correct {row['correct']!r} is not A, B or C")
        return dict(question=f"{row['context']} {row['question']}", label="ABC".index(row["correct"]),
                    choices=[row["answerA"], row["answerB"], row["answerC"]])
    return snli.read_jsonl(reading.data_file(data_dir, "siqa", FILES[split]), parse)


def encode(examples, tok, max_len):
    return commonsenseqa.encode_choices(examples, tok, max_len, CHOICES)
