"""XLM-R, written by hand: config → embeddings → post-LN transformer blocks → masked-LM head.

Numerics follow Hugging Face `modeling_xlm_roberta.py` (parity: tests/test_xlmr.py); weights come from
model/load.py, which also fuses query/key/value into one Linear. Two layouts run the same weights:
  padded    x (B, T, H) with a key mask — attention via xkernels.attention.padded (sdpa or reference);
  unpadded  x (N, H), the N real tokens of the batch packed by xkernels.attention.pack, cu (B+1,) offsets —
            no Linear, LayerNorm or GELU work is spent on padding; attention via xkernels.attention.varlen.
`model.attention` picks the route ("unpadded" by default; "sdpa" and "reference" for tests and benches).
Mixed precision: run under torch.autocast (see `autocast` below); LayerNorm, softmax and the residual
stream stay fp32 whatever the autocast dtype.
"""
import contextlib
from dataclasses import dataclass, fields
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from xkernels import attention as attn
from util import UserError

KERNELS = {"sdpa": attn.sdpa, "reference": attn.reference}  # the padded routes of `XLMR.attention`


@dataclass
class XLMRConfig:  # read from the checkpoint's config.json: the 7 sizes first; only dropout has a default
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int
    type_vocab_size: int
    layer_norm_eps: float
    pad_token_id: int
    hidden_dropout_prob: float = 0.1  # XLM-R's value, and transformers' default when a config omits it
    attention_probs_dropout_prob: float = 0.1

    @classmethod
    def from_dict(cls, d):  # the fields of a config.json dict; model/load.py:read_config checks every value first
        return cls(**{f.name: f.type(d[f.name]) for f in fields(cls) if f.name in d})


def layer_norm(x, ln):
    """LayerNorm in fp32 (also under autocast); the output, and so the residual stream, stays fp32."""
    return F.layer_norm(x.float(), ln.normalized_shape, ln.weight.float(), ln.bias.float(), ln.eps)


class Block(nn.Module):
    """Post-LN transformer layer: x = LN(x + Attn(x)); x = LN(x + FFN(x))."""

    def __init__(self, c: XLMRConfig):
        super().__init__()
        H, I = c.hidden_size, c.intermediate_size
        self.n_head = c.num_attention_heads
        self.qkv = nn.Linear(H, 3 * H)  # HF query, key, value fused (model/load.py)
        self.proj = nn.Linear(H, H)  # HF attention.output.dense
        self.ln1 = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.up = nn.Linear(H, I)  # HF intermediate.dense
        self.down = nn.Linear(I, H)  # HF output.dense
        self.ln2 = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.drop = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, attend):  # x (..., H); attend maps qkv (..., 3, n_head, d) -> (..., n_head, d)
        a = attend(self.qkv(x).unflatten(-1, (3, self.n_head, -1))).flatten(-2)  # (..., H)
        x = layer_norm(x + self.drop(self.proj(a)), self.ln1)
        return layer_norm(x + self.drop(self.down(F.gelu(self.up(x)))), self.ln2)  # exact (erf) GELU


class MLMHead(nn.Module):
    """dense → GELU → LayerNorm → decoder tied to the word embeddings, plus its own bias."""

    def __init__(self, c: XLMRConfig):
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.ln = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))

    def forward(self, h, wte):  # h (..., H) -> logits (..., V)
        return F.linear(layer_norm(F.gelu(self.dense(h)), self.ln), wte.weight, self.bias)


class XLMR(nn.Module):
    def __init__(self, c: XLMRConfig, mlm_head=True):
        super().__init__()
        self.config = c
        H = c.hidden_size
        self.wte = nn.Embedding(c.vocab_size, H)
        self.wpe = nn.Embedding(c.max_position_embeddings, H)
        self.wtt = nn.Embedding(c.type_vocab_size, H)  # XLM-R has one token type; row 0 is always added
        self.ln_emb = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.num_hidden_layers))
        self.lm_head = MLMHead(c) if mlm_head else None
        self.drop = nn.Dropout(c.hidden_dropout_prob)
        self.attention = "unpadded"  # or "sdpa" / "reference" (padded layouts)
        self.checkpoint = False  # True: keep no layer's activations, recompute them in backward (--grad-checkpoint)
        self.source, self.raw_config = None, {}  # checkpoint folder and its config.json (set by load_model)

    def forward(self, input_ids, attention_mask=None, layer=None, all_hidden=False):
        """input_ids (B, T); attention_mask (B, T), 1 = token (default: input_ids != pad).
        Returns hidden_states[layer] (B, T, H) (default: the last; 0 = embedding output), or with
        all_hidden the list hidden_states[0..layer]. Only `layer` blocks run. Padding rows are zero
        on the unpadded route and unspecified on the padded ones."""
        c = self.config
        L = c.num_hidden_layers if layer is None else layer
        if not 0 <= L <= c.num_hidden_layers:
            raise UserError(f"layer {layer} does not exist: this model has hidden states 0..{c.num_hidden_layers}.")
        mask = input_ids.ne(c.pad_token_id) if attention_mask is None else attention_mask.bool()  # (B, T)
        real = input_ids.ne(c.pad_token_id).int()
        pos = real.cumsum(1) * real + c.pad_token_id  # (B, T) HF's rule: positions start at pad+1
        p = c.attention_probs_dropout_prob if self.training else 0.0
        route = "sdpa" if self.attention == "unpadded" and torch.compiler.is_compiling() else self.attention
        if route == "unpadded":  # (torch.compile takes the padded route: the unpadded one has data-dependent sizes)
            idx, cu, max_len, slot = attn.pack(mask)
            input_ids, pos = input_ids.flatten()[idx], pos.flatten()[idx]  # (N,)
            attend = partial(attn.varlen, cu=cu, max_len=max_len, dropout_p=p, slot=slot)
        else:
            attend = partial(attn.padded, mask=mask, dropout_p=p, kernel=KERNELS[route])
        x = self.wte(input_ids) + self.wtt.weight[0] + self.wpe(pos)  # (N, H) or (B, T, H)
        x = self.drop(layer_norm(x, self.ln_emb))
        hidden = [x]
        recompute = self.checkpoint and self.training and torch.is_grad_enabled()  # memory for ~1/3 more time
        for block in self.blocks[:L]:  # checkpoint restores the RNG state: the recomputed dropout is the same
            x = checkpoint(block, x, attend, use_reentrant=False) if recompute else block(x, attend)
            hidden.append(x)
        if route == "unpadded":  # back to (B, T, H): only the states returned
            hidden = [attn.unpack(h, idx, mask.shape) for h in (hidden if all_hidden else hidden[-1:])]
        return hidden if all_hidden else hidden[-1]

    def mlm_logits(self, h):  # h (..., H) -> (..., V); pass only the masked rows to save the vocab matmul
        if self.lm_head is None:
            raise UserError("this checkpoint has no masked-LM head (lm_head.*); start from one that does.")
        return self.lm_head(h, self.wte)


def autocast(device_type, dtype):
    """Mixed precision: dtype "fp32" | "bf16" (CPU, CUDA) | "fp16" (CUDA; pair it with torch.amp.GradScaler)."""
    if dtype == "fp32":
        return contextlib.nullcontext()
    if dtype == "fp16" and device_type != "cuda":
        raise UserError("--dtype fp16 needs a CUDA GPU; use bf16 on CPU.")
    return torch.autocast(device_type, dtype={"bf16": torch.bfloat16, "fp16": torch.float16}[dtype])
