"""MNLI (GLUE): the English intermediate task — premise/hypothesis → entailment/neutral/contradiction.

Files: <data-dir>/mnli/train.tsv, dev_matched.tsv — GLUE's MNLI.zip layout (header row; columns read by
name: sentence1, sentence2, gold_label). Get them: python -m data_scripts.mnli. SPEC §2, §6.
Translated training data (`--task mnli@hi` or `--lang hi`): XNLI-MT-1.0's machine-translated MNLI train,
<data-dir>/mnli/XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv (header premise, hypo, label).
Selection stays on the English dev set.
"""
from util import UserError
from tasks.lib import reading

HEAD = "classify"
LABELS = ["entailment", "neutral", "contradiction"]
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=32, epochs=2.0, max_len=256)  # SPEC §6 (the XNLI-on-MNLI recipe)
TRAIN_SIZE = 392_702  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 46.2  # real tokens per training example: python -m studies.tokens
FILES = {"train": "train.tsv", "dev": "dev_matched.tsv"}
TRAIN_LANGS = "en ar bg de el es fr hi ru sw th tr ur vi zh".split()  # XNLI-MT-1.0 (SPEC §2)


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"mnli has no split {split!r}; it has {', '.join(FILES)}.")
    if split == "train" and lang != "en":
        return load_translated(reading.data_file(data_dir, "mnli", f"XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv",
                                                f" LANG={lang}"))
    path = reading.data_file(data_dir, "mnli", FILES[split])
    header = next(line for _, line in reading.read_lines(path) if line.strip()).split("\t")
    try:
        a, b, y = (header.index(c) for c in ("sentence1", "sentence2", "gold_label"))
    except ValueError:
        raise UserError(f"{path}:1: header lacks sentence1/sentence2/gold_label; is this GLUE MNLI?") from None

    def parse(cols):  # read_tsv checks the width against the header
        if cols[y] not in LABELS:
            raise ValueError(f"label {cols[y]!r} not in {LABELS}")
        return dict(a=cols[a], b=cols[b], label=LABELS.index(cols[y]))

    return reading.read_tsv(path, parse, header=True)


def encode(examples, tok, max_len):
    encs = tok([e["a"] for e in examples], [e["b"] for e in examples], max_len=max_len)
    return [dict(ids=enc.ids, label=e["label"]) for e, enc in zip(examples, encs)]


def load_translated(path):
    def parse(cols):  # header premise, hypo, label: read_tsv checks the width
        label = "contradiction" if cols[2] == "contradictory" else cols[2]
        if label not in LABELS:
            raise ValueError(f"label {cols[2]!r} not in {LABELS}")
        return dict(a=cols[0], b=cols[1], label=LABELS.index(label))
    return reading.read_tsv(path, parse, header=True)
