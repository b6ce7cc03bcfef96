"""xkernels/attention.py: the fast routes against the plain-math reference, and the unpadded encoder
against the padded one on batches of very different lengths (fp32, 1e-5). CUDA cases skip without a GPU."""
import pytest
import torch
from conftest import hf_checkpoint

from xkernels import attention as attn
from model.load import load_model

LENGTHS = [1, 7, 300, 33, 2, 129]


def packed_case(lengths, h=4, d=16, device="cpu", dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    qkv = torch.randn(sum(lengths), 3, h, d, generator=g).to(device, dtype).requires_grad_()
    cu = torch.tensor([0] + lengths, device=device).cumsum(0).int()
    return qkv, cu


def reference_per_sequence(qkv, cu):
    """Each sequence alone through the reference (no padding anywhere): the meaning of varlen."""
    outs = []
    for s, e in zip(cu[:-1].tolist(), cu[1:].tolist()):
        q, k, v = qkv[s:e].permute(1, 2, 0, 3)  # (h, L, d) each
        mask = torch.ones(1, e - s, dtype=torch.bool, device=qkv.device)
        outs.append(attn.reference(q[None], k[None], v[None], mask)[0].transpose(0, 1))  # (L, h, d)
    return torch.cat(outs)


def test_sdpa_equals_reference_with_padding_mask():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 3, 4, 50, 16).unbind(0)
    mask = torch.arange(50)[None] < torch.tensor([50, 9, 1])[:, None]
    a, b = attn.sdpa(q, k, v, mask), attn.reference(q, k, v, mask)
    for i, n in enumerate([50, 9, 1]):  # only real query rows are defined
        assert (a[i, :, :n] - b[i, :, :n]).abs().max() <= 1e-5


def test_portable_varlen_equals_per_sequence_reference_with_gradients(monkeypatch):
    monkeypatch.setattr(attn, "VARLEN", False)
    qkv, cu = packed_case(LENGTHS)
    out = attn.varlen(qkv, cu, max(LENGTHS))
    ref = reference_per_sequence(qkv, cu)
    assert out.shape == (sum(LENGTHS), 4, 16)
    assert (out - ref).abs().max() <= 1e-5
    w = torch.randn_like(out)
    g1, = torch.autograd.grad((out * w).sum(), qkv)
    g2, = torch.autograd.grad((ref * w).sum(), qkv)
    assert (g1 - g2).abs().max() <= 1e-5


def test_unpadded_encoder_equals_padded_encoder(tmp_path):
    """Whole model, lengths 1..300 in one batch: hidden states and every gradient, fp32."""
    hf_checkpoint(tmp_path)
    m = load_model(tmp_path).eval()
    torch.manual_seed(1)
    ids = torch.randint(5, 250000, (len(LENGTHS), max(LENGTHS)))
    mask = torch.arange(max(LENGTHS))[None] < torch.tensor(LENGTHS)[:, None]
    ids = ids.masked_fill(~mask, 1)
    results = {}
    for route in ("sdpa", "unpadded"):
        m.attention = route
        m.zero_grad(set_to_none=True)
        hs = m(ids, mask.long(), all_hidden=True)
        (sum(h.sum(-1) for h in hs) * mask).sum().backward()
        results[route] = [h * mask[..., None] for h in hs], {n: p.grad.clone() for n, p in m.named_parameters()
                                                            if p.grad is not None}
    (hp, gp), (hu, gu) = results["sdpa"], results["unpadded"]
    assert max((a - b).abs().max().item() for a, b in zip(hp, hu)) <= 1e-5
    assert torch.count_nonzero(hu[-1][~mask]) == 0  # the unpadded route leaves pad rows at zero
    assert set(gp) == set(gu)
    for n in gp:
        assert (gp[n] - gu[n]).abs().max() <= 1e-5 * max(1.0, gp[n].abs().max().item()), n


def test_left_padding_takes_the_same_route(tiny_dir):
    m = load_model(tiny_dir).eval()
    ids = torch.tensor([[1, 1, 0, 5, 6, 2], [0, 7, 8, 9, 10, 2]])
    mask = ids.ne(1).long()
    with torch.no_grad():
        m.attention = "sdpa"
        a = m(ids, mask)
        m.attention = "unpadded"
        b = m(ids, mask)
    assert ((a - b) * mask[..., None]).abs().max() <= 1e-5


def test_attention_dropout_is_applied_on_every_route(tiny_dir, pair_batch):
    """Hidden dropout off, attention-probability dropout on: outputs must still vary with the seed."""
    m = load_model(tiny_dir).train()
    for module in m.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    ids, mask = pair_batch
    for attn_p, varies in ((0.0, False), (0.3, True)):
        m.config.attention_probs_dropout_prob = attn_p
        for route in ("reference", "sdpa", "unpadded"):
            m.attention = route
            outs = []
            for seed in (0, 1):
                torch.manual_seed(seed)
                outs.append(m(ids, mask) * mask[..., None])
            assert torch.isfinite(outs[0]).all()
            assert (not torch.allclose(*outs)) == varies, (route, attn_p)


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


