"""Batching: features → padded tensors (`collate`), and the training order (`micro_batches`), a pure function
of (seed, epoch) so a resumed run sees the same batches."""
import torch


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


def features(task, examples, tok, max_len, route="reference"):
    """task.encode: a list of features per example; span tasks also take --qa-decode's route (which tokens label
    an answer in a window: tasks/lib/qa.py)."""
    if task.HEAD == "span":
        return task.encode(examples, tok, max_len, route=route)
    return task.encode(examples, tok, max_len)
