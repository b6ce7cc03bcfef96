"""XNLI: the cross-lingual NLI target. Trains on MNLI (English), selects on MNLI dev-matched (jiant;
--select-on target: XNLI English dev), and is evaluated zero-shot on the test set of 15 languages (SPEC §3).

Files, either layout: <data-dir>/xnli/{dev,test}-{lang}.tsv — XTREME's preparation: premise, hypothesis,
label, no header — or <data-dir>/xnli/XNLI-1.0/xnli.{dev,test}.tsv — the official zip: header, col0
language, col1 gold_label, col6 sentence1, col7 sentence2. Get them: python -m data_scripts.xnli.
"""
from pathlib import Path

from tasks import mnli
from util import UserError
from tasks.lib import reading

HEAD = "classify"
LABELS = mnli.LABELS
METRIC = "accuracy"
LANGS = "ar bg de el en es fr hi ru sw th tr ur vi zh".split()
TRAIN_ON = "mnli"  # XNLI has no training set of its own: MNLI train is its English training data
HPARAMS = dict(batch_size=32, epochs=2.0, max_len=256)  # SPEC §6
encode = mnli.encode


def label(text):
    text = "contradiction" if text == "contradictory" else text  # XNLI-1.0's spelling (SPEC §3)
    if text not in LABELS:
        raise ValueError(f"label {text!r} not in {LABELS}")
    return LABELS.index(text)


def load(data_dir, split, lang):
    if split == "train":
        return mnli.load(data_dir, "train")
    if lang not in LANGS:
        raise UserError(f"xnli has no language {lang!r}; its languages are {' '.join(LANGS)}.")
    xtreme = Path(data_dir) / "xnli" / f"{split}-{lang}.tsv"
    if xtreme.exists():
        def parse(cols):
            if len(cols) != 3:
                raise ValueError(f"{len(cols)} columns, expected premise, hypothesis, label")
            return dict(a=cols[0], b=cols[1], label=label(cols[2]))
        return reading.read_tsv(xtreme, parse)
    path, seen = reading.data_file(data_dir, "xnli", f"XNLI-1.0/xnli.{split}.tsv"), set()

    def parse_official(cols):  # a row of another width (a stray tab) is malformed: read_tsv checks the header's
        seen.add(cols[0])
        return dict(a=cols[6], b=cols[7], label=label(cols[1])) if cols[0] == lang else None
    examples, skipped = reading.read_tsv(path, parse_official, header=True)
    if lang not in seen:
        raise UserError(f"{path} has no rows for language {lang}; it holds {' '.join(sorted(seen))}: "
                               "use --langs (stats: --lang) with those.")
    return examples, skipped