flash = pytest.mark.skipif(not attn.VARLEN, reason="needs CUDA sm80+ and FlashAttention's varlen ops")


@flash
def test_cuda_varlen_kernel_matches_reference():
    for dtype, tol in ((torch.bfloat16, 2e-2), (torch.float16, 5e-3)):
        qkv, cu = packed_case(LENGTHS, h=12, d=64, device="cuda", dtype=dtype)
        out = attn.varlen(qkv, cu, max(LENGTHS))
        ref = reference_per_sequence(qkv.float(), cu)
        assert ((out.float() - ref).norm() / ref.norm()).item() <= tol, dtype
        w = torch.randn_like(ref)  # a random weighting, so dq and dk matter as much as dv
        g1, = torch.autograd.grad((out.float() * w).sum(), qkv)
        g2, = torch.autograd.grad((ref * w).sum(), qkv)
        for i, name in enumerate("qkv"):  # each of dq, dk, dv on its own
            a, b = g1[:, i].float(), g2[:, i].float()
            assert ((a - b).norm() / b.norm()).item() <= tol * 2, (dtype, name)


@flash
def test_flash_varlen_with_dropout_zero_equals_torch_varlen_attn_and_with_dropout_the_reference_statistics():
    from torch.nn.attention.varlen import varlen_attn
    qkv, cu = packed_case(LENGTHS, h=12, d=64, device="cuda", dtype=torch.bfloat16)
    q, k, v = (t.contiguous() for t in qkv.unbind(1))
    torch.testing.assert_close(attn.FlashVarlen.apply(q, k, v, cu, max(LENGTHS), 0.0),
                               varlen_attn(q, k, v, cu, cu, max(LENGTHS), max(LENGTHS)))
    ref = reference_per_sequence(qkv.float(), cu)  # dropout off
    draws = [attn.FlashVarlen.apply(q, k, v, cu, max(LENGTHS), 0.1).float() for _ in range(400)]
    mean, var = torch.stack(draws).mean(0), torch.stack(draws).var(0)
    assert ((mean - ref).norm() / ref.norm()).item() <= 0.02  # inverted dropout: the expectation is unchanged
    padded = [attn._varlen_via_padding(qkv, cu, max(LENGTHS), 0.1, None).float() for _ in range(400)]
    ref_var = torch.stack(padded).var(0)  # the portable route (SDPA's dropout): the spread to match
    assert abs(var.mean().item() / ref_var.mean().item() - 1) <= 0.1
    # the backward replays the forward's mask: with v one-hot over positions, the output rows ARE the dropped
    # attention matrix A; dv must then be Aᵀ w for the same seed
    lengths = [5, 40, 17]
    _, cu2 = packed_case(lengths, device="cuda")
    n, h = sum(lengths), 2
    q2, k2 = (torch.randn(n, h, 64, device="cuda", dtype=torch.bfloat16) for _ in range(2))
    v2 = torch.zeros(n, h, 64, device="cuda", dtype=torch.bfloat16)
    for s0, e0 in zip(cu2[:-1].tolist(), cu2[1:].tolist()):
        v2[torch.arange(s0, e0), :, torch.arange(e0 - s0)] = 1  # token j of its sequence → unit vector j
    v2.requires_grad_()
    w = torch.randn(n, h, 64, device="cuda")
    torch.manual_seed(7)
    out = attn.FlashVarlen.apply(q2, k2, v2, cu2, max(lengths), 0.3)
    dv, = torch.autograd.grad((out.float() * w).sum(), v2)
    for s0, e0 in zip(cu2[:-1].tolist(), cu2[1:].tolist()):
        A = out[s0:e0, :, : e0 - s0].float()  # (L, h, L): row i = what query i took from each key, mask applied
        want = torch.einsum("ihj,ihd->jhd", A, w[s0:e0])
        assert ((dv[s0:e0].float() - want).norm() / want.norm()).item() <= 2e-2


@cuda
def test_cuda_unpadded_equals_padded_bf16(tiny_dir, pair_batch):
    from model.xlmr import autocast
    m = load_model(tiny_dir, device="cuda").eval()
    ids, mask = (t.cuda() for t in pair_batch)
    with torch.no_grad(), autocast("cuda", "bf16"):
        m.attention = "sdpa"
        a = m(ids, mask)
        m.attention = "unpadded"
        b = m(ids, mask)
    real = mask.bool()
    assert ((a[real] - b[real]).norm() / a[real].norm()).item() <= 1e-2
