"""XLM-R tokenization: the `tokenizers` library on the checkpoint's tokenizer.json, as transformers' fast
XLM-R tokenizer does it — `<s> A </s>` and `<s> A </s></s> B </s>`, longest-first truncation — with
character offsets (QA) and word ids (tagging) on every Encoding. Parity: tests/test_tokenizer.py.
The vocabulary and charsmap come from tokenizer.json; the pre-tokenizer is the one transformers >= 5
builds for XLM-R (split on whitespace, then Metaspace), so a token's offsets never include the space
before it — what QA needs to map token spans back to answer text. Ids are those of the file's own pipeline.

  tok = Tokenizer("path/to/checkpoint")          # folder holding tokenizer.json, or the file itself
  encs = tok(["a sentence"], ["its pair"], max_len=128)   # list of tokenizers.Encoding (parallel batch)
  ids, mask = tok.pad(encs)                       # (B, T) int64 tensors, right-padded
"""
import json
from pathlib import Path

import torch
from tokenizers import Tokenizer as _Rust

from model import UserError


class Tokenizer:
    def __init__(self, path):
        path = Path(path)
        path = path / "tokenizer.json" if path.is_dir() else path
        if not path.exists():
            raise UserError(f"{path}: no tokenizer.json; a checkpoint folder needs the HF fast-tokenizer file.")
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            norm = spec["normalizer"]
            if norm and norm["type"] == "Sequence":  # keep the sentencepiece charsmap; whitespace is split anyway
                norm = next(n for n in norm["normalizers"] if n["type"] == "Precompiled")
            spec["normalizer"] = norm
            spec["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, {
                "type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}]}
            self.rust = _Rust.from_str(json.dumps(spec))
        except Exception as e:  # bad JSON, not an XLM-R (sentencepiece) tokenizer, or a Rust-side parse error
            raise UserError(f"{path}: not an XLM-R tokenizer.json ({type(e).__name__}: {e}).") from None
        self.rust.no_padding()
        self.pad_id, self.cls_id, self.sep_id, self.mask_id = (
            self.rust.token_to_id(t) for t in ("<pad>", "<s>", "</s>", "<mask>"))
        self.vocab_size = self.rust.get_vocab_size()
        self._max_len = None

    def __call__(self, a, b=None, max_len=512, words=False):
        """a, b: lists of strings (or of word lists with words=True); b pairs with a. Truncation keeps
        max_len tokens including specials, cutting the longer side first (transformers' longest_first)."""
        if max_len != self._max_len:  # the Rust tokenizer holds the setting; change it only when needed
            self.rust.enable_truncation(max_len, strategy="longest_first")
            self._max_len = max_len
        inputs = list(a) if b is None else list(zip(a, b))
        return self.rust.encode_batch(inputs, is_pretokenized=words)

    def pad(self, encodings, device="cpu"):
        """Right-pad a list of Encodings: input_ids (B, T) int64 and attention_mask (B, T) int64."""
        T = max(len(e.ids) for e in encodings)
        ids = torch.full((len(encodings), T), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(encodings), T), dtype=torch.long)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = torch.tensor(e.ids)
            mask[i, : len(e.ids)] = 1
        return ids.to(device), mask.to(device)
