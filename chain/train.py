"""The training loop, `fit`: one straight function, top to bottom; `predict` for evaluation; the schedule and
the multi-task sampling, pure functions of (seed, step).

  fit(cfg, tasks, model, run, data)  trains model + a fresh head per task on the tasks' English training
                              data, selects on their first cfg.eval_examples English dev examples, reloads
                              the best state and writes run/encoder/ (HF layout) + run/head.safetensors.
Several tasks (multi-task intermediate training) share the encoder; each keeps its head. Checkpoints, the
best state and the export are chain/checkpoint.py's; `--resume` continues exactly where the last checkpoint
stopped (bit for bit on CPU: tests/test_train.py).
"""
import json
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tqdm import tqdm

import util
from chain import checkpoint, dist
from model.tokenizer import Tokenizer
from model.xlmr import autocast
from tasks import get_task
from tasks.lib import batching
from tasks.lib.heads import make_head
from tasks.lib.reading import load_split
from tasks.lib.scoring import score
from util import UserError


class Diverged(UserError):
    pass


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training: xstilts.py prints its one line (where the run can continue from)."""


@torch.inference_mode()
def predict(model, head, features, pad_id, batch_size, dtype, device, bucket=0, cap=None):
    """Length-sorted batches, no gradients: per feature a class id (classify, choice), the start/end
    logits (span, (T, 2) on the CPU) or a label per token (tag), in feature order. bucket, cap: see batching.collate."""
    model.eval()
    head.eval()
    order = sorted(range(len(features)), key=lambda i: -batching.length(features[i]))
    pred, mine = [None] * len(features), []
    with autocast(device.type, dtype):
        for rows in [order[s:s + batch_size] for s in range(0, len(order), batch_size)][util.rank()::util.world()]:
            ids, mask, labels = batching.collate(features, rows, pad_id, device, bucket, cap)
            out = head.predict(head(model(ids, mask)), labels).cpu()
            for r, i in enumerate(rows):  # a class id, or this feature's tokens' outputs
                mine.append((i, out[r].item() if out.dim() == 1 else out[r, : len(features[i]["ids"])]))
    for i, p in util.gather(mine):  # under torchrun each rank predicted every N-th batch
        pred[i] = p
    return pred


def load_data(cfg, task, lang="en", notes=None):
    """The training data (TRAIN_ON's, e.g. MNLI for XNLI; English unless `lang` names a translation the
    task file lists in TRAIN_LANGS) and the first eval_examples of the English dev set that selects (below)."""
    train_task = get_task(task.TRAIN_ON)
    have = train_task.TRAIN_LANGS
    if lang not in have:
        raise UserError(f"{train_task.NAME} has no {lang!r} training data; it has {' '.join(have)}.")
    train = load_split(cfg, train_task, "train", lang, notes)
    if cfg.max_train_examples:  # a fixed seeded subset (data-volume sweeps)
        keep = sorted(random.Random(cfg.seed).sample(range(len(train)), min(cfg.max_train_examples, len(train))))
        train = [train[i] for i in keep]
    dev = load_split(cfg, train_task if cfg.select_on == "train" else task, "dev", "en", notes)  # jiant: TRAIN_ON's
    return train_task, train, dev[: cfg.eval_examples]


def sampling_probs(sizes, cfg):
    """Multi-task sampling (SPEC §2, jiant): p_t ∝ min(N_t, cap)^(1/T), or uniform."""
    if cfg.sampling == "uniform":
        return torch.full((len(sizes),), 1.0 / len(sizes), dtype=torch.float64)
    w = torch.tensor([min(n, cfg.sampling_cap or n) for n in sizes], dtype=torch.float64)
    w = w ** (1.0 / cfg.sampling_temperature)
    return w / w.sum()


def task_index(step, probs, seed):
    """The task of an optimiser step: a pure function of (seed, step), so a resumed run draws the same."""
    if len(probs) == 1:
        return 0
    return int(torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed * 7919 + step)))


@dataclass(eq=False)
class Job:
    """One task of a run: its module, its training features (and their padded lengths), its dev examples and
    features (selection), its head, MLM's re-masking, and the dev majority-class rate (a collapse warning)."""
    task: object
    train_f: list
    lengths: list
    dev: list
    dev_f: list
    head: torch.nn.Module
    remask: object
    majority: object


