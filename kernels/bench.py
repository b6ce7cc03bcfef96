"""Benchmark: xstilts vs Hugging Face transformers (SDPA attention) on the same weights and batches.

  make bench          # = python kernels/bench.py [--batch-size 32] [--batches 3] [--routes unpadded,sdpa]
Rows: inference forward and training step (forward + backward) × fp32 / bf16 at XLM-R-base shape; on CUDA
also XLM-R-large bf16. Batches: the real XNLI German premise/hypothesis pairs of ../shared/data/xnli_de,
tokenized with the real XLM-R tokenizer (max 256, SPEC §6) and shuffled into batches, so lengths follow
a real sentence-pair distribution and each batch is padded to its own longest pair (what transformers'
dynamic padding does). Columns: real (non-pad) tokens/s, xstilts/transformers ratio, peak memory above
the loaded weights, useful GFLOP/s (matmul FLOPs of real tokens only) and that as a share of the
machine's matmul rate measured in the same run (CPU) or of the GPU's datasheet peak (MFU).
Each (shape, step, dtype) runs in its own subprocess; inside it the implementations alternate batch by
batch, so a slow moment of a shared machine hits both alike. Results: kernels/RESULTS.md.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
XNLI_DE = ROOT.parent / "shared" / "data" / "xnli_de" / "test.tsv"
TOKENIZER = ROOT.parent / "shared" / "data" / "tokenizer" / "xlm-roberta"
SHAPES = {  # the published configs of FacebookAI/xlm-roberta-{base,large}
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}
COMMON = dict(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
              pad_token_id=1, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
GPU_PEAK = {"H100": {"bf16": 989e12, "fp32": 67e12}, "H200": {"bf16": 989e12, "fp32": 67e12},
            "A100": {"bf16": 312e12, "fp32": 19.5e12}}  # dense datasheet peaks (SXM), FLOP/s


def batches(batch_size, n_batches, seed=0):
    from model.tokenizer import Tokenizer
    tok = Tokenizer(TOKENIZER)
    rows = [line.split("\t") for line in XNLI_DE.read_text(encoding="utf-8").splitlines()]
    encs = tok([r[0] for r in rows], [r[1] for r in rows], max_len=256)
    order = torch.randperm(len(encs), generator=torch.Generator().manual_seed(seed)).tolist()
    return [tok.pad([encs[i] for i in order[b * batch_size:(b + 1) * batch_size]]) for b in range(n_batches + 1)]


def useful_flops(mask, shape, train):
    """Matmul FLOPs on real tokens: per layer 2n(4H² + 2HI) for the Linears + 4n²H for QKᵀ and PV."""
    H, L, I = shape["hidden_size"], shape["num_hidden_layers"], shape["intermediate_size"]
    n = mask.sum(1).double()
    fwd = L * (2 * n * (4 * H * H + 2 * H * I) + 4 * n * n * H).sum().item()
    return 3 * fwd if train else fwd


def peak_reset():
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM (peak RSS) to the current RSS
    return rss_kib("VmRSS") * 1024


def peak_now():
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated()
    return rss_kib("VmHWM") * 1024


def rss_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def worker(job):
    """One row pair: load both implementations, then alternate them batch by batch (warm-up on batch 0),
    so a slow moment of a shared machine hits both alike. Peak memory: the most any one step of an
    implementation raised memory above what was in use just before it."""
    from transformers import XLMRobertaModel

    from model.load import load_model
    from model.xlmr import autocast
    device = "cuda" if torch.cuda.is_available() else "cpu"
    hf = XLMRobertaModel.from_pretrained(job["ckpt"], attn_implementation="sdpa", add_pooling_layer=False)
    for p in hf.parameters():  # own the weights (no lazily-touched file mapping inside a timed step)
        p.data = p.data.clone()
    ours = load_model(job["ckpt"])
    impls = {"transformers": (hf, lambda ids, mask: hf(input_ids=ids, attention_mask=mask).last_hidden_state)}
    for route in job["routes"]:
        impls[f"xstilts:{route}"] = (ours, lambda ids, mask, r=route: setattr(ours, "attention", r) or ours(ids, mask))
    for model, _ in impls.values():
        model.to(device).train(job["train"])
    data = [(i.to(device), m.to(device)) for i, m in batches(job["batch_size"], job["batches"])]
    w = torch.linspace(-1, 1, ours.config.hidden_size, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step(model, run, ids, mask):
        sync()
        base, t0 = peak_reset(), time.perf_counter()
        if not job["train"]:
            with torch.inference_mode(), autocast(device, job["dtype"]):
                run(ids, mask)
        else:
            with autocast(device, job["dtype"]):
                h = run(ids, mask)  # (B, T, H)
                loss = ((h.float() * w).sum(-1) * mask).sum() / mask.sum()
            loss.backward()
            model.zero_grad(set_to_none=True)
        sync()
        return time.perf_counter() - t0, peak_now() - base

    seconds, peak = dict.fromkeys(impls, 0.0), dict.fromkeys(impls, 0)
    for b, (ids, mask) in enumerate(data):
        for name, (model, run) in impls.items():
            dt, mem = step(model, run, ids, mask)
            if b:  # batch 0 is the warm-up: allocator, kernels, autocast casts
                seconds[name] += dt
                peak[name] = max(peak[name], mem)
    shape = SHAPES[job["shape"]]
    tokens = sum(m.sum().item() for _, m in data[1:])
    flops = sum(useful_flops(m, shape, job["train"]) for _, m in data[1:])
    padded = sum(m.numel() for _, m in data[1:])
    print(json.dumps({name: dict(tokens_s=tokens / seconds[name], gflops=flops / seconds[name] / 1e9,
                                 peak=peak[name], pad_share=1 - tokens / padded,
                                 mean_len=tokens / (len(data) - 1) / job["batch_size"]) for name in impls}))


def matmul_rate(dtype, device):
    n = 4096 if device == "cuda" else 2048
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    t0, reps = time.perf_counter(), 10 if device == "cuda" else 4
    for _ in range(reps):
        a @ b
    sync()
    return 2 * n ** 3 * reps / (time.perf_counter() - t0)


def write_checkpoint(shape, folder):
    from model.load import save_model
    from model.xlmr import XLMR, XLMRConfig
    torch.manual_seed(0)
    cfg = dict(COMMON, **SHAPES[shape])
    model = XLMR(XLMRConfig.from_dict(cfg), mlm_head=False)
    model.raw_config = cfg
    save_model(model, folder)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=32, help="SPEC §6 effective batch for XNLI")
    ap.add_argument("--batches", type=int, default=4, help="timed batches per row (after one warm-up)")
    ap.add_argument("--routes", default="unpadded", help="xstilts attention routes to time: unpadded,sdpa")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    name = torch.cuda.get_device_name() if cuda else f"{platform.processor() or platform.machine()} CPU, " \
                                                      f"{torch.get_num_threads()} threads"
    rates = {d: matmul_rate(t, device) for d, t in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    peak = next((v for k, v in GPU_PEAK.items() if k in name), None) if cuda else None
    denom = peak or rates
    print(f"# {name} · torch {torch.__version__} · batch {args.batch_size} × {args.batches} timed batches of "
          f"XNLI-de pairs · measured matmul: fp32 {rates['fp32'] / 1e9:.0f}, bf16 {rates['bf16'] / 1e9:.0f} GFLOP/s"
          + (" · share = MFU vs datasheet peak" if peak else " · share = useful / measured matmul rate"))
    rows = [(s, t, d) for s in ("base",) for t in (False, True) for d in ("fp32", "bf16")]
    rows += [("large", t, "bf16") for t in (False, True)] if cuda else []
    print("| shape | step | dtype | implementation | real tok/s | × transformers | peak MiB above weights "
          "| useful GFLOP/s | share |")
    print("|---|---|---|---|---|---|---|---|---|")
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", MALLOC_MMAP_THRESHOLD_="65536")  # freed = unmapped
    with tempfile.TemporaryDirectory() as tmp:
        for shape in dict.fromkeys(s for s, _, _ in rows):
            write_checkpoint(shape, Path(tmp) / shape)
            for s, train, dtype in (r for r in rows if r[0] == shape):
                job = dict(routes=args.routes.split(","), shape=shape, train=train, dtype=dtype,
                           ckpt=str(Path(tmp) / shape), batch_size=args.batch_size, batches=args.batches)
                out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], text=True,
                                     capture_output=True, env=env)
                if out.returncode:
                    sys.exit(f"bench worker failed for {job}:\n{out.stderr[-3000:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                for impl, r in res.items():
                    print(f"| {shape} | {'train' if train else 'infer'} | {dtype} | {impl} | {r['tokens_s']:,.0f} | "
                          f"{r['tokens_s'] / res['transformers']['tokens_s']:.2f} | {r['peak'] / 2**20:,.0f} | "
                          f"{r['gflops']:,.1f} | {100 * r['gflops'] * 1e9 / denom[dtype]:.1f}% |", flush=True)
    print(f"# batches: mean real length {r['mean_len']:.1f} tokens, {100 * r['pad_share']:.0f}% of a padded "
          f"batch is padding")


if __name__ == "__main__":
    main()
