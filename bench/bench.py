"""Benchmark: xstilts vs Hugging Face transformers (SDPA attention) on the same weights and batches.

  make bench          # = python bench/bench.py [--batch-size 32] [--batches N] [--routes unpadded,sdpa]
                      #   [--bucket 64] [--fixed] [--compile reduce-overhead]  (shape buckets, one repeated
                      #   batch, a torch.compile'd xstilts row)
  python bench/bench.py --shapes large ...           # only the rows of these shapes (comma-separated)
  python bench/bench.py --loop [--shape large] [--examples 1000]   # the whole training loop vs a HF Trainer
Rows: inference forward and training step (forward + backward) × fp32 / bf16 at XLM-R-base shape; on CUDA
also XLM-R-large bf16. Batches: the real XNLI German premise/hypothesis pairs of ../shared/data/xnli_de,
tokenized with the real XLM-R tokenizer (max 256, SPEC §6) and shuffled into batches, so lengths follow
a real sentence-pair distribution and each batch is padded to its own longest pair (what transformers'
dynamic padding does). Columns: real (non-pad) tokens/s, xstilts/transformers ratio, peak memory above
the loaded weights, useful GFLOP/s (matmul FLOPs of real tokens only) and that as a share of the
machine's matmul rate measured in the same run (CPU) or of the GPU's datasheet peak (MFU).
Each (shape, step, dtype) runs in its own subprocess; inside it the implementations alternate batch by
batch, so a slow moment of a shared machine hits both alike. CPU: one warm-up batch, perf_counter. CUDA: every
timed batch runs once first (its time, per new shape, is the "first sight" column: plan builds, compilation),
then each batch is timed with CUDA events: median and p10-p90 per row. --loop times `xstilts.py intermediate`
end to end against transformers' Trainer (see `loop`). Results: bench/RESULTS.md.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
XNLI_DE = ROOT.parent / "shared" / "data" / "xnli_de" / "test.tsv"
TOKENIZER = ROOT.parent / "shared" / "data" / "tokenizer" / "xlm-roberta"
SHAPES = {  # the published configs of FacebookAI/xlm-roberta-{base,large}
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    "tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64),  # CPU tests
}
COMMON = dict(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
              pad_token_id=1, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
DTYPES = {"base": ("fp32", "bf16"), "large": ("bf16",), "tiny": ("fp32",)}  # fixed-batch rows per shape
GPU_PEAK = {"H100": {"bf16": 989e12, "fp32": 67e12}, "H200": {"bf16": 989e12, "fp32": 67e12},
            "A100": {"bf16": 312e12, "fp32": 19.5e12}}  # dense datasheet peaks (SXM), FLOP/s


def xnli_pairs():
    return [line.split("\t") for line in XNLI_DE.read_text(encoding="utf-8").splitlines()]


def fixed_rows(shapes, cuda):
    """The (shape, train, dtype) rows of the fixed-batch benchmark: base (+ large on CUDA) unless shapes names
    some (comma-separated, e.g. "large": the large rows only)."""
    names = shapes.split(",") if shapes else ["base", "large"] if cuda else ["base"]
    if bad := [s for s in names if s not in SHAPES]:
        raise SystemExit(f"bench: unknown shape(s) {bad}: choose from {', '.join(SHAPES)}")
    return [(s, t, d) for s in dict.fromkeys(names) for t in (False, True) for d in DTYPES[s]]


def batches(batch_size, n_batches, bucket=0, fixed=False, seed=0):
    """n_batches + 1 padded batches (ids, mask); bucket > 0 pads each length up to a multiple of it (max 256);
    fixed: the first batch every time (one shape)."""
    from model.tokenizer import Tokenizer
    tok = Tokenizer(TOKENIZER)
    rows = xnli_pairs()
    encs = tok([r[0] for r in rows], [r[1] for r in rows], max_len=256)
    order = torch.randperm(len(encs), generator=torch.Generator().manual_seed(seed)).tolist()
    out = [tok.pad([encs[i] for i in order[b * batch_size:(b + 1) * batch_size]]) for b in range(n_batches + 1)]
    out = [out[0]] * len(out) if fixed else out
    pad = lambda T: max(T, min(-(-T // bucket) * bucket, 256)) - T if bucket else 0  # as tasks/lib/batching.collate
    return [(F.pad(i, (0, pad(i.shape[1])), value=tok.pad_id), F.pad(m, (0, pad(m.shape[1])))) for i, m in out]


def useful_flops(n, shape, train):
    """Matmul FLOPs on real tokens, n (B,) the real lengths: per layer 2n(4H² + 2HI) for the Linears + 4n²H for
    QKᵀ and PV; a training step is 3 forwards' worth."""
    H, L, I = shape["hidden_size"], shape["num_hidden_layers"], shape["intermediate_size"]
    n = torch.as_tensor(n).double()
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
    """One row pair: load both implementations, then alternate them batch by batch, so a slow moment of a
    shared machine hits both alike. Warm-up: batch 0 (CPU); every timed batch once (CUDA: each shape's
    first sight, its plans and compiled graphs, is timed apart). Peak memory: the most any one step of an
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
    if job["compile"] != "off":  # the compiled graph takes the padded SDPA route (model/xlmr.py)
        compiled = torch.compile(ours, mode=job["compile"])
        impls[f"xstilts:compiled {job['compile']}"] = (ours, lambda ids, mask: setattr(ours, "attention", "unpadded")
                                                        or compiled(ids, mask))
    for model, _ in impls.values():
        model.to(device).train(job["train"])
    data = [(i.to(device), m.to(device)) for i, m in batches(job["batch_size"], job["batches"], job["bucket"], job["fixed"])]
    w = torch.linspace(-1, 1, ours.config.hidden_size, device=device)
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    events = [torch.cuda.Event(enable_timing=True) for _ in range(2)] if cuda else None

    def step(model, run, ids, mask):
        sync()
        base, t0 = peak_reset(), time.perf_counter()
        if cuda:
            events[0].record()
        if not job["train"]:
            with torch.inference_mode(), autocast(device, job["dtype"]):
                run(ids, mask)
        else:
            with autocast(device, job["dtype"]):
                h = run(ids, mask)  # (B, T, H)
                loss = ((h.float() * w).sum(-1) * mask).sum() / mask.sum()
            loss.backward()
            model.zero_grad(set_to_none=True)
        if cuda:
            events[1].record()
        sync()
        dt = events[0].elapsed_time(events[1]) / 1e3 if cuda else time.perf_counter() - t0
        return dt, peak_now() - base

    first, seen = dict.fromkeys(impls, 0.0), set()
    for ids, mask in data[1:] if cuda else data[:1]:  # CUDA: every timed shape once; CPU: allocator, kernels
        for name, (model, run) in impls.items():
            dt, _ = step(model, run, ids, mask)
            first[name] += dt if (name, ids.shape) not in seen else 0.0
            seen.add((name, ids.shape))
    times, peak = {name: [] for name in impls}, dict.fromkeys(impls, 0)
    for ids, mask in data[1:]:
        for name, (model, run) in impls.items():
            dt, mem = step(model, run, ids, mask)
            times[name].append(dt)
            peak[name] = max(peak[name], mem)
    shape = SHAPES[job["shape"]]
    tokens = sum(m.sum().item() for _, m in data[1:])
    flops = sum(useful_flops(m.sum(1), shape, job["train"]) for _, m in data[1:])
    padded = sum(m.numel() for _, m in data[1:])
    q = lambda t, p: 1e3 * sorted(t)[round(p * (len(t) - 1))]  # ms at quantile p
    print(json.dumps({name: dict(tokens_s=tokens / sum(t), gflops=flops / sum(t) / 1e9, peak=peak[name],
                                 pad_share=1 - tokens / padded, mean_len=tokens / (len(data) - 1) / job["batch_size"],
                                 ms=[q(t, 0.5), q(t, 0.1), q(t, 0.9)], first=first[name],
                                 shapes=len({i.shape for i, _ in data[1:]})) for name, t in times.items()}))


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


def trainer(job):
    """transformers' Trainer on the same checkpoint, pairs and recipe as `loop`'s xstilts run (its process is
    timed from outside); prints one "skipped: why" line when the Trainer cannot run (accelerate missing)."""
    import dataclasses

    from transformers import Trainer, TrainingArguments, XLMRobertaForSequenceClassification

    from model.tokenizer import Tokenizer
    cuda, tok, pairs = torch.cuda.is_available(), Tokenizer(TOKENIZER), xnli_pairs()[:job["examples"]]
    encs = tok([r[0] for r in pairs], [r[1] for r in pairs], max_len=256)
    labels = ["entailment", "neutral", "contradiction"]  # tasks/mnli.py's order
    data = [dict(input_ids=e.ids, labels=labels.index(r[2])) for e, r in zip(encs, pairs)]

    def collate(rows):  # dynamic padding, as DataCollatorWithPadding
        ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(r["input_ids"]) for r in rows], True, tok.pad_id)
        return dict(input_ids=ids, attention_mask=ids.ne(tok.pad_id).long(),
                    labels=torch.tensor([r["labels"] for r in rows]))

    have = {f.name for f in dataclasses.fields(TrainingArguments)}  # transformers 4 and 5 spell two options apart
    versioned = dict(warmup_ratio=0.1, group_by_length=True) if "warmup_ratio" in have else \
        dict(warmup_steps=0.1, train_sampling_strategy="group_by_length")
    try:
        args = TrainingArguments(job["out"], per_device_train_batch_size=job["batch_size"], num_train_epochs=1,
                                 learning_rate=1e-5, weight_decay=0.01, adam_epsilon=1e-8, max_grad_norm=1.0,
                                 optim="adamw_torch_fused" if cuda else "adamw_torch", bf16=job["dtype"] == "bf16",
                                 report_to="none", save_strategy="no", logging_strategy="no", disable_tqdm=True,
                                 seed=1, use_cpu=not cuda, **versioned)
    except ImportError as e:
        return print(f"skipped: {str(e).splitlines()[0]}")
    model = XLMRobertaForSequenceClassification.from_pretrained(job["ckpt"], num_labels=3, attn_implementation="sdpa")
    Trainer(model=model, args=args, train_dataset=data, data_collator=collate).train()
    print("done")


def loop(args):
    """The whole training loop, each command a timed process: `xstilts.py intermediate` (start, load, tokenize,
    one epoch, selection on 32 dev pairs, save) against transformers' Trainer (start, load, tokenize, one epoch),
    on the same random weights in HF layout, the first --examples XNLI-de pairs written as MNLI, batch size,
    learning rate, warm-up, clipping and AdamW (fused on CUDA)."""
    cuda = torch.cuda.is_available()
    shape, n = args.shape or ("large" if cuda else "tiny"), args.examples or (1000 if cuda else 128)
    dtype, device = ("bf16", torch.cuda.get_device_name()) if cuda else ("fp32", f"{platform.machine()} CPU")
    pairs = xnli_pairs()[:n]
    from model.tokenizer import Tokenizer
    lens = [len(e.ids) for e in Tokenizer(TOKENIZER)([r[0] for r in pairs], [r[1] for r in pairs], max_len=256)]
    peak = next((v[dtype] for k, v in GPU_PEAK.items() if k in device), None) if cuda else None
    source = f"{device} {dtype} dense datasheet peak" if peak else f"{dtype} matmul rate measured now"
    peak = peak or matmul_rate(torch.bfloat16 if cuda else torch.float32, "cuda" if cuda else "cpu")
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_checkpoint(shape, tmp / "model")
        shutil.copyfile(TOKENIZER / "tokenizer.json", tmp / "model" / "tokenizer.json")
        (tmp / "data" / "mnli").mkdir(parents=True)
        for name, rows in (("train.tsv", pairs), ("dev_matched.tsv", pairs[:32])):
            (tmp / "data" / "mnli" / name).write_text("sentence1\tsentence2\tgold_label\n" + "".join(
                "\t".join(r) + "\n" for r in rows), encoding="utf-8")
        xstilts = [str(ROOT / "xstilts.py"), "intermediate", "--task", "mnli", "--model", str(tmp / "model"),
                   "--data-dir", str(tmp / "data"), "--runs-dir", str(tmp / "runs"), "--name", "loop", "--epochs",
                   "1", "--batch-size", str(args.batch_size), "--dtype", dtype, "--eval-examples", "32",
                   "--bucket", str(-1 if args.bucket is None else args.bucket), "--compile", args.compile,
                   "--log-every", "1"]
        job = dict(examples=n, batch_size=args.batch_size, dtype=dtype, ckpt=str(tmp / "model"), out=str(tmp / "hf"))
        for impl, argv in (("xstilts", xstilts), ("transformers Trainer", [__file__, "--trainer", json.dumps(job)])):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, *argv], text=True, capture_output=True, cwd=ROOT,
                                 env=dict(os.environ, TOKENIZERS_PARALLELISM="false"))
            seconds[impl] = time.perf_counter() - t0
            if out.returncode:
                sys.exit(f"bench --loop: {impl} failed:\n{out.stderr[-3000:]}")
            if out.stdout.startswith("skipped"):
                del seconds[impl]
                note = f"# transformers Trainer: {out.stdout.strip()}"
        log = [json.loads(line) for line in (tmp / "runs" / "loop" / "metrics.jsonl").read_text().splitlines()]
    rates = sorted(r["tokens_per_s"] for r in log[1:] or log)  # the logged steps after the first
    steady = rates[len(rates) // 2]  # median
    flops = useful_flops(lens, SHAPES[shape], train=True)
    print(f"# whole training loop · {device} · torch {torch.__version__} · XLM-R {shape} shape, {n} XNLI-de pairs "
          f"as MNLI, one epoch, batch {args.batch_size}, max 256 tokens, {dtype}, AdamW{' fused' if cuda else ''}, "
          f"lr 1e-5, warm-up 10 %, clip 1 · wall = each command's process end to end · useful MFU = real-token "
          f"matmul FLOPs × 3 / wall / {peak / 1e12:,.3g} TFLOP/s ({source})")
    print("| implementation | wall s | real tokens | real tok/s | × Trainer | useful MFU |")
    print("|---|---|---|---|---|---|")
    for impl, sec in seconds.items():
        ratio = f"{seconds['transformers Trainer'] / sec:.2f}" if "transformers Trainer" in seconds else "-"
        print(f"| {impl} | {sec:,.1f} | {sum(lens):,} | {sum(lens) / sec:,.0f} | {ratio} | "
              f"{100 * flops / sec / peak:.1f}% |")
    print(f"# xstilts: {100 * (1 - sum(lens) / steady / seconds['xstilts']):.0f}% of its wall time is outside "
          f"steady-state steps (steady = the median tokens/s of its logged steps after the first: {steady:,} tok/s)")
    if "transformers Trainer" not in seconds:
        print(note)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-size", type=int, default=32, help="SPEC §6 effective batch for XNLI")
    ap.add_argument("--batches", type=int, help="timed batches per row (default: 4 on CPU, 40 on CUDA)")
    ap.add_argument("--routes", default="unpadded", help="xstilts attention routes to time: unpadded,sdpa")
    ap.add_argument("--bucket", type=int, help="pad lengths up to a multiple of this (default: off; --loop: as fit, "
                                               "64 on CUDA, off on CPU)")
    ap.add_argument("--fixed", action="store_true", help="time one batch, repeated (a single shape)")
    ap.add_argument("--compile", default="off", choices=("off", "default", "reduce-overhead"),
                    help="add a torch.compile'd xstilts row (--loop: compile xstilts' training forward)")
    ap.add_argument("--loop", action="store_true", help="the whole training loop vs transformers' Trainer")
    ap.add_argument("--shape", choices=tuple(SHAPES), help="--loop: model shape (default: large on CUDA, "
                                                                          "tiny on CPU)")
    ap.add_argument("--shapes", help="fixed-batch rows: comma-separated shapes (default: base, + large on CUDA; "
                                     "large = bf16 rows only, tiny = fp32)")
    ap.add_argument("--examples", type=int, help="--loop: training pairs (default: 1000 on CUDA, 128 on CPU)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--trainer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker or args.trainer:
        return worker(json.loads(args.worker)) if args.worker else trainer(json.loads(args.trainer))
    if args.loop:
        return loop(args)
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    n_batches = args.batches or (40 if cuda else 4)
    name = torch.cuda.get_device_name() if cuda else f"{platform.processor() or platform.machine()} CPU, " \
                                                      f"{torch.get_num_threads()} threads"
    rates = {d: matmul_rate(t, device) for d, t in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    peak = next((v for k, v in GPU_PEAK.items() if k in name), None) if cuda else None
    denom = peak or rates
    print(f"# {name} · torch {torch.__version__} · batch {args.batch_size} × {n_batches} timed batches of "
          f"XNLI-de pairs · measured matmul: fp32 {rates['fp32'] / 1e9:.0f}, bf16 {rates['bf16'] / 1e9:.0f} GFLOP/s"
          + (" · share = MFU vs datasheet peak" if peak else " · share = useful / measured matmul rate")
          + (f" · lengths padded to a multiple of {args.bucket}" if args.bucket else "")
          + (" · one batch, repeated" if args.fixed else ""))
    if cuda:
        print("# CUDA: each timed batch ran once before timing; times are CUDA events around one step (host launch "
              "gaps included); ms = median [p10-p90] per batch; first sight = the first run of each distinct "
              "batch shape, summed (plan builds, compilation, and the step itself); peak = max_memory_allocated")
    rows = fixed_rows(args.shapes, cuda)
    print("| shape | step | dtype | implementation | real tok/s | × transformers | peak MiB above weights "
          "| useful GFLOP/s | share |" + (" ms per batch | first sight s (shapes) |" if cuda else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|" if cuda else ""))
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", MALLOC_MMAP_THRESHOLD_="65536")  # freed = unmapped
    with tempfile.TemporaryDirectory() as tmp:
        for shape in dict.fromkeys(s for s, _, _ in rows):
            write_checkpoint(shape, Path(tmp) / shape)
            for s, train, dtype in (r for r in rows if r[0] == shape):
                job = dict(routes=args.routes.split(","), shape=shape, train=train, dtype=dtype, compile=args.compile,
                           ckpt=str(Path(tmp) / shape), batch_size=args.batch_size, batches=n_batches,
                           bucket=args.bucket or 0, fixed=args.fixed)
                out = subprocess.run([sys.executable, __file__, "--worker", json.dumps(job)], text=True,
                                     capture_output=True, env=env)
                if out.returncode:
                    sys.exit(f"bench worker failed for {job}:\n{out.stderr[-3000:]}")
                res = json.loads(out.stdout.strip().splitlines()[-1])
                for impl, r in res.items():
                    print(f"| {shape} | {'train' if train else 'infer'} | {dtype} | {impl} | {r['tokens_s']:,.0f} | "
                          f"{r['tokens_s'] / res['transformers']['tokens_s']:.2f} | {r['peak'] / 2**20:,.0f} | "
                          f"{r['gflops']:,.1f} | {100 * r['gflops'] * 1e9 / denom[dtype]:.1f}% |" + (
                              f" {r['ms'][0]:.1f} [{r['ms'][1]:.1f}-{r['ms'][2]:.1f}] | {r['first']:.2f} ({r['shapes']}) |"
                              if cuda else ""), flush=True)
    print(f"# batches: mean real length {r['mean_len']:.1f} tokens, {100 * r['pad_share']:.0f}% of a padded "
          f"batch is padding")


if __name__ == "__main__":
    main()