def make_jobs(cfg, tasks, data, model, tok, device, head_from):
    """{name: Job}: each task's features and a fresh head (head_from: a run whose head starts the single task's;
    --share-heads a=b: task a trains task b's head)."""
    jobs = {}
    for name, task in tasks.items():
        train_task, train, dev = data[name]
        train_f = batching.features(train_task, train, tok, cfg.max_len, cfg.qa_decode)
        dev_f = batching.features(task, dev, tok, cfg.max_len, cfg.qa_decode)
        labels = [f["label"] for f in dev_f if isinstance(f["label"], int)]
        jobs[name] = Job(task, train_f, [batching.length(f) for f in train_f], dev, dev_f,
                         make_head(task, model.config.hidden_size, model).to(device), train_task.remask,
                         100.0 * max(np.bincount(labels)) / len(labels) if labels else None)
    if head_from:
        first = next(iter(jobs.values()))
        first.head.load_state_dict(load_file(Path(head_from) / "head.safetensors", device=str(device)))
    for pair in filter(None, cfg.share_heads.split(",")):  # "mnli@hi=mnli": the first trains the second's head
        a, _, b = pair.partition("=")
        if a not in jobs or b not in jobs or a == b or jobs[a].task.HEAD != jobs[b].task.HEAD:
            raise UserError(f"--share-heads {pair}: both must be tasks of this run with the same head type.")
        jobs[a].head = jobs[b].head
    return jobs


def distinct_heads(jobs):
    """{name: head} with each head once, under the first task that uses it (what is optimised and saved)."""
    out = {}
    for name, job in jobs.items():
        if all(job.head is not h for h in out.values()):
            out[name] = job.head
    return out


def adamw(cfg, params, device):
    """Fused AdamW on the GPU; 2-D weights decay, biases and LayerNorms do not."""
    groups = [dict(params=[p for p in params if p.ndim >= 2], weight_decay=cfg.weight_decay),
              dict(params=[p for p in params if p.ndim < 2], weight_decay=0.0)]
    return torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.adam_eps, fused=device.type == "cuda")


def step_budget(cfg, jobs, order, accum):
    """Optimiser steps of the run: max_steps, or every task's epochs of steps (jiant: a task's steps per epoch
    capped at ⌈min(N, cap)/B⌉; a fractional last epoch counts its share)."""
    if cfg.max_steps:
        return cfg.max_steps
    most = math.ceil(cfg.sampling_cap / cfg.batch_size) if cfg.sampling_cap else math.inf
    total = 0
    for n in jobs:
        per_epoch = [min(math.ceil(len(order(n, e)) / accum), most) for e in range(math.ceil(cfg.epochs))]
        total += sum(per_epoch[:-1]) + round((cfg.epochs - len(per_epoch) + 1) * per_epoch[-1])
    return max(1, total)


def linear_schedule(opt, warmup, total):
    """Linear warm-up over the first `warmup` share of the steps, then linear decay to 0 at the last step."""
    warm = int(warmup * total)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warm) if s < warm else
                                             max(0.0, (total - s) / max(1, total - warm)))


def dev_scores(cfg, jobs, model, tok, device):
    """{name: its dev metrics}, and their selection value: the mean of the tasks' main metrics."""
    dev = {}
    for name, job in jobs.items():
        pred = predict(model, job.head, job.dev_f, tok.pad_id, cfg.eval_batch_size, cfg.dtype, device, cfg.bucket,
                       cfg.max_len)
        dev[name] = score(job.task, job.dev, job.dev_f, pred, cfg.qa_decode)
    return dev, sum(dev[n][job.task.METRIC] for n, job in jobs.items()) / len(jobs)


def warn_collapsed(jobs, dev):
    for name, job in jobs.items():
        acc = dev[name].get("accuracy")
        if job.majority is not None and acc is not None and abs(acc - job.majority) < 0.5:
            tqdm.write(f"warning: {name} dev accuracy {acc:.1f} is the majority-class rate: the model may have "
                       "collapsed to one class (common with fp16 or lr >= 3e-5; SPEC §6).")


