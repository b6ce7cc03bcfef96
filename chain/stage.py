"""One stage of the chain: train it (`train_stage`) or evaluate it zero-shot (`evaluate`), and what both need
first: the device, the encoder a stage starts from, and the model's limits checked before any step.
"""
import os
import time
from dataclasses import replace
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

import util
from chain import rundir, train
from chain.config import read_yaml
from chain.train import load_data, predict
from model.load import load_model
from model.tokenizer import Tokenizer
from tasks import get_task
from tasks.lib import batching, submission
from tasks.lib.heads import make_head
from tasks.lib.reading import load_split
from tasks.lib.scoring import decode, measure
from util import UserError


def device_of(cfg):
    """The device a stage runs on, and the dtype it allows."""
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch sees no CUDA GPU; use --device cpu (or auto).")
    device = torch.device("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda" and util.world() > 1 and local >= torch.cuda.device_count():
        raise UserError(f"torchrun: local rank {local} has no GPU of its own (this node has "
                        f"{torch.cuda.device_count()}); use --nproc-per-node {torch.cuda.device_count()}, "
                        "or --device cpu.")
    if cfg.dtype == "fp16" and device.type != "cuda":
        raise UserError("--dtype fp16 needs a CUDA GPU; use bf16 or fp32 on CPU.")
    return device


def encoder_of(init, device, flag="--init"):
    """--init / --model: a run directory (its encoder/), a checkpoint folder, or a hub id."""
    if not init:
        raise UserError(f"{flag} is required: a run directory (runs/NAME) or a model folder / hub id.")
    p = Path(init)
    if (p / "encoder" / "config.json").exists():
        p = p / "encoder"
    elif p.is_dir() and not (p / "config.json").exists():
        raise UserError(f"{flag} {init}: neither a finished run (no encoder/) nor a model folder (no config.json).")
    elif not p.exists() and (str(init).startswith((".", "/")) or "runs" in p.parts):
        raise UserError(f"{flag} {init}: no such run or folder.")
    return load_model(p if p.exists() else str(init), device=device)


def auto_layer(layer, depth):
    """--layer -1: jiant's hidden_states[14] of XLM-R large's 24 layers, at the same relative depth."""
    return round(14 * depth / 24) if layer == -1 else layer


def check_model(cfg, config, retrieval=False, what="the model"):
    """What a model's config rules out, before any step: max_len beyond its positions, a layer it lacks."""
    longest = config.max_position_embeddings - config.pad_token_id - 1  # 512 for XLM-R
    if cfg.max_len > longest:
        raise UserError(f"--max-len {cfg.max_len}: {what} has {longest} positions; use --max-len {longest} or less.")
    if retrieval and auto_layer(cfg.layer, config.num_hidden_layers) > config.num_hidden_layers:
        raise UserError(f"--layer {cfg.layer}: {what} has hidden states 0..{config.num_hidden_layers} "
                        "(0 = embeddings); -1 picks the same relative depth as jiant's 14 of 24.")


def train_stage(cfg, task_names, init, resume, head_from=None, flag="--init"):
    """Open (or resume) the run, load the encoder (init: model id/folder or run), fit, write dev results.
    task_names: one task, or a comma list (multi-task training); head_from: a run whose head to start from."""
    notes = []  # malformed rows tolerated while loading: recorded in stage.json
    tasks = {n: get_task(n.split("@")[0]) for n in task_names.split(",")}  # mnli@hi: MNLI in Hindi
    data = {n: load_data(cfg, t, n.split("@")[1] if "@" in n else cfg.lang, notes)  # bad data stops here
            for n, t in tasks.items()}
    model = encoder_of(init, device_of(cfg), flag)
    check_model(cfg, model.config, what=f"{flag} {init}")
    run, held = rundir.open_run(cfg, resume)
    try:
        if (run / "results.json").exists():  # finished: --resume has nothing left to do
            print(f"{run}: finished already (results.json); nothing to resume.")
            return run
        started = time.time()
        _, best = train.fit(cfg, tasks, model, run, data, resume, head_from)  # train.fit: tests inject faults
        rundir.write_json(run / "stage.json", dict(task=task_names, init=str(init), skipped_rows=notes,
                                                   train_examples={n: len(d[1]) for n, d in data.items()},
                                                   provenance=rundir.provenance(started)))
        rundir.write_results(run, {n: {"en-dev": best[n]} for n in tasks})
    finally:
        rundir.release(held)
    util.barrier()  # torchrun: the next stage may read this one's results.json
    return run


def load_head(task, run_or_model, model, device):
    """The head a target's run trained (XNLI may use an MNLI run's), or None: retrieval with the encoder alone
    (a dual-encoder run of LAReQA / Mewsli-X has a head: its pooler projection)."""
    saved = Path(run_or_model) / "config.yaml"
    trained = str(read_yaml(saved).get("task", "")) if saved.exists() else ""
    if task.RETRIEVAL and not (task.HEAD == "dual" and trained == task.NAME):
        return None
    head_file = Path(run_or_model) / "head.safetensors"
    if not head_file.exists():
        raise UserError(f"--init {run_or_model}: no {task.NAME} head (head.safetensors); train one with "
                        f"`xstilts.py target --task {task.NAME} --init RUN` first.")
    trained = trained or task.NAME
    if trained not in (task.NAME, task.TRAIN_ON):
        raise UserError(f"--init {run_or_model}: its head was trained for {trained}, not {task.NAME}; evaluate it "
                        f"as {trained}, or train a {task.NAME} head: `xstilts.py target --task {task.NAME}`.")
    head = make_head(task, model.config.hidden_size).to(device)
    try:
        head.load_state_dict(load_file(head_file))
    except SafetensorError as e:  # truncated, or not a safetensors file at all
        raise UserError(f"--init {run_or_model}: {head_file} cannot be read ({str(e).splitlines()[0][:120]}); "
                        "train the target again or restore the file.") from None
    except RuntimeError:
        raise UserError(f"--init {run_or_model}: head.safetensors does not fit a {task.NAME} head "
                        f"({task.HEAD}); train one with `xstilts.py target --task {task.NAME}`.") from None
    return head


def evaluate(cfg, task_name, run_or_model, langs):
    """Zero-shot on `langs` of a target (trained targets need the run's head) → (results {lang: metrics},
    {relative path: text}: predictions/ and labels/ in XTREME's layout)."""
    task, device = get_task(task_name), device_of(cfg)
    unknown = sorted(set(langs) - set(task.LANGS))
    if unknown:
        raise UserError(f"--langs {','.join(langs)}: {task_name} has no {', '.join(unknown)}; "
                        f"it has {' '.join(task.LANGS)}.")
    model = encoder_of(run_or_model, device)
    check_model(cfg, model.config, task.RETRIEVAL, f"--init {run_or_model}")
    cfg = replace(cfg, layer=auto_layer(cfg.layer, model.config.num_hidden_layers))
    tok = Tokenizer(model.source)
    head = load_head(task, run_or_model, model, device)
    results, files, folder = {}, {}, submission.folder(task_name)
    for lang in langs:
        examples = load_split(cfg, task, "test", lang)
        if task.RETRIEVAL:
            tuned = dict(head=head.eval()) if head else {}
            if task.TUNE_ON_DEV:  # BUCC: the threshold comes from the dev gold
                dev, _, _ = task.evaluate(model, tok, cfg, load_split(cfg, task, "dev", lang), device)
                tuned = dict(threshold=dev["threshold"])
            results[lang], guess, gold = task.evaluate(model, tok, cfg, examples, device, **tuned)
        else:
            feats = batching.features(task, examples, tok, cfg.max_len, cfg.qa_decode)
            pred = predict(model, head, feats, tok.pad_id, cfg.eval_batch_size, cfg.dtype, device, cfg.bucket,
                           cfg.max_len)
            guess, gold = decode(task, examples, feats, pred, cfg.qa_decode)
            results[lang] = measure(task, examples, guess, gold)
        for kind, value in (("predictions", guess), ("labels", gold)):
            name = f"{kind}/{folder}/test-{lang}.{submission.suffix(folder)}"
            files[name] = submission.render(folder, value, gold=kind == "labels")
        print(f"{task_name} {lang}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[lang].items()))
    return results, files
