"""Helpers shared by the task files: reading data files with per-line accounting, batching, and the
sentence embeddings + nearest-neighbour search of the retrieval tasks.

Sentence vector (SPEC §4, jiant): mean over every non-pad token, `<s>` and `</s>` included, of
hidden_states[layer] (0 = embedding output), or the `<s>` vector with pool="cls".
"""
import json
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

import util
from util import UserError
from model.xlmr import autocast

def n_classes(task):
    """How many classes (HEAD classify: its LABELS) or choices (HEAD choice: CHOICES) a task predicts among;
    None for the other heads."""
    head = task.HEAD
    return len(task.LABELS) if head == "classify" else task.CHOICES if head == "choice" else None


def data_file(data_dir, task, name, extra=""):
    """<data-dir>/<task>/<official file name>, or a one-line error saying how to get it (extra: " LANG=hi")."""
    path = Path(data_dir) / task / name
    if not path.exists():
        flags = extra.replace(" LANG=", " --lang ")
        raise UserError(f"{path}: missing; run `make data TASK={task}{extra}` (or python -m data_scripts.{task}"
                        f"{flags}), or put the official file there by hand.")
    return path


def read_lines(path):
    """(line number, text) of each line: UTF-8, a leading BOM dropped, LF or CRLF cut. A bad byte is one line
    naming file:line; a file with no non-blank line is called empty."""
    empty = True
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}:{n}: not UTF-8 ({e.reason}); re-encode it as UTF-8 or fetch it "
                                "again.") from None
            empty = empty and not line.strip()
            yield n, line
    if empty:
        raise UserError(f"{path}: the file is empty; fetch or make it again (`xstilts.py tasks` names its script).")


def read_json(path, layout, key=None):
    """A whole JSON file → its object, or that object's `key` list; any other shape is one line naming `layout`."""
    text = "\n".join(line for _, line in read_lines(path))
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UserError(f"{path}: not JSON ({e}); expected {layout}.") from None
    got = data.get(key) if key and isinstance(data, dict) else data
    if not isinstance(got, list if key else dict):
        raise UserError(f"{path}: {repr(key) if key else 'the file'} holds a JSON {type(got).__name__}; "
                        f"expected {layout}.")
    return got


def read_tsv(path, parse, header=False):
    """Split each line on tabs (no quote processing: quotes are text) and call parse(cols) -> example, or None
    for a row of another selection (e.g. language); a bad row (another width than the header's, or parse's
    ValueError(reason)) is skipped. Returns (examples, skipped [(file:line, reason)])."""
    examples, skipped, n = [], [], 0
    lines = ((n, line.split("\t")) for n, line in read_lines(path) if line.strip())
    width = len(next(lines)[1]) if header else None
    for n, cols in lines:
        try:
            if header and len(cols) != width:
                raise ValueError(f"{len(cols)} columns, the header has {width}")
            example = parse(cols)
        except (ValueError, IndexError, KeyError) as e:
            skipped.append((f"{path}:{n}", str(e)[:200] or type(e).__name__))  # [:200]: a 5 MB label stays a line
            continue
        if example is not None:
            examples.append(example)
    if not n:
        raise UserError(f"{path}: only a header line, no rows; fetch or make the file again.")
    return examples, skipped


SKIPPED = []  # each check_skipped that met malformed rows, in this process (chain/ writes it into the run)


def check_skipped(examples, skipped, max_share, what):
    """Malformed rows are reported and recorded in SKIPPED; more than max_share of them stops the run."""
    total = len(examples) + len(skipped)
    if skipped:
        SKIPPED.append(dict(what=what, skipped=len(skipped), total=total, first=f"{skipped[0][0]} ({skipped[0][1]})"))
        if len(skipped) > max_share * total:
            raise UserError(f"{what}: {len(skipped)} of {total} rows are malformed, first at {SKIPPED[-1]['first']}; "
                            f"fix the file or raise max_bad_rows (now {max_share}).")
        print(f"note: {what}: skipped {len(skipped)} malformed of {total} rows, first at {SKIPPED[-1]['first']}")
    if not examples:
        raise UserError(f"{what}: no usable rows.")
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


def sequences(feature):
    """A feature's token lists: one per choice (multiple choice), else the one."""
    return feature["ids"] if isinstance(feature["ids"][0], list) else [feature["ids"]]


def length(feature):
    """Padded tokens a feature costs: multiple-choice features hold one sequence per choice."""
    return max(map(len, sequences(feature))) * len(sequences(feature))


def collate(features, rows, pad_id, device, bucket=0, cap=None):
    """features → input_ids, attention_mask (N, T) and labels on device. A multiple-choice feature adds
    one row per choice (N = B × C); per-token labels (tagging) are padded with -100 (ignored). bucket > 0
    rounds T up to a multiple of it, but not past cap (max_len: what the model allows), so few shapes recur;
    -1 = 64 on CUDA, off on CPU (where a new shape costs nothing)."""
    seqs = [s for i in rows for s in sequences(features[i])]
    T = longest = max(map(len, seqs))
    bucket = (64 if device.type == "cuda" else 0) if bucket < 0 else bucket
    if bucket > 0:  # a bounded set of shapes: CUDA graphs and cuDNN attention plans are reused, not rebuilt
        T = max(longest, min(-(-longest // bucket) * bucket, cap or float("inf")))
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


def nearest(queries, keys, device="cpu", budget=2 ** 26):
    """Cosine 1-NN: for each query row the index of the most similar key row (first on ties). Queries go
    in chunks of budget // len(keys) rows: the score block stays under `budget` floats (256 MB) at any pool size."""
    k = torch.nn.functional.normalize(torch.as_tensor(keys, device=device).float(), dim=1)  # (K, H)
    out, chunk = [], max(1, budget // max(1, len(k)))
    for s in range(0, len(queries), chunk):
        q = torch.nn.functional.normalize(torch.as_tensor(queries[s:s + chunk], device=device).float(), dim=1)
        out.append((q @ k.T).argmax(1).cpu())  # (chunk,)
    return torch.cat(out).numpy()


def topk(queries, keys, k, device="cpu", budget=2 ** 26):
    """Cosine top-k (values, indices), each (len(queries), k) on the CPU, best first; chunked like nearest."""
    keys = torch.nn.functional.normalize(torch.as_tensor(keys, device=device).float(), dim=1)  # (K, H)
    vals, idx, chunk = [], [], max(1, budget // max(1, len(keys)))
    for s in range(0, len(queries), chunk):
        q = torch.nn.functional.normalize(torch.as_tensor(queries[s:s + chunk], device=device).float(), dim=1)
        v, i = torch.topk(q @ keys.T, min(k, len(keys)), dim=1)  # (chunk, k)
        vals.append(v.cpu()), idx.append(i.cpu())
    return torch.cat(vals), torch.cat(idx)