def batch_order(cfg, jobs, micro):
    """order(task, epoch) → that epoch's micro-batches: a pure function of (seed, epoch), built when first needed."""
    orders = {}

    def order(n, e):
        if (n, e) not in orders:
            orders[n, e] = batching.micro_batches(jobs[n].lengths, micro, cfg.token_budget, cfg.seed, e)
        return orders[n, e]
    return order


def log_record(run, step, name, loss_sum, since, tokens, t0, sched, bar):
    """The log line of a step: mean loss since the last one (.item() syncs: only at log points), tokens/s."""
    mean_loss = util.total(loss_sum).item() / since
    if not math.isfinite(mean_loss):
        raise Diverged(f"{run}: the loss became {mean_loss} by step {step}; the last good checkpoint is "
                       f"in {run / 'checkpoints'}. Lower --lr, or use --dtype bf16/fp32.")
    rate = util.total(torch.tensor(float(tokens))).item() / (time.perf_counter() - t0)
    record = dict(step=step, task=name, loss=round(mean_loss, 5), lr=sched.get_last_lr()[0],
                  tokens_per_s=round(rate), world_size=util.world())
    bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{record['lr']:.2e}", tok_s=f"{rate:,.0f}")
    return record


def select(cfg, state, jobs, heads, model, tok, run, last):
    """Score every task on its dev examples; a better mean of their main metrics becomes the best state, saved
    to best.safetensors (so does the last step when every task keeps its final state: SELECT last, XTREME-R's
    XCOPA); else one more evaluation without improvement. → the log's dev."""
    device = next(model.parameters()).device
    dev, value = dev_scores(cfg, jobs, model, tok, device)
    keep_last = last and all(job.task.SELECT == "last" for job in jobs.values())
    if state["best"] is None or value > state["best"] or keep_last:
        state.update(best=value, best_step=state["step"], best_metrics=dev, stale=0)
        checkpoint.save_best(run, model, heads, state["step"])
    else:
        state["stale"] += 1
    warn_collapsed(jobs, dev)
    return next(iter(dev.values())) if len(jobs) == 1 else dev


def interrupted(run, step):
    kept = sorted((run / "checkpoints").glob("step-*"))
    return Interrupted(f"interrupted at step {step}; " + (
        f"checkpoint {kept[-1].name} kept in {run}; continue with --resume." if kept else
        f"no checkpoint yet in {run}; --resume starts it again."))


