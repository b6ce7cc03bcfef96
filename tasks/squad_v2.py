"""SQuAD v2.0: SQuAD with unanswerable questions — predicting the `<s>` position means "no answer".

Files: <data-dir>/squad_v2/{train-v2.0.json, dev-v2.0.json} from rajpurkar's SQuAD-explorer (SPEC §2).
Everything else is SQuAD v1.1's (tasks/squad_v1.py: HF squad.py's labels and answer text by default);
decoding uses HF's v2 no-answer rule, scoring the v2.0 script's (F1 = 1 when both sides are empty).
"""
from tasks import squad_v1
from util import UserError

HEAD, METRIC, LANGS, HPARAMS = squad_v1.HEAD, squad_v1.METRIC, squad_v1.LANGS, squad_v1.HPARAMS
TRAIN_SIZE = 130_319  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 192.6  # real tokens per training example: python -m studies.tokens
V2 = True
FILES = {"train": "train-v2.0.json", "dev": "dev-v2.0.json"}
read, encode = squad_v1.read, squad_v1.encode


def load(data_dir, split, lang="en", route="reference"):
    from tasks.lib import reading
    if split not in FILES:
        raise UserError(f"squad_v2 has no split {split!r}; it has {', '.join(FILES)}.")
    examples, skipped = read(reading.data_file(data_dir, "squad_v2", FILES[split]))
    return squad_v1.keep_found(examples, skipped, "squad_v2 train", route) if split == "train" else (examples, skipped)
