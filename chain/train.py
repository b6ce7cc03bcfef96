"""The training loop (one straight function, `fit`), evaluation, run directories and checkpoints.

  fit(cfg, tasks, model, run, data)  trains model + a fresh head per task on the tasks' English training
                              data, selects on their first cfg.eval_examples English dev examples, reloads
                              the best state and writes run/encoder/ (HF layout) + run/head.safetensors.
A run directory holds config.yaml, metrics.jsonl, checkpoints/step-N/ (encoder/, heads.safetensors,
trainer.safetensors + trainer.json: optimiser, schedule, scaler, RNG, data position and the training
data's fingerprint; no pickles), best.safetensors, results.{json,md}.
Several tasks (multi-task intermediate training) share the encoder; each keeps its head.
Every file is written atomically and a checkpoint directory appears only once complete, so `--resume`
continues exactly where the last checkpoint stopped (bit for bit on CPU: tests/test_train.py).
"""
import contextlib
import hashlib
import json
import math
import random
import shutil
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm import tqdm

import util
from chain import dist
from util import UserError
from model.load import save_model
from util import atomic_write
from model.tokenizer import Tokenizer
from model.xlmr import autocast
from tasks import get_task
from tasks.lib import batching
from tasks.lib.reading import load_split
from tasks.lib.scoring import score
from tasks.lib.heads import make_head

CRASH_AT_STEP = None  # tests set it to simulate a run killed right after that optimiser step


