"""ANLI+: SNLI + MNLI + ANLI rounds 1-3 (~1.1M pairs) through one shared 3-way head (SPEC §2).

Proportional sampling = the three training sets concatenated and shuffled together. Selection on the
ANLI dev sets (the adversarial rounds are the hard part). Files: those of snli, mnli and anli.
"""
from tasks import anli, mnli, snli
from util import UserError

HEAD, LABELS, METRIC, LANGS, HPARAMS = "classify", mnli.LABELS, "accuracy", ["en"], mnli.HPARAMS
encode = mnli.encode
TRAIN_SIZE = snli.TRAIN_SIZE + mnli.TRAIN_SIZE + anli.TRAIN_SIZE  # the three sets concatenated
TRAIN_TOKENS = mnli.TRAIN_TOKENS  # mnli's shape, not measured (ANLI's longer premises: an underestimate)


def load(data_dir, split, lang="en"):
    if split == "dev":
        return anli.load(data_dir, "dev")
    if split != "train":
        raise UserError(f"anli_plus has no split {split!r}; it has train, dev.")
    examples, skipped = [], []
    for task in (snli, mnli, anli):
        ex, sk = task.load(data_dir, "train")
        examples, skipped = examples + ex, skipped + sk
    return examples, skipped
