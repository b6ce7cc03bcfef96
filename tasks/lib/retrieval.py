"""Sentence embeddings and nearest-neighbour search for the retrieval tasks (BUCC, Tatoeba, LAReQA, Mewsli-X).

Sentence vector (SPEC §4, jiant): mean over every non-pad token, `<s>` and `</s>` included, of
hidden_states[layer] (0 = embedding output), or the `<s>` vector with pool="cls".
"""
import numpy as np
import torch
from tqdm import tqdm

import util
from util import UserError
from model.xlmr import autocast


def pool(h, mask, how):
    """h (B, T, H), mask (B, T) → (B, H) fp32."""
    if how == "cls":
        return h[:, 0].float()
    m = mask.unsqueeze(-1).float()  # (B, T, 1)
    return (h.float() * m).sum(1) / m.sum(1)


@torch.inference_mode()
def embed(model, tok, lines, layer, how="mean", max_len=512, batch_size=32, dtype="fp32", progress=False, head=None):
    """lines: list of str → (len(lines), H) float32 array, row i for line i: pooled hidden_states[layer], or
    with a dual-encoder head (tasks/lib/heads.py Dual) its vectors of the last layer."""
    if how not in ("mean", "cls"):
        raise UserError(f"--pool {how}: choose mean or cls.")
    c = model.config
    if not 0 <= layer <= c.num_hidden_layers:
        raise UserError(f"--layer {layer}: this model has hidden states 0..{c.num_hidden_layers} (0 = embeddings).")
    longest = c.max_position_embeddings - c.pad_token_id - 1  # positions start at pad+1: 512 for XLM-R
    if not 3 <= max_len <= longest or batch_size < 1:
        raise UserError(f"--max-len {max_len} / --batch-size {batch_size}: max-len must be 3..{longest} "
                        "(this model's positions) and batch-size at least 1.")
    model.eval()
    device = next(model.parameters()).device
    encs = tok(lines, max_len=max_len)
    order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))  # length-sorted: little padding
    out = np.zeros((len(lines), c.hidden_size), dtype=np.float32)
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    with autocast(device.type, dtype):  # one context for all batches: weights are cast to bf16 once
        for rows in tqdm(batches[util.rank()::util.world()], desc="embed", unit="batch", disable=not progress):
            ids, mask = tok.pad([encs[i] for i in rows], device)  # (B, T)
            h = model(ids, mask, layer=None if head else layer)  # (B, T, H)
            out[rows] = (head.vectors(h) if head else pool(h, mask, how)).cpu().numpy()
    if util.world() > 1:  # torchrun: each rank embedded every N-th batch, the rest of its rows are zeros
        util.total(torch.from_numpy(out))  # in place: numpy shares the buffer
    return out


def similarities(queries, keys, device="cpu", budget=2 ** 26):
    """Cosine similarities of query rows against every key row, in blocks (chunk, K) of budget // len(keys)
    query rows: a block stays under `budget` floats (256 MB) at any pool size."""
    keys = torch.nn.functional.normalize(torch.as_tensor(keys, device=device).float(), dim=1)  # (K, H)
    chunk = max(1, budget // max(1, len(keys)))
    for s in range(0, len(queries), chunk):
        q = torch.nn.functional.normalize(torch.as_tensor(queries[s:s + chunk], device=device).float(), dim=1)
        yield q @ keys.T  # (chunk, K)


def nearest(queries, keys, device="cpu", budget=2 ** 26):
    """Cosine 1-NN: for each query row the index of the most similar key row, first on ties (argmax's rule;
    topk's order among ties is unspecified, and Tatoeba's duplicate sentences tie exactly)."""
    return torch.cat([block.argmax(1).cpu() for block in similarities(queries, keys, device, budget)]).numpy()


def topk(queries, keys, k, device="cpu", budget=2 ** 26):
    """Cosine top-k (values, indices), each (len(queries), k) on the CPU, best first."""
    best = [torch.topk(block, min(k, block.shape[1]), dim=1) for block in similarities(queries, keys, device, budget)]
    return torch.cat([v.cpu() for v, _ in best]), torch.cat([i.cpu() for _, i in best])
