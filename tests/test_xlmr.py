"""model/xlmr.py against transformers' XLMRobertaModel / XLMRobertaForMaskedLM on the same weights.

Real padded batches of sentence pairs and singles; every hidden state, the MLM logits, every parameter's
gradient; fp32 on every attention route, bf16 autocast; the tiny and the real base architecture.
"""
import pytest
import torch
import torch.nn.functional as F
from conftest import BASE, TINY, hf_checkpoint

from model.load import load_model
from model.xlmr import autocast

ROUTES = ("reference", "sdpa", "unpadded")


def masked_max_abs(a, b, mask):  # over real tokens only: pad rows are unspecified in HF too
    return ((a - b) * mask[..., None]).abs().max().item()


def rel_err(a, b, mask):
    m = mask.bool()
    return ((a[m].float() - b[m].float()).norm() / b[m].float().norm()).item()


def loss_of(hidden, logits, ids, mask):
    """A loss that touches every output: MLM cross-entropy on real tokens + a projection of the states."""
    w = torch.linspace(-1, 1, hidden.size(-1), device=hidden.device)
    ce = F.cross_entropy(logits[mask.bool()], ids[mask.bool()])
    return ce + ((hidden * w).sum(-1) * mask).sum() / mask.sum()


def grads_by_hf_name(model):
    from model.load import name_map
    g = dict((n, p.grad) for n, p in model.named_parameters())
    out = {}
    for ours, hf in name_map(model.config, True).items():
        names = (hf,) if isinstance(hf, str) else hf
        for n, chunk in zip(names, g[ours].chunk(len(names))):
            out[n if n.startswith("lm_head") else "roberta." + n] = chunk
    return out


@pytest.fixture(scope="module", params=["tiny", pytest.param("base", marks=pytest.mark.slow)])
def pair(request, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    hf = hf_checkpoint(d, TINY if request.param == "tiny" else BASE)
    return request.param, hf, load_model(d).eval()


@pytest.mark.parametrize("route", ROUTES)
def test_fp32_hidden_states_and_logits_match_transformers(pair, pair_batch, route):
    name, hf, ours = pair
    ids, mask = pair_batch
    ours.attention = route
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hs = ours(ids, mask, all_hidden=True)
        logits = ours.mlm_logits(hs[-1])
    assert len(hs) == len(ref.hidden_states) == ours.config.num_hidden_layers + 1
    errs = [masked_max_abs(a, b, mask) for a, b in zip(hs, ref.hidden_states)]
    print(f"\n{name}/{route}: max-abs hidden-state error {max(errs):.2e}, "
          f"logits {masked_max_abs(logits, ref.logits, mask):.2e}")
    assert max(errs) <= 1e-5, errs
    assert masked_max_abs(logits, ref.logits, mask) <= 1e-5


@pytest.mark.parametrize("route", ("sdpa", "unpadded"))
def test_gradients_of_every_parameter_match_transformers(pair, pair_batch, route):
    name, hf, ours = pair
    ids, mask = pair_batch
    ours.attention = route
    hf.zero_grad(set_to_none=True), ours.zero_grad(set_to_none=True)
    out = hf(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    loss_of(out.hidden_states[-1], out.logits, ids, mask).backward()
    h = ours(ids, mask)
    loss_of(h, ours.mlm_logits(h), ids, mask).backward()
    ref = {n: p.grad for n, p in hf.named_parameters() if p.grad is not None}
    ref["roberta.embeddings.word_embeddings.weight"] = ref.pop("lm_head.decoder.weight")  # tied: one tensor
    mine = grads_by_hf_name(ours)
    assert set(ref) == set(mine), set(ref) ^ set(mine)
    # Key biases get an exactly-zero gradient in exact arithmetic (softmax ignores a per-query shift), so
    # each error is relative to max(|that gradient|, 1e-3 x the largest gradient of the model).
    floor = 1e-3 * max(g.abs().max() for g in ref.values())
    worst = max((((mine[n] - g).abs().max() / g.abs().max().clamp_min(floor)).item(), n) for n, g in ref.items())
    print(f"\n{name}/{route}: worst relative gradient error {worst[0]:.2e} ({worst[1]})")
    assert worst[0] <= 1e-4, worst


@pytest.mark.parametrize("route", ("sdpa", "unpadded"))
def test_bf16_autocast_matches_transformers_bf16(pair, pair_batch, route):
    name, hf, ours = pair
    ids, mask = pair_batch
    ours.attention = route
    with torch.no_grad(), autocast("cpu", "bf16"):
        ref = hf(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hs = ours(ids, mask, all_hidden=True)
    errs = [rel_err(a, b, mask) for a, b in zip(hs, ref.hidden_states)]
    assert hs[-1].dtype == torch.float32  # LayerNorm output, and with it the residual stream, stays fp32
    print(f"\n{name}/{route}: bf16 worst relative error {max(errs):.2e}")
    assert max(errs) <= 1e-2, errs


@pytest.mark.parametrize("route", ROUTES)
def test_left_padding_matches_transformers(tiny_dir, route):
    """Left padding moves real tokens off position 0: only HF's rule (positions = pad + 1 + rank among
    non-pad tokens) gives the same states, so a wrong offset or a plain arange fails here."""
    from transformers import XLMRobertaModel
    hf = XLMRobertaModel.from_pretrained(tiny_dir, attn_implementation="eager").eval()
    m = load_model(tiny_dir).eval()
    m.attention = route
    ids = torch.tensor([[1, 1, 1, 0, 581, 9, 2], [0, 35378, 8999, 4, 5, 6, 2], [1, 1, 1, 1, 1, 0, 2]])
    mask = ids.ne(1).long()
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask).last_hidden_state
        assert masked_max_abs(m(ids, mask), ref, mask) <= 1e-5


def test_layer_argument_runs_only_that_many_blocks(tiny_dir, pair_batch):
    m = load_model(tiny_dir).eval()
    ids, mask = pair_batch
    with torch.no_grad():
        hs = m(ids, mask, all_hidden=True)
        assert torch.equal(m(ids, mask, layer=1), hs[1])
        assert torch.equal(m(ids, mask, layer=0), hs[0])
    with pytest.raises(ValueError, match="layer 3 does not exist"):
        m(ids, mask, layer=3)


def test_fp16_needs_cuda():
    with pytest.raises(ValueError, match="fp16 needs a CUDA GPU"):
        autocast("cpu", "fp16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_gradscaler_step_and_bf16_parity(tiny_dir, pair_batch):
    m = load_model(tiny_dir, device="cuda").eval()
    ids, mask = (t.cuda() for t in pair_batch)
    with torch.no_grad():
        ref = m(ids, mask)
        for dtype in ("bf16", "fp16"):
            with autocast("cuda", dtype):
                assert rel_err(m(ids, mask), ref, mask) <= 1e-2, dtype
    scaler = torch.amp.GradScaler("cuda")
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in m.parameters()]
    m.train()
    for _ in range(3):
        with autocast("cuda", "fp16"):
            h = m(ids, mask)
            loss = loss_of(h, m.mlm_logits(h), ids, mask)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
    assert torch.isfinite(loss) and 0 < scaler.get_scale() < float("inf")
    changed = sum(not torch.equal(a, p) for a, p in zip(before, m.parameters()))
    assert changed == len(before)  # at least one step was taken, not skipped for inf/nan gradients