def fit(cfg, tasks, model, run, data, resume=False, head_from=None, on_step=None):
    """tasks {name: module}, data {name: load_data(...)}: one task per optimiser step (several tasks =
    multi-task training); selection on the mean of the tasks' main dev metrics. head_from: a finished
    run whose head.safetensors starts the (single) task's head (XCOPA continues SIQA's). on_step(step): called
    after each optimiser step (tests inject faults there)."""
    device = next(model.parameters()).device
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True  # tf32 for fp32 matmuls
    model.checkpoint = bool(cfg.grad_checkpoint)  # recompute each layer in backward: memory for time
    encode = model if cfg.compile == "off" else torch.compile(model, mode=cfg.compile)  # `model`: what is saved
    tok = Tokenizer(model.source)
    torch.manual_seed(cfg.seed)
    jobs = make_jobs(cfg, tasks, data, model, tok, device, head_from)
    names, heads = list(jobs), distinct_heads(jobs)
    params = [p for m in (model, *heads.values()) for p in m.parameters()]
    opt = adamw(cfg, params, device)
    micro = min(cfg.micro_batch or max(1, cfg.batch_size // util.world()), cfg.batch_size)  # torchrun: one per rank
    accum = max(1, cfg.batch_size // micro)  # gradient accumulation: micro-batches per optimiser step
    order = batch_order(cfg, jobs, micro)
    total = step_budget(cfg, jobs, order, accum)
    probs = sampling_probs([len(j.train_f) for j in jobs.values()], cfg)
    sched = linear_schedule(opt, cfg.warmup, total)
    scaler = torch.amp.GradScaler(device.type) if cfg.dtype == "fp16" else None  # fp16 only; bf16 needs none
    if cfg.lr == 0:  # allowed (a frozen-encoder probe, a test), never silent
        tqdm.write("warning: lr=0: training changes no weight; the run keeps the model it starts from.", sys.stderr)
    state = dict(step=0, tasks={n: dict(epoch=0, pos=0) for n in names}, best=None, best_step=0, best_metrics={},
                 stale=0, data={n: checkpoint.fingerprint([d[1], d[2]]) for n, d in data.items()})
    if resume:
        state = checkpoint.resume(run, state, model, heads, opt, sched, scaler)
    log = open(run / "metrics.jsonl", "a", encoding="utf-8") if util.main() else None  # resume repaired it
    bar = tqdm(total=total, initial=state["step"], desc=run.name, unit="step", dynamic_ncols=True, mininterval=2,
               disable=not util.main())
    try:  # Ctrl-C: one line saying where the run can continue from
        loss_sum, since, tokens, t0 = torch.zeros((), device=device), 0, 0, time.perf_counter()
        while state["step"] < total and state["stale"] < cfg.patience:
            name = names[task_index(state["step"], probs, cfg.seed)]
            job, where = jobs[name], state["tasks"][name]
            group = order(name, where["epoch"])[where["pos"]: where["pos"] + accum]
            if not group:  # this task's epoch is over: its next epoch has its own order
                where["epoch"], where["pos"] = where["epoch"] + 1, 0
                continue
            model.train()
            job.head.train()
            n_rows = sum(len(rows) for rows in group)
            for j, rows in enumerate(group):
                if j % util.world() != util.rank():  # torchrun: rank r takes micro-batches j ≡ r (mod N)
                    continue
                # dropout: the same masks on whichever rank, and after a resume
                torch.manual_seed(hash((cfg.seed, names.index(name), where["epoch"], where["pos"] + j)))
                ids, mask, labels = batching.collate(job.train_f, rows, tok.pad_id, device, cfg.bucket, cfg.max_len)
                if job.remask:  # a pure function of (seed, epoch, micro-batch): a resumed run draws the same
                    ids, labels = job.remask(ids, labels, tok, (cfg.seed, where["epoch"], where["pos"] + j))
                with autocast(device.type, cfg.dtype):  # loss in fp32, each example weighted alike
                    loss = job.head.loss(job.head(encode(ids, mask)), labels) * (len(rows) / n_rows)
                (scaler.scale(loss) if scaler else loss).backward()
                loss_sum += loss.detach()
                tokens += sum(batching.length(job.train_f[i]) for i in rows)  # counted on the host: no GPU sync
            where["pos"] += len(group)
            dist.sum_grads(params)  # torchrun: every rank now holds the whole step's gradient
            if scaler:
                scaler.unscale_(opt)  # clip the true gradients
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            if scaler:  # fp16: skips a step with inf gradients, then adapts the scale
                scaler.step(opt)
                scaler.update()
            else:  # a bad gradient must stop the run: NaN in the loss sum, checked at log points (no sync here)
                loss_sum += torch.where(norm.isfinite(), 0.0, float("nan"))
                opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            state["step"], since = state["step"] + 1, since + 1
            step, last = state["step"], state["step"] == total
            if step % cfg.log_every == 0 or step % cfg.eval_every == 0 or step % cfg.save_every == 0 or last:
                record = log_record(run, step, name, loss_sum, since, tokens, t0, sched, bar)  # a GPU sync
                loss_sum.zero_()
                since, tokens, t0 = 0, 0, time.perf_counter()
                if step % cfg.eval_every == 0 or last:  # select: the best mean of the main dev metrics
                    record["dev"] = select(cfg, state, jobs, heads, model, tok, run, last)
                if log:  # rank 0's (torchrun)
                    with checkpoint.writing(run / "metrics.jsonl"):
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                if (step % cfg.save_every == 0 or last or state["stale"] >= cfg.patience) and util.main():
                    checkpoint.save(run, state, model, heads, opt, sched, scaler, cfg.keep_last)
            bar.update(1)
            if on_step:
                on_step(step)
    except KeyboardInterrupt:
        bar.close()
        raise interrupted(run, state["step"]) from None
    finally:
        bar.close()
        if log:
            log.close()
    util.barrier()  # rank 0 has written best.safetensors
    checkpoint.load_best(run, model, heads, device)  # reload the best state
    checkpoint.export(run, model, heads, len(jobs) == 1)
    return state["best_step"], state["best_metrics"]
