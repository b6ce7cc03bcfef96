"""Helpers shared by the task files: reading data files with per-line accounting, batching, and the
sentence embeddings + nearest-neighbour search of the retrieval tasks.

Sentence vector (SPEC §4, jiant): mean over every non-pad token, `<s>` and `</s>` included, of
hidden_states[layer] (0 = embedding output), or the `<s>` vector with pool="cls".
"""
import importlib
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from model import UserError
from model.xlmr import autocast

TASKS_DIR = Path(__file__).resolve().parents[1]  # tasks/: every module there is a task; shared parts sit in lib/


def task_names():
    return sorted(p.stem for p in TASKS_DIR.glob("*.py") if p.stem != "__init__")


def get_task(name):
    """`--task mnli` imports tasks/mnli.py: the list of tasks is the folder listing."""
    if name not in task_names():
        raise UserError(f"unknown task {name!r}; the tasks are: {', '.join(task_names())}.")
    return importlib.import_module(f"tasks.{name}")


def data_file(data_dir, task, name):
    """<data-dir>/<task>/<official file name>, or a one-line error saying how to get it."""
    path = Path(data_dir) / task / name
    if not path.exists():
        raise UserError(f"{path}: missing; run `make data TASK={task}` (or python -m data_scripts.{task}), "
                        f"or put the official file there by hand.")
    return path


def read_tsv(path, parse, header=False):
    """Split each line on tabs (no quote processing: quotes are text) and call parse(cols) -> example.
    parse raises ValueError(reason) for a bad row; returns (examples, skipped [(file:line, reason)])."""
    examples, skipped = [], []
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8").rstrip("\n").rstrip("\r")
            except UnicodeDecodeError:
                raise UserError(f"{path}:{n}: not UTF-8; re-encode the file as UTF-8.") from None
            if (header and n == 1) or not line.strip():
                continue
            try:
                example = parse(line.split("\t"))
            except (ValueError, IndexError, KeyError) as e:
                skipped.append((f"{path}:{n}", str(e) or type(e).__name__))
                continue
            if example is not None:  # None: a row that belongs to another selection (e.g. language)
                examples.append(example)
    return examples, skipped


def check_skipped(examples, skipped, max_share, what):
    """Malformed rows are reported; more than max_share of them stops the run (first one named)."""
    total = len(examples) + len(skipped)
    if skipped and len(skipped) > max_share * total:
        where, why = skipped[0]
        raise UserError(f"{what}: {len(skipped)} of {total} rows are malformed, first at {where} ({why}); "
                        f"fix the file or raise max_bad_rows (now {max_share}).")
    if not examples:
        raise UserError(f"{what}: no usable rows.")
    if skipped:  # under the tolerance: kept going, but never without a word
        print(f"note: {what}: skipped {len(skipped)} malformed of {total} rows, first at {skipped[0][0]} ({skipped[0][1]})")
    return examples


def micro_batches(lengths, size, token_budget, seed, epoch):
    """Length-grouped shuffled batches: shuffle, sort within windows of 50 batches, split, shuffle the
    batches. A pure function of (seed, epoch), so a resumed run sees the same order."""
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    perm = torch.randperm(len(lengths), generator=g).tolist()
    batches = []
    for start in range(0, len(perm), size * 50):
        window = sorted(perm[start:start + size * 50], key=lambda i: -lengths[i])
        if not token_budget:
            batches += [window[i:i + size] for i in range(0, len(window), size)]
            continue
        batch = []
        for i in window:  # longest first: the first row of a batch sets its padded length
            if batch and (len(batch) + 1) * lengths[batch[0]] > token_budget:
                batches.append(batch)
                batch = []
            batch.append(i)
        batches.append(batch)
    return [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]


def length(feature):
    """Padded tokens a feature costs: multiple-choice features hold one sequence per choice."""
    ids = feature["ids"]
    return max(map(len, ids)) * len(ids) if isinstance(ids[0], list) else len(ids)


def collate(features, rows, pad_id, device):
    """features → input_ids, attention_mask (N, T) and labels on device. A multiple-choice feature adds
    one row per choice (N = B × C); per-token labels (tagging) are padded with -100 (ignored)."""
    seqs = [s for i in rows for s in (features[i]["ids"] if isinstance(features[i]["ids"][0], list)
                                      else [features[i]["ids"]])]
    T = max(map(len, seqs))
    ids = torch.full((len(seqs), T), pad_id, dtype=torch.long)
    for r, s in enumerate(seqs):
        ids[r, : len(s)] = torch.tensor(s)
    mask = (torch.arange(T)[None] < torch.tensor(list(map(len, seqs)))[:, None]).long()
    labels = [features[i]["label"] for i in rows]
    if isinstance(labels[0], list):  # one label per token
        labels = [lab + [-100] * (T - len(lab)) for lab in labels]
    labels = torch.tensor(labels)
    if device.type == "cuda":  # pinned host memory: the copies overlap with GPU work
        ids, mask, labels = ids.pin_memory(), mask.pin_memory(), labels.pin_memory()
    return (t.to(device, non_blocking=True) for t in (ids, mask, labels))


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
    out = np.empty((len(lines), c.hidden_size), dtype=np.float32)
    batches = [order[i: i + batch_size] for i in range(0, len(order), batch_size)]
    with autocast(device.type, dtype):  # one context for all batches: weights are cast to bf16 once
        for rows in tqdm(batches, desc="embed", unit="batch", disable=not progress):
            ids, mask = tok.pad([encs[i] for i in rows], device)  # (B, T)
            h = model(ids, mask, layer=layer)  # (B, T, H)
            out[rows] = pool(h, mask, how).cpu().numpy()
    return out


def rows_per_chunk(n_keys, budget):
    return max(1, budget // max(1, n_keys))


def nearest(queries, keys, device="cpu", budget=2 ** 26):
    """Cosine 1-NN: for each query row the index of the most similar key row (first on ties). Queries go
    in chunks of budget // len(keys) rows: the score block stays under `budget` floats (256 MB) at any pool size."""
    k = torch.nn.functional.normalize(torch.as_tensor(keys, device=device).float(), dim=1)  # (K, H)
    out, chunk = [], rows_per_chunk(len(k), budget)
    for s in range(0, len(queries), chunk):
        q = torch.nn.functional.normalize(torch.as_tensor(queries[s:s + chunk], device=device).float(), dim=1)
        out.append((q @ k.T).argmax(1).cpu())  # (chunk,)
    return torch.cat(out).numpy()


def topk(queries, keys, k, device="cpu", budget=2 ** 26):
    """Cosine top-k (values, indices), each (len(queries), k) on the CPU, best first; chunked like nearest."""
    keys = torch.nn.functional.normalize(torch.as_tensor(keys, device=device).float(), dim=1)  # (K, H)
    vals, idx, chunk = [], [], rows_per_chunk(len(keys), budget)
    for s in range(0, len(queries), chunk):
        q = torch.nn.functional.normalize(torch.as_tensor(queries[s:s + chunk], device=device).float(), dim=1)
        v, i = torch.topk(q @ keys.T, min(k, len(keys)), dim=1)  # (chunk, k)
        vals.append(v.cpu()), idx.append(i.cpu())
    return torch.cat(vals), torch.cat(idx)
