"""Bidirectional multi-head attention for XLM-R: one reference in plain math, and the fast routes.

  reference(q, k, v, mask)          padded (B, h, T, d) — softmax(q kᵀ / √d) v in fp32, the spec
  sdpa(q, k, v, mask)               padded — F.scaled_dot_product_attention (flash / mem-efficient / CPU flash)
  padded(qkv, mask)                 the encoder's padded layout (B, T, 3, h, d) -> (B, T, h, d), via sdpa or reference
  varlen(qkv, cu, max_len)          unpadded (N, 3, h, d), tokens of sequence b at rows cu[b]:cu[b+1] —
                                    FlashAttention's varlen kernel on CUDA (fp16/bf16, sm80+), otherwise scatter
                                    into (B, h, max_len, d), sdpa with a key mask, gather back.
  pack(mask), unpack(x, idx, shape) a padded batch's real tokens to varlen's layout, once per forward, and back.
torch.nn.attention.varlen.varlen_attn wraps aten's _flash_attention_forward/_backward with dropout fixed at 0;
XLM-R trains with attention dropout 0.1, so `FlashVarlen` calls the same two ops with dropout_p (the kernel
draws its Philox mask in the forward and replays it from rng_state in the backward): training stays unpadded
and never meets cuDNN's per-length plans. The route is chosen once, at import (VARLEN), after a one-batch probe
of both ops; tests set it to False to force the portable route.
Parity: tests/test_attention.py. Speed: bench/bench.py.
"""
import math

import torch
import torch.nn.functional as F


class FlashVarlen(torch.autograd.Function):
    """FlashAttention over packed sequences, with dropout: q, k, v (N, h, d) fp16/bf16 on CUDA."""

    @staticmethod
    def forward(ctx, q, k, v, cu, max_len, p):
        out, lse, rng, unused, _ = torch.ops.aten._flash_attention_forward(q, k, v, cu, cu, max_len, max_len, p,
                                                                          False, False)
        ctx.save_for_backward(q, k, v, out, lse, cu, rng, unused)
        ctx.max_len, ctx.p = max_len, p
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, out, lse, cu, rng, unused = ctx.saved_tensors
        dq, dk, dv = torch.ops.aten._flash_attention_backward(grad.contiguous(), q, k, v, out, lse, cu, cu, ctx.max_len,
                                                              ctx.max_len, ctx.p, False, rng, unused)
        return dq, dk, dv, None, None, None


def _cuda_varlen():
    """True when FlashAttention's varlen ops run here (CUDA sm80+): probed once on a tiny batch, forward and
    backward with dropout, so a torch whose op signatures differ takes the portable route, never a crash."""
    if not torch.cuda.is_available() or torch.cuda.get_device_capability() < (8, 0):  # FlashAttention: sm80+
        return False
    try:
        q = torch.randn(6, 2, 64, device="cuda", dtype=torch.bfloat16, requires_grad=True)
        FlashVarlen.apply(q, q, q, torch.tensor([0, 2, 6], device="cuda", dtype=torch.int32), 4, 0.1).sum().backward()
        return True
    except (RuntimeError, TypeError, AttributeError):
        return False


VARLEN = _cuda_varlen()


def reference(q, k, v, mask, dropout_p=0.0):
    """q, k, v (B, h, T, d); mask (B, T) bool, True = real token. Scores and softmax in fp32."""
    with torch.autocast(q.device.type, enabled=False):
        s = q.float() @ k.float().transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, h, T, T)
        s = s.masked_fill(~mask[:, None, None, :], float("-inf"))
        p = F.dropout(s.softmax(-1), dropout_p) if dropout_p else s.softmax(-1)
        return (p @ v.float()).to(v.dtype)  # (B, h, T, d)


def sdpa(q, k, v, mask, dropout_p=0.0):
    """Same contract as reference; the fused kernel keeps softmax in fp32 internally."""
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :], dropout_p=dropout_p)


def padded(qkv, mask, dropout_p=0.0, kernel=sdpa):
    """qkv (B, T, 3, h, d); mask (B, T) bool; kernel: sdpa or reference. Returns (B, T, h, d)."""
    q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (B, h, T, d)
    return kernel(q, k, v, mask, dropout_p).transpose(1, 2)


def pack(mask):
    """mask (B, T) bool, True = real token -> idx (N,) rows of the real tokens in the flattened batch, cu (B+1,)
    int32 offsets, max_len, and slot (N,) each token's row in a (B * max_len) grid, for varlen's portable route."""
    idx = mask.flatten().nonzero().squeeze(1)  # (N,)
    lens = mask.sum(1, dtype=torch.int32)  # (B,)
    cu = F.pad(lens.cumsum(0, dtype=torch.int32), (1, 0))  # (B+1,)
    max_len = int(lens.max())  # a host sync on CUDA, once per forward: the kernel takes an int
    rank = mask.cumsum(1) - 1  # (B, T) index of each real token within its sequence
    slot = (torch.arange(mask.size(0), device=mask.device)[:, None] * max_len + rank).flatten()[idx]  # (N,)
    return idx, cu, max_len, slot


def unpack(x, idx, shape):  # x (N, H) packed rows -> (*shape, H) = (B, T, H), padding rows zero
    return x.new_zeros(shape.numel(), x.size(-1)).index_copy(0, idx, x).view(*shape, -1)


def varlen(qkv, cu, max_len, dropout_p=0.0, slot=None):
    """qkv (N, 3, h, d) packed real tokens; cu (B+1,) int32 offsets; returns (N, h, d).
    slot (N,): row of each token in a (B * max_len) grid, for the portable route — derived from cu when
    not given; the encoder passes pack's, so it is computed once per forward, not once per layer."""
    # FlashAttention: CUDA, fp16/bf16 only (fp32 takes the portable route); dropout included.
    if VARLEN and qkv.is_cuda and qkv.dtype in (torch.float16, torch.bfloat16):
        q, k, v = (t.contiguous() for t in qkv.unbind(1))  # each (N, h, d)
        return FlashVarlen.apply(q, k, v, cu, max_len, dropout_p)
    return _varlen_via_padding(qkv, cu, max_len, dropout_p, slot)


def _varlen_via_padding(qkv, cu, max_len, dropout_p, slot):
    # Portable route: only attention sees padding; every Linear/LayerNorm/GELU stays on N rows.
    B, h, d = cu.numel() - 1, qkv.size(2), qkv.size(3)
    mask = torch.arange(max_len, device=qkv.device)[None, :] < (cu[1:] - cu[:-1])[:, None]  # (B, L)
    slot = mask.flatten().nonzero().squeeze(1) if slot is None else slot  # (N,) row of each token in (B*L)
    grid = qkv.new_zeros(B * max_len, 3, h, d).index_copy_(0, slot, qkv)  # in place: one pass, not two
    out = padded(grid.view(B, max_len, 3, h, d), mask, dropout_p)  # (B, L, h, d)
    return out.reshape(B * max_len, h, d).index_select(0, slot)  # (N, h, d)