class Diverged(UserError):
    pass


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training: xstilts.py prints its one line (where the run can continue from)."""


def fingerprint(examples):
    """sha256 of a task's training + dev examples: `--resume` refuses data that changed under a run."""
    return hashlib.sha256(json.dumps(examples, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@torch.inference_mode()
def predict(model, head, features, pad_id, batch_size, dtype, device, bucket=0, cap=None):
    """Length-sorted batches, no gradients: per feature a class id (classify, choice), the start/end
    logits (span, (T, 2) on the CPU) or a label per token (tag), in feature order. bucket, cap: see batching.collate."""
    model.eval(), head.eval()
    order = sorted(range(len(features)), key=lambda i: -batching.length(features[i]))
    pred, mine = [None] * len(features), []
    with autocast(device.type, dtype):
        for rows in [order[s:s + batch_size] for s in range(0, len(order), batch_size)][util.rank()::util.world()]:
            ids, mask, labels = batching.collate(features, rows, pad_id, device, bucket, cap)
            out = head.predict(head(model(ids, mask)), labels).cpu()
            mine += [(i, out[r].item() if out.dim() == 1 else out[r, : len(features[i]["ids"])]) for r, i in enumerate(rows)]
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
    dev = load_split(cfg, train_task if cfg.select_on == "train" else task, "dev", "en", notes)  # jiant: the training task's
    return train_task, train, dev[: cfg.eval_examples]


def sampling_probs(sizes, cfg):
    """Multi-task sampling (SPEC §2, jiant): p_t ∝ min(N_t, cap)^(1/T), or uniform."""
    if cfg.sampling == "uniform":
        return torch.full((len(sizes),), 1.0 / len(sizes), dtype=torch.float64)
    w = torch.tensor([min(n, cfg.sampling_cap or n) for n in sizes], dtype=torch.float64) ** (1.0 / cfg.sampling_temperature)
    return w / w.sum()


def task_index(step, probs, seed):
    """The task of an optimiser step: a pure function of (seed, step), so a resumed run draws the same."""
    if len(probs) == 1:
        return 0
    return int(torch.multinomial(probs, 1, generator=torch.Generator().manual_seed(seed * 7919 + step)))


def fit(cfg, tasks, model, run, data, resume=False, head_from=None):
    """tasks {name: module}, data {name: load_data(...)}: one task per optimiser step (several tasks =
    multi-task training); selection on the mean of the tasks' main dev metrics. head_from: a finished
    run whose head.safetensors starts the (single) task's head (XCOPA continues SIQA's)."""
    device = next(model.parameters()).device
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True  # tf32 for fp32 matmuls
    model.checkpoint = bool(cfg.grad_checkpoint)  # recompute each layer in backward: memory for time
    encode = model if cfg.compile == "off" else torch.compile(model, mode=cfg.compile)  # `model`: what is saved
    tok = Tokenizer(model.source)
    torch.manual_seed(cfg.seed)
    jobs = {}
    for name, task in tasks.items():
        train_task, train, dev = data[name]
        train_f, dev_f = train_task.encode(train, tok, cfg.max_len), task.encode(dev, tok, cfg.max_len)
        labels = [f["label"] for f in dev_f if isinstance(f["label"], int)]
        jobs[name] = dict(task=task, train_f=train_f, dev=dev, dev_f=dev_f, lengths=[batching.length(f) for f in train_f],
                          remask=train_task.remask,  # MLM: a fresh mask per micro-batch
                          head=make_head(task, model.config.hidden_size, model).to(device),
                          majority=100.0 * max(np.bincount(labels)) / len(labels) if labels else None)
    names = list(jobs)
    if head_from:
        jobs[names[0]]["head"].load_state_dict(load_file(Path(head_from) / "head.safetensors", device=str(device)))
    for pair in filter(None, cfg.share_heads.split(",")):  # "mnli@hi=mnli": the first trains the second's head
        a, _, b = pair.partition("=")
        if a not in jobs or b not in jobs or a == b or jobs[a]["task"].HEAD != jobs[b]["task"].HEAD:
            raise UserError(f"--share-heads {pair}: both must be tasks of this run with the same head type.")
        jobs[a]["head"] = jobs[b]["head"]
    heads = {n: j["head"] for n, j in jobs.items() if all(j["head"] is not jobs[m]["head"] for m in names[:names.index(n)])}
    params = [p for m in (model, *heads.values()) for p in m.parameters()]
    groups = [dict(params=[p for p in params if p.ndim >= 2], weight_decay=cfg.weight_decay),  # 2-D weights decay
              dict(params=[p for p in params if p.ndim < 2], weight_decay=0.0)]  # biases, LayerNorms do not
    opt = torch.optim.AdamW(groups, lr=cfg.lr, eps=cfg.adam_eps, fused=device.type == "cuda")  # fused on GPU
    micro = min(cfg.micro_batch or max(1, cfg.batch_size // util.world()), cfg.batch_size)  # torchrun: one per rank
    accum = max(1, cfg.batch_size // micro)  # gradient accumulation: micro-batches per optimiser step
    orders = {}  # (task, epoch) → micro-batches: a pure function of (seed, epoch), built when first needed

    def order(n, e):
        if (n, e) not in orders:
            orders[n, e] = batching.micro_batches(jobs[n]["lengths"], micro, cfg.token_budget, cfg.seed, e)
        return orders[n, e]

    most = math.ceil(cfg.sampling_cap / cfg.batch_size) if cfg.sampling_cap else math.inf  # jiant: ⌈min(N, cap)/B⌉
    per_epoch = [[min(math.ceil(len(order(n, e)) / accum), most) for e in range(math.ceil(cfg.epochs))] for n in names]
    total = cfg.max_steps or max(1, sum(sum(p[:-1]) + round((cfg.epochs - len(p) + 1) * p[-1]) for p in per_epoch))
    probs = sampling_probs([len(j["train_f"]) for j in jobs.values()], cfg)
    last = all(j["task"].SELECT == "last" for j in jobs.values())  # XTREME-R's XCOPA: final state
    warm = int(cfg.warmup * total)  # linear warm-up, then linear decay to 0
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: s / max(1, warm) if s < warm else
                                              max(0.0, (total - s) / max(1, total - warm)))
    scaler = torch.amp.GradScaler(device.type) if cfg.dtype == "fp16" else None  # fp16 only; bf16 needs none
    if cfg.lr == 0:  # allowed (a frozen-encoder probe, a test), never silent
        tqdm.write("warning: lr=0: training changes no weight; the run keeps the model it starts from.", sys.stderr)
    state = dict(step=0, tasks={n: dict(epoch=0, pos=0) for n in names}, best=None, best_step=0, best_metrics={},
                 stale=0, data={n: fingerprint([d[1], d[2]]) for n, d in data.items()})
    if resume:
        saved = restore(run, model, heads, opt, sched, scaler)
        changed = [n for n in names if saved and saved.get("data", state["data"]).get(n) != state["data"][n]]
        if changed:
            raise UserError(f"--resume: the training or dev data of {', '.join(changed)} changed since {run} started "
                            "(its fingerprint differs); restore the files, or start a new --name.")
        state = saved or state
    log = open(run / "metrics.jsonl", "a", encoding="utf-8") if util.main() else None  # restore() repaired it
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
            model.train(), job["head"].train()
            n_rows = sum(len(rows) for rows in group)
            for j, rows in enumerate(group):
                if j % util.world() != util.rank():  # torchrun: rank r takes micro-batches j ≡ r (mod N)
                    continue
                torch.manual_seed(hash((cfg.seed, names.index(name), where["epoch"], where["pos"] + j)))  # dropout: the
                # same masks on whichever rank, and after a resume
                ids, mask, labels = batching.collate(job["train_f"], rows, tok.pad_id, device, cfg.bucket, cfg.max_len)
                if job["remask"]:  # a pure function of (seed, epoch, micro-batch): a resumed run draws the same
                    ids, labels = job["remask"](ids, labels, tok, (cfg.seed, where["epoch"], where["pos"] + j))
                with autocast(device.type, cfg.dtype):  # loss in fp32, each example weighted alike
                    loss = job["head"].loss(job["head"](encode(ids, mask)), labels) * (len(rows) / n_rows)
                (scaler.scale(loss) if scaler else loss).backward()
                loss_sum += loss.detach()
                tokens += sum(batching.length(job["train_f"][i]) for i in rows)  # counted on the host: no GPU sync
            where["pos"] += len(group)
            dist.sum_grads(params)  # torchrun: every rank now holds the whole step's gradient
            if scaler:
                scaler.unscale_(opt)  # clip the true gradients
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            if not scaler:  # fp16's scaler skips inf steps itself; otherwise a bad gradient must stop the run
                loss_sum += torch.where(norm.isfinite(), 0.0, float("nan"))  # no sync: checked at log points
            (scaler.step(opt), scaler.update()) if scaler else opt.step()  # fp16: step, then adapt the scale
            sched.step()
            opt.zero_grad(set_to_none=True)
            state["step"], since = state["step"] + 1, since + 1
            step, last = state["step"], state["step"] == total
            if step % cfg.log_every == 0 or step % cfg.eval_every == 0 or step % cfg.save_every == 0 or last:
                mean_loss = util.total(loss_sum).item() / since  # .item() syncs: only at log points
                if not math.isfinite(mean_loss):
                    raise Diverged(f"{run}: the loss became {mean_loss} by step {step}; the last good checkpoint is "
                                   f"in {run / 'checkpoints'}. Lower --lr, or use --dtype bf16/fp32.")
                rate = util.total(torch.tensor(float(tokens))).item() / (time.perf_counter() - t0)
                record = dict(step=step, task=name, loss=round(mean_loss, 5), lr=sched.get_last_lr()[0],
                              tokens_per_s=round(rate), world_size=util.world())
                bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{record['lr']:.2e}", tok_s=f"{rate:,.0f}")
                loss_sum.zero_()
                since, tokens, t0 = 0, 0, time.perf_counter()
                if step % cfg.eval_every == 0 or last:
                    dev = {n: score(j["task"], j["dev"], j["dev_f"], predict(model, j["head"], j["dev_f"], tok.pad_id,
                                    cfg.eval_batch_size, cfg.dtype, device, cfg.bucket, cfg.max_len))
                           for n, j in jobs.items()}
                    value = sum(dev[n][jobs[n]["task"].METRIC] for n in names) / len(names)  # mean of main metrics
                    record["dev"] = dev[name] if len(names) == 1 else dev
                    if state["best"] is None or value > state["best"] or last:
                        state.update(best=value, best_step=step, best_metrics=dev, stale=0)
                        tensors = {f"encoder.{k}": v for k, v in model.state_dict().items()}
                        tensors.update({f"head.{n}.{k}": v for n, h in heads.items() for k, v in h.state_dict().items()})
                        with writing(run / "best.safetensors"):
                            util.main() and atomic_write(run / "best.safetensors", lambda tmp: save_file(
                                {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, tmp, {"step": str(step)}))
                    else:
                        state["stale"] += 1
                    for n, j in jobs.items():
                        acc = dev[n].get("accuracy")
                        if j["majority"] is not None and acc is not None and abs(acc - j["majority"]) < 0.5:
                            tqdm.write(f"warning: {n} dev accuracy {acc:.1f} is the majority-class rate: the model may "
                                       "have collapsed to one class (common with fp16 or lr >= 3e-5; SPEC §6).")
                if log:  # rank 0's (torchrun)
                    with writing(run / "metrics.jsonl"):
                        log.write(json.dumps(record) + "\n")
                        log.flush()
                if (step % cfg.save_every == 0 or last or state["stale"] >= cfg.patience) and util.main():
                    save_checkpoint(run, state, model, heads, opt, sched, scaler, cfg.keep_last)
            bar.update(1)
            if CRASH_AT_STEP == step:
                raise KeyboardInterrupt(f"simulated crash after step {step}")
    except KeyboardInterrupt:
        bar.close()
        kept = sorted((run / "checkpoints").glob("step-*"))
        raise Interrupted(f"interrupted at step {state['step']}; " + (
            f"checkpoint {kept[-1].name} kept in {run}; continue with --resume." if kept else
            f"no checkpoint yet in {run}; --resume starts it again.")) from None
    finally:
        bar.close(), log and log.close()
    util.barrier()  # rank 0 has written best.safetensors
    best = load_file(run / "best.safetensors", device=str(device))  # reload the best state
    model.load_state_dict({k[8:]: v for k, v in best.items() if k.startswith("encoder.")})
    for n, h in heads.items():
        h.load_state_dict({k[len(n) + 6:]: v for k, v in best.items() if k.startswith(f"head.{n}.")})
    with writing(run / "encoder"):
        export(run, model, heads, len(jobs))
    return state["best_step"], state["best_metrics"]


def export(run, model, heads, n_jobs):
    """run/encoder/ (HF layout) and the heads: rank 0 writes (torchrun)."""
    if util.main():
        save_model(model, run / "encoder")
        for n, h in heads.items():  # one task: head.safetensors; several: heads/<task>.safetensors
            path = run / "head.safetensors" if n_jobs == 1 else run / "heads" / f"{n}.safetensors"
            path.parent.mkdir(exist_ok=True)
            atomic_write(path, lambda tmp: save_file({k: v.detach().cpu().contiguous() for k, v in h.state_dict().items()},
                                                     tmp))


@contextlib.contextmanager
def writing(path):
    """A failed write (disk full, read-only disk) is one line naming the file; the run stays resumable."""
    try:
        yield
    except (OSError, SafetensorError) as err:
        raise UserError(f"{path}: cannot write it ({first_line(err)}); free space on its disk "
                        f"(df -h {Path(path).parent}), then continue with --resume.") from None


def save_checkpoint(run, state, model, heads, opt, sched, scaler, keep):
    """Write checkpoints/.tmp-step-N/ fully, then rename it to step-N: a killed write is never loaded.
    trainer.safetensors holds the optimiser's tensors and the RNG states, trainer.json the rest: nothing in
    a checkpoint is a pickle, so resuming a run folder from elsewhere cannot run code."""
    ck = run / "checkpoints"
    tmp, final = ck / f".tmp-step-{state['step']:08d}", ck / f"step-{state['step']:08d}"
    with writing(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_model(model, tmp / "encoder")
        save_file({f"{n}.{k}": v.detach().cpu().contiguous() for n, h in heads.items() for k, v in h.state_dict().items()},
                  tmp / "heads.safetensors")
        opt_state = opt.state_dict()
        tensors = {f"opt.{i}.{k}": v.detach().cpu().contiguous() for i, s in opt_state["state"].items() for k, v in s.items()}
        np_rng = np.random.get_state()
        tensors.update({"rng.torch": torch.get_rng_state(), "rng.np": torch.from_numpy(np_rng[1].astype(np.int64))})
        if torch.cuda.is_available():
            tensors.update({f"rng.cuda.{i}": t for i, t in enumerate(torch.cuda.get_rng_state_all())})
        save_file(tensors, tmp / "trainer.safetensors")
        meta = dict(state=state, groups=opt_state["param_groups"], sched=sched.state_dict(), py_rng=random.getstate(),
                    np_rng=[np_rng[0], *np_rng[2:]], scaler=scaler.state_dict() if scaler else None,
                    crc32={str(f.relative_to(tmp)): crc32(f) for f in sorted(tmp.rglob("*.safetensors"))})
        (tmp / "trainer.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        for old in sorted(ck.glob("step-*"))[:-keep]:
            shutil.rmtree(old)


def restore(run, model, heads, opt, sched, scaler):
    """Load the newest complete checkpoint into the live objects; None if there is none yet. Torn leftovers
    of a killed write (temp files, .tmp-step-N/, a half line at the end of metrics.jsonl) are cleared."""
    for junk in [*run.rglob(".*.tmp*"), *(run / "checkpoints").glob(".tmp-step-*")] if util.main() else []:
        shutil.rmtree(junk) if junk.is_dir() else junk.unlink()  # encoder/, heads/ too; rank 0 cleans (torchrun)
    done = sorted((run / "checkpoints").glob("step-*"))
    if not done:  # killed before its first checkpoint: start again, with a fresh log
        (run / "metrics.jsonl").unlink(missing_ok=True) if util.main() else None
        return None
    ck = done[-1]
    if (ck / "trainer.pt").exists() and not (ck / "trainer.json").exists():
        raise UserError(f"--resume: {ck} was written by an older xstilts (trainer.pt, a pickle, which is never "
                        "loaded: it could run code); start the run again under a new --name.")
    from model.load import load_model
    try:
        meta = json.loads((ck / "trainer.json").read_text("utf-8"))
        for name, want in (meta.get("crc32") or {}).items():  # flipped bytes: the tensors are not what was saved
            if crc32(ck / name) != want:
                raise ValueError(f"{name} changed since it was written (CRC-32 differs)")
        checked(meta, ck, opt)
        model.load_state_dict(load_model(ck / "encoder").state_dict())
        saved_heads = load_file(ck / "heads.safetensors")
        for n, h in heads.items():
            h.load_state_dict({k[len(n) + 1:]: v for k, v in saved_heads.items() if k.startswith(n + ".")})
        tensors = load_file(ck / "trainer.safetensors")
        opt.load_state_dict(dict(param_groups=meta["groups"], state={
            int(i): {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"opt.{i}.")}
            for i in {k.split(".")[1] for k in tensors if k.startswith("opt.")}}))
        sched.load_state_dict(meta["sched"])
        if scaler and meta["scaler"]:
            scaler.load_state_dict(meta["scaler"])
        torch.set_rng_state(tensors["rng.torch"])
        random.setstate((meta["py_rng"][0], tuple(meta["py_rng"][1]), meta["py_rng"][2]))
        np.random.set_state((meta["np_rng"][0], tensors["rng.np"].numpy().astype(np.uint32), *meta["np_rng"][1:]))
        for i in range(torch.cuda.device_count() if torch.cuda.is_available() else 0):  # GPUs seen then and now
            if f"rng.cuda.{i}" in tensors:
                torch.cuda.set_rng_state(tensors[f"rng.cuda.{i}"], i)
    except (UserError, OSError, SafetensorError, ValueError, KeyError, TypeError, RuntimeError) as e:
        before = f"{done[-2].name}" if len(done) > 1 else "the start"
        raise UserError(f"--resume: checkpoint {ck} cannot be loaded ({first_line(e)[:160]}); if it is damaged, "
                        f"delete that folder to resume from {before}.") from None
    state = meta["state"]
    log = run / "metrics.jsonl"  # steps logged after this checkpoint will be logged again
    if log.exists():
        kept = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
                if (record := parsed(line)) and record["step"] <= state["step"]]  # a torn last line is dropped
        if util.main():
            atomic_write(log, lambda tmp: Path(tmp).write_text("".join(line + "\n" for line in kept), encoding="utf-8"))
    best = run / "best.safetensors"
    if state["best"] is not None and not best.exists():
        raise UserError(f"--resume: {best} is missing, and checkpoint {ck.name} counts on it (best step "
                        f"{state['best_step']}); restore it, or start the run again under a new --name.")
    try:
        best_step = safe_step(best) if state["best"] is not None else None
    except (OSError, SafetensorError, ValueError) as e:
        raise UserError(f"--resume: {best} is damaged ({first_line(e)[:120]}); restore it, or start the run again "
                        "under a new --name.") from None
    if state["best"] is not None and best_step != state["best_step"]:  # written after the checkpoint
        state.update(best=None, stale=0)  # the next evaluation sets the best state again
    return state


def crc32(path):
    """CRC-32 of a file, read in 16 MiB blocks: catches flipped or truncated bytes at disk speed."""
    value = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            value = zlib.crc32(block, value)
    return value


def checked(meta, ck, opt):
    """trainer.json's values against the folder and the live optimiser, before any of them is applied."""
    state, groups = meta.get("state") or {}, meta.get("groups") or []
    if not isinstance(state.get("step"), int) or f"step-{state['step']:08d}" != ck.name:
        raise ValueError(f"trainer.json says step {state.get('step')!r}, the folder {ck.name}")
    if len(groups) != len(opt.param_groups):
        raise ValueError(f"{len(groups)} optimiser groups, this model has {len(opt.param_groups)}")
    offset = 0  # a saved group lists its parameters by index, numbered across the groups
    for live, g in zip(opt.param_groups, groups):
        if g.get("params") != list(range(offset, offset + len(live["params"]))):
            raise ValueError("its optimiser groups are not this model's parameters")
        offset += len(live["params"])
        if not all(type(g.get(k)) in (int, float) and math.isfinite(g[k]) and g[k] >= 0
                   for k in ("lr", "weight_decay")):
            raise ValueError(f"an optimiser group has lr {g.get('lr')!r}, weight_decay {g.get('weight_decay')!r}")


def first_line(err):
    return (str(err) or type(err).__name__).splitlines()[0]


def parsed(line):
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) and isinstance(record.get("step"), int) else None


def safe_step(path):
    from safetensors import safe_open
    with safe_open(path, "pt") as f:
        return int((f.metadata() or {}).get("step", -1))
