"""Memory of the retrieval search (tasks/lib/retrieval.py topk / nearest) at XTREME-R pool sizes: each row runs in a
fresh process on random unit vectors and reports the peak resident memory above the two vector matrices.
The score block is bounded by retrieval.topk's budget (2**26 floats = 256 MB), whatever the pool size.
  python bench/bench_retrieval.py [--pool 400000] [--hidden 1024] [--queries 2000,8000] [--device cpu]
"""
import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def one(pool, hidden, queries, k, device):
    import numpy as np
    import torch

    from tasks.lib import retrieval
    rng = np.random.default_rng(0)
    keys = rng.standard_normal((pool, hidden), dtype=np.float32)
    q = rng.standard_normal((queries, hidden), dtype=np.float32)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB (Linux: KB)
    t = time.perf_counter()
    vals, idx = retrieval.topk(q, keys, k, device)  # (queries, k)
    if device == "cuda":
        torch.cuda.synchronize()
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(pool=pool, hidden=hidden, queries=queries, k=k, vectors_mb=round((pool + queries) * hidden * 4 / 2**20),
                search_peak_mb=round(peak - base), seconds=round(took, 1), queries_per_s=round(queries / took))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pool", type=int, default=400_000)
    ap.add_argument("--hidden", type=int, default=1024)
    ap.add_argument("--queries", default="2000,8000")
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.pool, a.hidden, int(a.queries), a.k, a.device)))
        sys.exit()
    print("| pool | hidden | queries | k | vectors MB | search peak above vectors MB | s | queries/s |")
    print("|---|---|---|---|---|---|---|---|")
    for n in a.queries.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", "--pool", str(a.pool), "--hidden", str(a.hidden),
                              "--queries", n, "--k", str(a.k), "--device", a.device], capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        r = json.loads(out.stdout)
        print(f"| {r['pool']:,} | {r['hidden']} | {r['queries']:,} | {r['k']} | {r['vectors_mb']:,} | "
              f"{r['search_peak_mb']:,} | {r['seconds']} | {r['queries_per_s']:,} |")
