"""MLM: masked-language-model training on multilingual text, as one more task in an intermediate mix
(SPEC §2 alternative (a)): `--task mnli,mlm`.

Files: <data-dir>/mlm/{train,dev}.txt — your multilingual text (e.g. a Wikipedia / CC-100 sample), one
sentence or paragraph per line, UTF-8. Masking (BERT): 15% of the non-special tokens of each line; of those
80% become <mask>, 10% a random token, 10% stay; labels are the original tokens there. The masks are drawn
once per line from a fixed seed (static masking), so a resumed run sees the same. The checkpoint's LM head
is trained with the encoder (tasks/lib/heads.py: MLM). Metric: masked-token accuracy.
"""
import random

from tasks.lib import common, heads

HEAD = "mlm"
METRIC = "accuracy"
LANGS = ["en"]  # the text may hold any languages: one file
HPARAMS = dict(batch_size=32, epochs=1.0, max_len=128)
MASK_P, MASK_TOKEN_P, RANDOM_TOKEN_P = 0.15, 0.8, 0.1  # BERT / XLM-R
SEED = 12345
FILES = {"train": "train.txt", "dev": "dev.txt"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise common.UserError(f"mlm has no split {split!r}; it has {', '.join(FILES)}.")
    path = common.data_file(data_dir, "mlm", FILES[split])
    return common.read_tsv(path, lambda cols: dict(text="\t".join(cols)))


def mask(ids, special, vocab_size, mask_id, rng, never=()):
    """ids → (masked ids, labels with the original token at masked positions and -100 elsewhere);
    a random replacement is never one of the ids in `never` (the special tokens)."""
    candidates = [i for i, s in enumerate(special) if not s]
    chosen = rng.sample(candidates, max(1, round(MASK_P * len(candidates)))) if candidates else []
    ids, labels = list(ids), [heads.IGNORE] * len(ids)
    for i in chosen:
        labels[i] = ids[i]
        r = rng.random()
        if r < MASK_TOKEN_P:
            ids[i] = mask_id
        elif r < MASK_TOKEN_P + RANDOM_TOKEN_P:
            ids[i] = rng.randrange(vocab_size)
            while ids[i] in never:  # any ordinary token
                ids[i] = rng.randrange(vocab_size)
    return ids, labels


def encode(examples, tok, max_len):
    rng = random.Random(SEED)
    never = {tok.cls_id, tok.pad_id, tok.sep_id, tok.mask_id, tok.rust.token_to_id("<unk>")}
    out = []
    for e, enc in zip(examples, tok([e["text"] for e in examples], max_len=max_len)):
        ids, labels = mask(enc.ids, enc.special_tokens_mask, tok.vocab_size, tok.mask_id, rng, never)
        out.append(dict(ids=ids, label=labels))
    return out
