"""XCOPA: COPA translated into 11 languages, an XTREME-R target; accuracy (SPEC §3). As in XTREME-R (Ponti et
al. 2020), the model trains on SIQA first, then continues — encoder and head — on English COPA (`target`,
`run` and `eval --all` chain both), keeps each stage's last state, and is tested zero-shot on each language.
Recipe (XTREME-R's scripts/train_xcopa.sh, the reference for this XTREME-R-only task): lr 3e-5, batch 32, 5 epochs
per stage, max length 128, no warm-up, weight decay 0, the last state; flags (--lr ...) override it.
Files: <data-dir>/xcopa/{lang}/test.{lang}.jsonl (cambridgeltl/xcopa, COPA's fields). Get them:
python -m data_scripts.xcopa (XCOPA), data_scripts.copa and data_scripts.siqa (training).
"""
from tasks import copa, snli
from util import UserError
from tasks.lib import reading

HEAD, CHOICES, METRIC = "choice", 2, "accuracy"
SUFFIX = "jsonl"  # submission: {"label": choice} per line (XTREME-R)
LANGS = "et ht id it qu sw ta th tr vi zh".split()
TRAIN_ON = "copa"
TRAIN_FIRST = "siqa"  # a stage of its own before COPA (XTREME-R's train_xcopa recipe)
HPARAMS, SELECT = copa.HPARAMS, copa.SELECT  # XTREME-R's train_xcopa.sh, both stages (tasks/copa.py)
encode = copa.encode


def load(data_dir, split, lang="en"):
    if split != "test":
        return copa.load(data_dir, split)  # English COPA: training and selection
    if lang not in LANGS:
        raise UserError(f"xcopa has no language {lang!r}; its languages are {' '.join(LANGS)}.")
    return snli.read_jsonl(reading.data_file(data_dir, "xcopa", f"{lang}/test.{lang}.jsonl"), copa.parse)
