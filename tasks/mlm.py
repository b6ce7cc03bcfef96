"""MLM: masked-language-model training on multilingual text, as one more task in an intermediate mix
(SPEC §2 alternative (a)): `--task mnli,mlm`.

Files: <data-dir>/mlm/{train,dev}.txt — your multilingual text (e.g. a Wikipedia / CC-100 sample), one
sentence or paragraph per line, UTF-8. Masking as jiant does it (nyu-mll/jiant
jiant/tasks/lib/templates/mlm.py: mlm_mask_tokens, called per batch by MLMModel.forward in
jiant/proj/main/modeling/taskmodels.py): each non-special token is chosen with probability 0.15 (Bernoulli);
of those 80% become <mask>, 10% a random id of the whole vocabulary, 10% stay; labels are the original tokens
there. Training draws a fresh mask for every micro-batch (`remask`, seeded by chain/train.py from (seed,
epoch, micro-batch), so a resumed run draws the same); the dev set is masked once from a fixed seed, so every
evaluation scores the same positions (jiant masks dev batches afresh too). The checkpoint's LM head is
trained with the encoder (tasks/lib/heads.py: MLM). Metric: masked-token accuracy.
"""
import hashlib

import torch

from util import UserError
from tasks.lib import heads, reading

HEAD = "mlm"
METRIC = "accuracy"
LANGS = ["en"]  # the text may hold any languages: one file
HPARAMS = dict(batch_size=32, epochs=1.0, max_len=128)
MASK_P, MASK_TOKEN_P, RANDOM_TOKEN_P = 0.15, 0.8, 0.1  # BERT / XLM-R / jiant
SEED = 12345  # the dev set's one mask
FILES = {"train": "train.txt", "dev": "dev.txt"}


def load(data_dir, split, lang="en"):
    if split not in FILES:
        raise UserError(f"mlm has no split {split!r}; it has {', '.join(FILES)}.")
    path = reading.data_file(data_dir, "mlm", FILES[split])
    return reading.read_tsv(path, lambda cols: dict(text="\t".join(cols)))


def mask(ids, tok, g):
    """ids (B, T) original tokens, CPU → (masked ids, labels: the original token where chosen, IGNORE elsewhere).
    Special tokens and padding are never chosen (jiant: the tokenizer's special-tokens mask)."""
    never = [i for i in (tok.cls_id, tok.sep_id, tok.pad_id, tok.mask_id, tok.rust.token_to_id("<unk>")) if i is not None]
    special = torch.isin(ids, torch.tensor(never))  # (B, T)
    u = torch.rand(ids.shape, generator=g)  # (B, T)
    chosen = (u < MASK_P) & ~special
    if not chosen.any() and not special.all():  # never an empty loss: the batch's likeliest token instead
        chosen = (u == u.masked_fill(special, 2.0).min()) & ~special
    r = torch.rand(ids.shape, generator=g)  # (B, T): 80% <mask>, 10% random, 10% kept
    out = torch.where(chosen & (r < MASK_TOKEN_P), tok.mask_id, ids)
    swap = chosen & (r >= MASK_TOKEN_P) & (r < MASK_TOKEN_P + RANDOM_TOKEN_P)
    out = torch.where(swap, torch.randint(tok.vocab_size, ids.shape, generator=g), out)  # any id (jiant)
    return out, torch.where(chosen, ids, heads.IGNORE)


def remask(ids, labels, tok, key):
    """A training batch's fresh mask, drawn from `key` (chain/train.py: seed, epoch, micro-batch) on the CPU,
    so the same on any device; its original tokens are the labels where masked, the ids elsewhere."""
    g = torch.Generator().manual_seed(int.from_bytes(hashlib.sha256(repr(key).encode()).digest()[:8], "little"))
    masked, new = mask(torch.where(labels != heads.IGNORE, labels, ids).cpu(), tok, g)
    return masked.to(ids.device), new.to(ids.device)


def encode(examples, tok, max_len):
    g, out = torch.Generator().manual_seed(SEED), []
    encs = tok([e["text"] for e in examples], max_len=max_len)
    for s in range(0, len(encs), 256):  # padded blocks: one tensor draw per block
        ids, _ = tok.pad(encs[s:s + 256])
        for e, m, lab in zip(encs[s:s + 256], *mask(ids, tok, g)):
            out.append(dict(ids=m[: len(e.ids)].tolist(), label=lab[: len(e.ids)].tolist()))
    return out
