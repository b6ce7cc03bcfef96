"""XLM-R, written by hand: config → embeddings → post-LN transformer blocks → masked-LM head.

Numerics follow Hugging Face `modeling_xlm_roberta.py` (parity: tests/test_xlmr.py); weights come from
model/load.py, which also fuses query/key/value into one Linear. Two layouts run the same weights:
  padded    x (B, T, H) with a key mask — attention via xkernels.attention.sdpa (or .reference);
  unpadded  x (N, H), the N real tokens of the batch packed, cu (B+1,) offsets — no Linear, LayerNorm
            or GELU work is spent on padding; attention via xkernels.attention.varlen.
`model.attention` picks the route ("unpadded" by default; "sdpa" and "reference" for tests and benches).
Mixed precision: run under torch.autocast (see `autocast` below); LayerNorm, softmax and the residual
stream stay fp32 whatever the autocast dtype.
"""
import contextlib
import math
from dataclasses import MISSING, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from xkernels import attention as attn
from util import UserError


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
    def from_dict(cls, d, source="config.json"):  # every value checked before anything is allocated
        if not isinstance(d, dict):
            raise UserError(f"{source}: holds a JSON {type(d).__name__}, not an object; is this an XLM-R config.json?")
        for key, want in (("hidden_act", "gelu"), ("position_embedding_type", "absolute")):
            if d.get(key, want) != want:
                raise UserError(f"{source}: {key}={d[key]!r} is not XLM-R's {want!r}; xstilts only runs XLM-R.")
        if missing := [f.name for f in fields(cls) if f.name not in d and f.default is MISSING]:
            raise UserError(f"{source}: missing key(s) {', '.join(missing)}; is this an XLM-R config.json?")
        num, h = lambda x: type(x) in (int, float), d["hidden_size"]
        for key, need, ok in (  # in order: a rule may lean on keys checked before it
                *((f.name, "a positive integer", lambda x: type(x) is int and x > 0) for f in fields(cls)[:7]),
                ("pad_token_id", "a token id below vocab_size", lambda x: type(x) is int and 0 <= x < d["vocab_size"]),
                ("num_attention_heads", f"a divisor of hidden_size={h}", lambda x: h % x == 0),
                ("max_position_embeddings", "above pad_token_id + 1", lambda x: x > d["pad_token_id"] + 1),
                ("layer_norm_eps", "a finite number > 0", lambda x: num(x) and 0 < x < math.inf),
                *((f.name, "in [0, 1)", lambda x: num(x) and 0 <= x < 1) for f in fields(cls)[9:])):  # dropouts
            if key in d and not ok(d[key]):
                raise UserError(f"{source}: {key}={d[key]!r}, but it must be {need}; fix config.json.")
        c = cls(**{f.name: f.type(d[f.name]) for f in fields(cls) if f.name in d})
        n = c.hidden_size * (c.vocab_size + c.max_position_embeddings + c.type_vocab_size +
                             c.num_hidden_layers * (4 * c.hidden_size + 2 * c.intermediate_size))  # weights
        if n > 5e9:  # 20 GB in fp32, when XLM-R large has 0.56e9 weights: a config past it is a typo
            raise UserError(f"{source}: " + ", ".join(f"{f.name}={getattr(c, f.name)}" for f in fields(cls)[:7])
                            + f" make {n:.1e} weights ({4 * n / 1e9:,.0f} GB in fp32); fix config.json.")
        return c


def layer_norm(x, ln):
    """LayerNorm in fp32 (also under autocast); the output, and so the residual stream, stays fp32."""
    return F.layer_norm(x.float(), ln.normalized_shape, ln.weight.float(), ln.bias.float(), ln.eps)


class Block(nn.Module):
    """Post-LN transformer layer: x = LN(x + Attn(x)); x = LN(x + FFN(x))."""

    def __init__(self, c: XLMRConfig):
        super().__init__()
        H, I = c.hidden_size, c.intermediate_size
        self.qkv = nn.Linear(H, 3 * H)  # HF query, key, value fused (model/load.py)
        self.proj = nn.Linear(H, H)  # HF attention.output.dense
        self.ln1 = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.up = nn.Linear(H, I)  # HF intermediate.dense
        self.down = nn.Linear(I, H)  # HF output.dense
        self.ln2 = nn.LayerNorm(H, eps=c.layer_norm_eps)
        self.drop = nn.Dropout(c.hidden_dropout_prob)

    def forward(self, x, attend):  # x (..., H); attend maps qkv (..., 3H) -> (..., H)
        x = layer_norm(x + self.drop(self.proj(attend(self.qkv(x)))), self.ln1)
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
        B, T = input_ids.shape
        mask = input_ids.ne(c.pad_token_id) if attention_mask is None else attention_mask.bool()
        real = input_ids.ne(c.pad_token_id).int()
        pos = real.cumsum(1) * real + c.pad_token_id  # (B, T) HF's rule: positions start at pad+1
        h, n_head = c.hidden_size, c.num_attention_heads
        p = c.attention_probs_dropout_prob if self.training else 0.0
        route = "sdpa" if self.attention == "unpadded" and torch.compiler.is_compiling() else self.attention
        if route == "unpadded":  # (torch.compile takes the padded route: the unpadded one has data-dependent sizes)
            idx = mask.flatten().nonzero().squeeze(1)  # (N,) rows of the real tokens
            lens = mask.sum(1, dtype=torch.int32)  # (B,)
            cu = F.pad(lens.cumsum(0, dtype=torch.int32), (1, 0))  # (B+1,)
            max_len = int(lens.max())  # a host sync on CUDA, once per forward: the kernel takes an int
            rank = mask.cumsum(1) - 1  # (B, T) index of each real token within its sequence
            slot = (torch.arange(B, device=mask.device)[:, None] * max_len + rank).flatten()[idx]  # (N,)
            ids, pos = input_ids.flatten()[idx], pos.flatten()[idx]  # (N,)
            attend = lambda qkv: attn.varlen(qkv.view(-1, 3, n_head, h // n_head), cu, max_len, p, slot).flatten(1)
            unpack = lambda x: x.new_zeros(B * T, h).index_copy(0, idx, x).view(B, T, h)
        else:
            kernel = {"sdpa": attn.sdpa, "reference": attn.reference}[route]
            ids = input_ids

            def attend(qkv):  # (B, T, 3H) -> (B, T, H)
                q, k, v = qkv.view(B, T, 3, n_head, h // n_head).permute(2, 0, 3, 1, 4)  # (B, nh, T, d)
                return kernel(q, k, v, mask, p).transpose(1, 2).reshape(B, T, h)

            unpack = lambda x: x
        x = self.wte(ids) + self.wtt.weight[0] + self.wpe(pos)  # (N, H) or (B, T, H)
        x = self.drop(layer_norm(x, self.ln_emb))
        hidden = [x]
        recompute = self.checkpoint and self.training and torch.is_grad_enabled()  # memory for ~1/3 more time
        for block in self.blocks[:L]:  # checkpoint restores the RNG state: the recomputed dropout is the same
            x = checkpoint(block, x, attend, use_reentrant=False) if recompute else block(x, attend)
            hidden.append(x)
        return [unpack(x) for x in hidden] if all_hidden else unpack(x)

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
