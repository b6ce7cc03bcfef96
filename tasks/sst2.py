"""SST-2 (GLUE): binary sentiment of single English sentences (SPEC §2).

Files: <data-dir>/sst2/{train,dev}.tsv — GLUE's SST-2.zip (header sentence, label).
"""
from util import UserError
from tasks.lib import reading

HEAD = "classify"
LABELS = ["negative", "positive"]
METRIC = "accuracy"
LANGS = ["en"]
HPARAMS = dict(batch_size=32, epochs=2.0, max_len=128)
TRAIN_SIZE = 67_349  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
FILES = {"train": "train.tsv", "dev": "dev.tsv"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"sst2 has no split {split!r}; it has {', '.join(FILES)}.")

    def parse(cols):
        if cols[1] not in ("0", "1"):  # read_tsv checks the width against the header
            raise ValueError(f"label {cols[1]!r} not 0/1")
        return dict(a=cols[0], label=int(cols[1]))
    return reading.read_tsv(reading.data_file(data_dir, "sst2", FILES[split]), parse, header=True)


def encode(examples, tok, max_len):
    return [dict(ids=enc.ids, label=e["label"]) for e, enc in zip(examples, tok([e["a"] for e in examples],
                                                                              max_len=max_len))]
