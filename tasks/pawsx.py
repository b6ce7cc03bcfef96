"""PAWS-X: paraphrase identification in 7 languages, a target: trains on English, zero-shot elsewhere.

Files: <data-dir>/pawsx/x-final/{lang}/{train,dev_2k,test_2k}.tsv — the official x-final.tar.gz (header
id, sentence1, sentence2, label). Read with no quote processing: a quote inside a sentence is text (csv
quoting would silently drop ~200 rows; SPEC §3). English train for en: translated_train.tsv is not used.
"""
from tasks import mnli
from util import UserError
from tasks.lib import reading

HEAD = "classify"
LABELS = ["different", "paraphrase"]
METRIC = "accuracy"
LANGS = "de en es fr ja ko zh".split()
HPARAMS = dict(batch_size=32, epochs=5.0, max_len=256)  # SPEC §6
TRAIN_SIZE = 49_401  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 62.6  # real tokens per training example: python -m studies.tokens
FILES = {"train": "train.tsv", "dev": "dev_2k.tsv", "test": "test_2k.tsv"}
encode = mnli.encode


def load(data_dir, split, lang="en"):
    if split not in FILES or lang not in LANGS:
        raise UserError(f"pawsx has splits {', '.join(FILES)} and languages {' '.join(LANGS)}.")

    def parse(cols):
        if cols[3] not in ("0", "1"):  # read_tsv checks the width against the header
            raise ValueError(f"label {cols[3]!r} not 0/1")
        return dict(a=cols[1], b=cols[2], label=int(cols[3]))
    return reading.read_tsv(reading.data_file(data_dir, "pawsx", f"x-final/{lang}/{FILES[split]}"), parse, header=True)
