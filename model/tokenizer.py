"""XLM-R tokenization: the `tokenizers` library on the checkpoint's tokenizer.json, as transformers' fast
XLM-R tokenizer does it — `<s> A </s>` and `<s> A </s></s> B </s>`, longest-first truncation — with
character offsets (QA) and word ids (tagging) on every Encoding. Parity: tests/test_tokenizer.py.
The vocabulary and charsmap come from tokenizer.json (a folder with only sentencepiece.bpe.model: from that,
converted in memory by model/spm.py); the pre-tokenizer is the one transformers >= 5 builds for XLM-R
(split on whitespace, then Metaspace), so a token's offsets never include the space before it — what QA
needs to map token spans back to answer text. Ids are those of the file's own pipeline.

  tok = Tokenizer("path/to/checkpoint")          # folder (tokenizer.json or sentencepiece.bpe.model) or the file
  encs = tok(["a sentence"], ["its pair"], max_len=128)   # list of tokenizers.Encoding (parallel batch)
  ids, mask = tok.pad(encs)                       # (B, T) int64 tensors, right-padded
"""
import json
from itertools import accumulate
from pathlib import Path

import torch
from tokenizers import Tokenizer as _Rust

from model.spm import convert
from util import UserError

SPM = "sentencepiece.bpe.model"  # what XLM-R checkpoints without a tokenizer.json ship (fairseq's name)
CHARS_PER_TOKEN = 64  # an XLM-R token is ~4 characters: the first max_len tokens lie well inside max_len * 64


class Tokenizer:
    def __init__(self, path):
        path = Path(path)
        if path.is_dir():  # tokenizer.json, else the sentencepiece model converted in memory (model/spm.py)
            path = path / ("tokenizer.json" if (path / "tokenizer.json").exists() or not (path / SPM).exists() else SPM)
        if not path.exists():
            raise UserError(f"{path}: no tokenizer.json (nor {SPM}); a checkpoint folder needs its tokenizer file.")
        text = convert(path) if path.suffix == ".model" else None  # a bad .model file stops in convert
        try:
            spec = json.loads(text or path.read_text(encoding="utf-8"))
            # a Sequence normalizer: keep only its sentencepiece charsmap (if any); whitespace is split anyway
            if (norm := spec["normalizer"]) and norm["type"] == "Sequence":
                spec["normalizer"] = next((n for n in norm["normalizers"] if n["type"] == "Precompiled"), None)
            spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {
                "type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
            self.rust = _Rust.from_str(json.dumps(spec))
        except Exception as e:  # bad JSON, not an XLM-R (sentencepiece) tokenizer, or a Rust-side parse error
            raise UserError(f"{path}: not an XLM-R tokenizer ({type(e).__name__}: {e}).") from None
        self.rust.no_padding()
        specials = ("<pad>", "<s>", "</s>", "<mask>")
        self.pad_id, self.cls_id, self.sep_id, self.mask_id = ids = [self.rust.token_to_id(t) for t in specials]
        if None in ids:
            raise UserError(f"{path}: has no {specials[ids.index(None)]} token; not an XLM-R tokenizer.")
        self.vocab_size = self.rust.get_vocab_size()
        try:  # the checkpoint's own config.json: every id made here must have a row in its embedding
            limit = json.loads(path.with_name("config.json").read_text(encoding="utf-8"))["vocab_size"]
        except Exception:  # none, or unreadable (load_model says why): nothing to check against
            limit = None
        if type(limit) is int and self.vocab_size > limit:
            raise UserError(f"{path}: {self.vocab_size} tokens, but its config.json has vocab_size={limit}; "
                            "use the checkpoint's own tokenizer.")
        self._max_len = None

    def __call__(self, a, b=None, max_len=512, words=False):
        """a, b: lists of strings (or of word lists with words=True); b pairs with a. Truncation keeps
        max_len tokens including specials, cutting the longer side first (transformers' longest_first).
        Long inputs are cut first (`cut`): the same result, and memory bounded by what is kept."""
        a, b = self.cut(list(a), None if b is None else list(b), max_len, words)
        if max_len != self._max_len:  # the Rust tokenizer holds the setting; change it only when needed
            self.rust.enable_truncation(max_len, strategy="longest_first")
            self._max_len = max_len
        return self.rust.encode_batch(a if b is None else list(zip(a, b)), is_pretokenized=words)

    def cut(self, a, b, max_len, words=False):
        """Each text cut to the whole words holding its first max_len tokens (word lists: to max_len words),
        the longer side of a pair kept the longer: tokenizers keeps every overflow window (~2 KB a token, and
        a pair's windows multiply). Whole words tokenize alike, so no result changes, except for a word longer
        than max_len tokens (segmented as cut) and for a pair whose sides both pass n characters (which side
        is longer, which can move one token, is then judged on their first n)."""
        n = max(max_len, 128) * CHARS_PER_TOKEN  # no real text needs as many characters for max_len tokens
        if words:  # a word is a token at least
            def keep(ws):  # the words that start within the first n characters, the last one cut at n
                return [w[:n - e + len(w)] for w, e in zip(ws, accumulate(map(len, ws))) if e - len(w) < n]
            return [keep(ws[:max_len]) for ws in a], b and [keep(ws[:max_len]) for ws in b]

        def upto(text, e, k):  # text to the whole words holding the first k tokens of its encoding e
            w, j = e.word_ids, k - 1
            while j + 1 < min(len(w), k + max_len) and w[j + 1] == w[j]:
                j += 1  # the rest of that word, unless it runs on past max_len more tokens
            return (text, len(w)) if k >= len(w) else (text[:e.offsets[j][1]], j + 1)

        sides = [a] if b is None else [a, b]
        rows = [i for i in range(len(a)) if any(len(s[i]) > 4 * max_len for s in sides)]
        self.rust.no_truncation()  # count the tokens of the first n characters, 64 rows at a time: no overflow
        self._max_len = None  # __call__ sets truncation again, also after an error here
        for r in range(0, len(rows), 64):
            encs = [self.rust.encode_batch([s[i][:n] for i in rows[r:r + 64]], add_special_tokens=False)
                    for s in sides]
            for i, es in zip(rows[r:r + 64], zip(*encs)):
                first = int(len(es) == 2 and len(es[0]) > len(es[1]))  # cut first the side that is not longer
                sides[first][i], k = upto(sides[first][i], es[first], max_len)
                if len(es) == 2:  # the other keeps more tokens (or as many): longest_first's choice is unchanged
                    sides[1 - first][i] = upto(sides[1 - first][i], es[1 - first], max(max_len, k + first))[0]
        return [t[:n] for t in a], b and [t[:n] for t in b]

    def pad(self, encodings, device="cpu"):
        """Right-pad a list of Encodings: input_ids (B, T) int64 and attention_mask (B, T) int64."""
        T = max(len(e.ids) for e in encodings)
        ids = torch.full((len(encodings), T), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encodings), T), dtype=torch.long)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        return ids.to(device), mask.to(device)
