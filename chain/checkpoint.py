"""Checkpoints and the files of a training run, without pickles: what `--resume` continues from.

checkpoints/step-N/ holds encoder/ (HF layout), heads.safetensors, trainer.safetensors (the optimiser's tensors
and the RNG states) and trainer.json (step, schedule, scaler, data position, the training data's fingerprint,
each tensor file's CRC-32). A checkpoint is written as .tmp-step-N/ and renamed once complete, so a killed write
is never loaded; `restore` clears torn leftovers and checks a checkpoint before applying any of it.
best.safetensors holds the selected state; `export` writes run/encoder/ + the heads from it.
"""
import contextlib
import hashlib
import json
import math
import random
import shutil
import zlib
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import util
from model.load import load_model, save_model
from util import UserError, atomic_write


def fingerprint(examples):
    """sha256 of a task's training + dev examples: `--resume` refuses data that changed under a run."""
    return hashlib.sha256(json.dumps(examples, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


@contextlib.contextmanager
def writing(path):
    """A failed write (disk full, read-only disk) is one line naming the file; the run stays resumable."""
    try:
        yield
    except (OSError, SafetensorError) as err:
        raise UserError(f"{path}: cannot write it ({first_line(err)}); free space on its disk "
                        f"(df -h {Path(path).parent}), then continue with --resume.") from None


def save(run, state, model, heads, opt, sched, scaler, keep):
    """Write checkpoints/.tmp-step-N/ fully, then rename it to step-N: a killed write is never loaded.
    trainer.safetensors holds the optimiser's tensors and the RNG states, trainer.json the rest: nothing in
    a checkpoint is a pickle, so resuming a run folder from elsewhere cannot run code."""
    ck = run / "checkpoints"
    tmp, final = ck / f".tmp-step-{state['step']:08d}", ck / f"step-{state['step']:08d}"
    with writing(tmp):
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        save_model(model, tmp / "encoder")
        head_tensors = {k: v for n, h in heads.items() for k, v in tensors_of(h, f"{n}.").items()}
        save_file(head_tensors, tmp / "heads.safetensors")
        opt_state = opt.state_dict()
        tensors = {f"opt.{i}.{k}": v.detach().cpu().contiguous() for i, s in opt_state["state"].items()
                   for k, v in s.items()}
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
        if junk.is_dir():  # encoder/, heads/ too; rank 0 cleans (torchrun)
            shutil.rmtree(junk)
        else:
            junk.unlink()
    done = sorted((run / "checkpoints").glob("step-*"))
    if not done:  # killed before its first checkpoint: start again, with a fresh log
        if util.main():
            (run / "metrics.jsonl").unlink(missing_ok=True)
        return None
    ck = done[-1]
    if (ck / "trainer.pt").exists() and not (ck / "trainer.json").exists():
        raise UserError(f"--resume: {ck} was written by an older xstilts (trainer.pt, a pickle, which is never "
                        "loaded: it could run code); start the run again under a new --name.")
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


def resume(run, state, model, heads, opt, sched, scaler):
    """The state to continue from: the newest checkpoint's, loaded into the live objects, or `state` (a fresh
    start) when there is none yet. Training data that changed under the run stops it."""
    saved = restore(run, model, heads, opt, sched, scaler)
    changed = [n for n in state["data"] if saved and saved.get("data", state["data"]).get(n) != state["data"][n]]
    if changed:
        raise UserError(f"--resume: the training or dev data of {', '.join(changed)} changed since {run} started "
                        "(its fingerprint differs); restore the files, or start a new --name.")
    return saved or state


def tensors_of(module, prefix=""):
    return {f"{prefix}{k}": v.detach().cpu().contiguous() for k, v in module.state_dict().items()}


def save_best(run, model, heads, step):
    """best.safetensors: the encoder and every head at the selected step (rank 0 copies and writes)."""
    if util.main():
        tensors = tensors_of(model, "encoder.")
        for n, h in heads.items():
            tensors.update(tensors_of(h, f"head.{n}."))
        with writing(run / "best.safetensors"):
            atomic_write(run / "best.safetensors", lambda tmp: save_file(tensors, tmp, {"step": str(step)}))


def load_best(run, model, heads, device):
    best = load_file(run / "best.safetensors", device=str(device))
    model.load_state_dict({k[8:]: v for k, v in best.items() if k.startswith("encoder.")})
    for n, h in heads.items():
        h.load_state_dict({k[len(n) + 6:]: v for k, v in best.items() if k.startswith(f"head.{n}.")})


def export(run, model, heads, one_task):
    """run/encoder/ (HF layout) and the heads: one task's head.safetensors, several tasks' heads/<task>.safetensors
    (rank 0 writes)."""
    if not util.main():
        return
    with writing(run / "encoder"):
        save_model(model, run / "encoder")
        for n, h in heads.items():
            path = run / "head.safetensors" if one_task else run / "heads" / f"{n}.safetensors"
            path.parent.mkdir(exist_ok=True)
            atomic_write(path, lambda tmp: save_file(tensors_of(h), tmp))
