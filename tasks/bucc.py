"""BUCC 2018: mining parallel sentences from comparable corpora, no training (SPEC §3-4). de fr ru zh, each
paired with English; the intermediate encoder is evaluated directly.

Mining (SPEC §4, margin-based as LASER): identical texts are de-duplicated per side; vectors L2-normalised;
k = 4 nearest neighbours both ways; score(x, y) = cos(x, y) / ((knn(x) + knn(y)) / 2) with knn the mean
cosine to the k neighbours; each sentence's best-scoring neighbour among its k, both directions, pooled,
sorted and accepted greedily when neither side is taken. The threshold maximising F1 on the dev gold
(midpoint between neighbouring scores) is applied to test. Chunked top-k: memory stays bounded.
Files: <data-dir>/bucc/{lang}-en.{sample,training}.{lang,en,gold} — sample = dev, training = test.
Known differences, kept (jiant, the paper's code base, is followed): a text that occurs under several ids is
mined once and its pair expanded to every id (jiant); XTREME's utils_retrieve.py keeps one id per text. Exactly
equal scores are ordered by row, not as faiss orders them.
"""
import numpy as np
import torch

from util import UserError
from tasks.lib import reading, retrieval

METRIC = "f1"
RETRIEVAL = True
TUNE_ON_DEV = True  # `eval` first runs dev, then passes its threshold to the test evaluation
LANGS = "de fr ru zh".split()
FOLDER = "bucc2018"  # XTREME's submission folder (google-research/xtreme evaluate.py)
K, MAX_LEN = 4, 512
SPLIT = dict(dev="sample", test="training")


def load(data_dir, split, lang):
    """→ [dict(src={id: text}, trg={id: text}, gold={(src_id, trg_id)})], one example for the whole pair."""
    if lang not in LANGS or split not in SPLIT:
        raise UserError(f"bucc has languages {' '.join(LANGS)} and splits dev (sample), test (training).")
    stem = f"{lang}-en.{SPLIT[split]}"

    def side(ext):
        path = reading.data_file(data_dir, "bucc", f"{stem}.{ext}")
        rows, skipped = {}, []
        for n, line in reading.read_lines(path):
            cols = line.split("\t")
            if len(cols) != 2 and line.strip():
                skipped.append((f"{path}:{n}", f"{len(cols)} columns, expected id<TAB>sentence"))
            elif line.strip():
                rows[cols[0]] = (cols[1], n)
        return path, rows, skipped
    (_, src, s1), (_, trg, s2), (path, gold, s3) = side(lang), side("en"), side("gold")
    unknown = [(a, b, n) for a, (b, n) in gold.items() if a not in src or b not in trg]
    if unknown:  # a gold pair that can never be mined would lower recall silently
        a, b, n = unknown[0]
        raise UserError(f"{path}:{n}: the gold pair {a!r:.40} {b!r:.40} names an id the "
                               f"{stem}.{lang if a not in src else 'en'} file lacks or holds in a malformed row "
                               f"({len(unknown)} such pairs); fix or fetch the files again.")
    text = lambda rows: {i: t for i, (t, _) in rows.items()}
    return [dict(src=text(src), trg=text(trg), gold={(a, b) for a, (b, _) in gold.items()})], s1 + s2 + s3


def mine(x, y, k=K, device="cpu"):
    """x (n, H), y (m, H) unique-text vectors → [(score, i, j)] accepted pairs, best first."""
    xv, xi = retrieval.topk(x, y, k, device)  # (n, k) cosines and indices, on the CPU
    yv, yi = retrieval.topk(y, x, k, device)  # (m, k)
    x_mean, y_mean = xv.mean(1), yv.mean(1)
    candidates = []
    for vals, idx, a_mean, b_mean, fwd in ((xv, xi, x_mean, y_mean, True), (yv, yi, y_mean, x_mean, False)):
        margin = vals / ((a_mean[:, None] + b_mean[idx]) / 2)  # (rows, k)
        best = margin.argmax(1)
        for r, (c, s) in enumerate(zip(idx[torch.arange(len(idx)), best].tolist(), margin.max(1).values.tolist())):
            candidates.append((s, r, c) if fwd else (s, c, r))
    used_x, used_y, out = set(), set(), []
    for s, i, j in sorted(candidates, key=lambda t: -t[0]):
        if i not in used_x and j not in used_y:
            used_x.add(i)
            used_y.add(j)
            out.append((s, i, j))
    return out


def scored_pairs(model, tok, cfg, example, device):
    """All accepted (score, src_id, trg_id), texts de-duplicated, pairs expanded back to every id."""
    texts = [sorted(set(example[side].values())) for side in ("src", "trg")]
    ids = [{}, {}]
    for n, side in enumerate(("src", "trg")):
        for i, t in sorted(example[side].items()):
            ids[n].setdefault(t, []).append(i)
    vx, vy = (retrieval.embed(model, tok, t, cfg.layer, cfg.pool, MAX_LEN, cfg.eval_batch_size, cfg.dtype) for t in texts)
    return [(s, a, b) for s, i, j in mine(vx, vy, device=device) for a in ids[0][texts[0][i]] for b in ids[1][texts[1][j]]]


def prf(pairs, gold):
    tp = len(set(pairs) & gold)
    p, r = tp / max(1, len(pairs)), tp / max(1, len(gold))
    return 100 * p, 100 * r, (200 * p * r / (p + r) if tp else 0.0)


def best_threshold(scored, gold):
    """The cut-off maximising F1 on gold; the midpoint between the last kept and the first dropped score."""
    scored = sorted(scored, key=lambda t: -t[0])
    best_f1, threshold, tp = -1.0, float("inf"), 0
    for n, (s, a, b) in enumerate(scored, 1):
        tp += (a, b) in gold
        f1 = 200 * tp / (n + len(gold)) if tp else 0.0
        if f1 > best_f1:
            nxt = scored[n][0] if n < len(scored) else s - 1e-6
            best_f1, threshold = f1, (s + nxt) / 2
    return threshold


def evaluate(model, tok, cfg, examples, device, threshold=None):
    """Test F1 at the threshold tuned on dev (pass it; without one, tune it on these examples themselves)
    → (metrics, mined pairs, gold pairs)."""
    ex = examples[0]
    scored = scored_pairs(model, tok, cfg, ex, device)
    t = best_threshold(scored, ex["gold"]) if threshold is None else threshold
    pairs = [(a, b) for s, a, b in scored if s >= t]
    p, r, f = prf(pairs, ex["gold"])
    lines = lambda ps: [f"{a}\t{b}" for a, b in sorted(ps)]  # the submission's `src_id<TAB>en_id` rows
    return {"precision": p, "recall": r, "f1": f, "threshold": float(np.float32(t))}, lines(pairs), lines(ex["gold"])
