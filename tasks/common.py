"""Helpers shared by tasks: sentence embeddings for the retrieval tasks (and `xstilts.py embed`).

Sentence vector (SPEC §4, jiant): mean over every non-pad token, `<s>` and `</s>` included, of
hidden_states[layer] (0 = embedding output), or the `<s>` vector with pool="cls".
"""
import numpy as np
import torch
from tqdm import tqdm

from model import UserError
from model.xlmr import autocast


def pool(h, mask, how):
    """h (B, T, H), mask (B, T) → (B, H) fp32."""
    if how == "cls":
        return h[:, 0].float()
    m = mask.unsqueeze(-1).float()  # (B, T, 1)
    return (h.float() * m).sum(1) / m.sum(1)


@torch.inference_mode()
def embed(model, tok, lines, layer, how="mean", max_len=512, batch_size=32, dtype="fp32", progress=False):
    """lines: list of str → (len(lines), H) float32 array, row i for line i."""
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
    out = np.empty((len(lines), model.config.hidden_size), dtype=np.float32)
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    with autocast(device.type, dtype):  # one context for all batches: weights are cast to bf16 once
        for rows in tqdm(batches, desc="embed", unit="batch", disable=not progress):
            ids, mask = tok.pad([encs[i] for i in rows], device)  # (B, T)
            h = model(ids, mask, layer=layer)  # (B, T, H)
            out[rows] = pool(h, mask, how).cpu().numpy()
    return out
