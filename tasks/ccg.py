"""CCG supertagging: a lexical category per word (an intermediate task, SPEC §2). Metric: token accuracy.

CCGbank is LDC-licensed, so there is no download: make <data-dir>/ccg/{train,dev}.tsv yourself, one
sentence per line, `words<TAB>supertags`, both space-separated and aligned (e.g. from CCGbank's AUTO files:
the words and the lexical categories of the leaves, sections 02-21 train, 00 dev). The tag set is the
training file's (most frequent first); a dev tag never seen in training counts as wrong.
"""
from collections import Counter
from pathlib import Path

from util import UserError
from tasks.lib import heads, reading

HEAD = "tag"
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=32, epochs=2.0, max_len=256)
LABELS = ["<unseen>"]  # filled from the training file by load("train")
TRAIN_SIZE = 39_604  # CCGbank sections 02-21 (sentences); tokens unknown here: no CCGbank to measure
LICENSED = "CCGbank is LDC-licensed, no download (tasks/ccg.py says how to make the files)"
HOW = ("make it from CCGbank (LDC licence): one sentence per line, space-separated words, a tab, and the "
       "space-separated supertags (see tasks/ccg.py)")


def load(data_dir, split, lang="en"):
    if split not in ("train", "dev"):
        raise UserError(f"ccg has no split {split!r}; it has train, dev.")
    path = Path(data_dir) / "ccg" / f"{split}.tsv"
    if not path.exists():
        raise UserError(f"{path}: missing; {HOW}.")

    def parse(cols):
        if len(cols) != 2:
            raise ValueError(f"{len(cols)} columns, expected words<TAB>supertags")
        words, tags = cols[0].split(), cols[1].split()
        if len(words) != len(tags) or not words:
            raise ValueError(f"{len(words)} words but {len(tags)} supertags")
        return dict(words=words, tags=tags)
    examples, skipped = reading.read_tsv(path, parse)
    if split == "train":
        LABELS[1:] = [t for t, _ in Counter(t for e in examples for t in e["tags"]).most_common()]
    index = {t: i for i, t in enumerate(LABELS)}
    for e in examples:
        e["label"] = [index.get(t, 0) for t in e["tags"]]
    return examples, skipped


def encode(examples, tok, max_len):
    """Label on the first sub-token of each word, -100 (ignored) on the others and on <s> </s>."""
    out = []
    for e, enc in zip(examples, tok([e["words"] for e in examples], max_len=max_len, words=True)):
        labels, prev = [], None
        for w in enc.word_ids:
            labels.append(heads.IGNORE if w is None or w == prev else e["label"][w])
            prev = w
        out.append(dict(ids=enc.ids, label=labels))
    return out
