"""Running one stage: run directories (open, resume checks), the encoder a stage starts from, training
(`train_stage`), zero-shot evaluation (`evaluate`) and the result files, each written atomically.

A run directory holds config.yaml (the resolved Config), what chain/train.py writes, and results.json
last, so a directory with results.json is a finished stage and one without it is resumable.
"""
import os
import time
from dataclasses import asdict, replace
from pathlib import Path

import util
from chain.config import read_yaml, write_yaml
from util import UserError
from util import atomic_write

NOT_TRAINING = {"name", "runs_dir", "data_dir", "targets", "langs", "init", "layer", "pool", "eval_batch_size",
                "log_every", "save_every", "keep_last", "device", "max_bad_rows", "retrieval_tune", "bucket", "compile",
                "grad_checkpoint"}  # never change trained weights (bucket, compile, checkpointing: only float rounding)


def training_keys(cfg):
    """The Config keys that determine a trained stage's result."""
    return {k: v for k, v in asdict(cfg).items() if k not in NOT_TRAINING}


def same_config(cfg, run):
    """A finished or resumed run continues only with the settings that shaped its training."""
    saved = read_yaml(run / "config.yaml")
    changed = sorted(k for k, v in training_keys(cfg).items() if k in saved and saved[k] != v)
    if set(changed) & {"epochs", "max_steps"}:  # why a finished schedule cannot simply be extended
        raise UserError(f"--resume: {run} was started with epochs={saved.get('epochs')} max_steps="
                        f"{saved.get('max_steps')}; its learning rate decays linearly to 0 at that last step, so more "
                        "steps would not be the longer recipe. Start a new --name with the new length, or continue "
                        "from its encoder with --model/--init RUN.")
    if changed:
        raise UserError(f"--resume: {', '.join(changed)} differ from {run / 'config.yaml'}; resume with the "
                        "same settings (or start a new --name).")


def open_run(cfg, resume):
    """runs/<name>/ with config.yaml; an existing one is continued only with --resume and the same config.
    The folder is locked while this process uses it: a second process on the same run stops with one line."""
    run = Path(cfg.runs_dir) / cfg.name
    started = begun(run)
    util.barrier()  # torchrun: every rank has looked before rank 0 makes the folder
    if started and not resume:
        raise UserError(f"{run}: this run directory exists; continue it with --resume or pick another --name.")
    if started and not (run / "config.yaml").exists():
        raise UserError(f"--resume: {run} is not a run (no config.yaml); pick another --name.")
    run.mkdir(parents=True, exist_ok=True)
    lock(run)
    if started:
        same_config(cfg, run)
    else:
        write_yaml(cfg, run / "config.yaml")
    return run


def begun(run):
    """A folder holding more than its lock and temp files: a folder killed as it was made starts again."""
    return run.is_dir() and any(p.name != ".lock" and not (p.name.startswith(".") and ".tmp" in p.name)
                                for p in run.iterdir())


LOCKS = {}  # run folder → its open lock file, held while this process uses the run


def lock(run):
    import fcntl

    if not util.main():  # torchrun: rank 0 holds the run's lock for all ranks
        return
    f = open(run / ".lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        raise UserError(f"{run}: another xstilts process (pid {f.read().strip() or '?'}) is using this run; "
                        "wait for it to finish, or pick another --name.") from None
    f.truncate(0), f.write(str(os.getpid())), f.flush()
    LOCKS[str(run.resolve())] = f


def unlock(run):
    f = LOCKS.pop(str(Path(run).resolve()), None)
    if f:
        f.close()  # closing the file releases the flock


def device_of(cfg):
    import torch
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch sees no CUDA GPU; use --device cpu (or auto).")
    device = torch.device("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")
    if cfg.dtype == "fp16" and device.type != "cuda":
        raise UserError("--dtype fp16 needs a CUDA GPU; use bf16 or fp32 on CPU.")
    return device


def encoder_of(init, device, flag="--init"):
    """--init / --model: a run directory (its encoder/), a checkpoint folder, or a hub id."""
    from model.load import load_model
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
    from chain.train import fit, load_data
    from tasks import get_task
    notes = []  # malformed rows tolerated while loading: recorded in stage.json
    tasks = {n: get_task(n.split("@")[0]) for n in task_names.split(",")}  # mnli@hi: MNLI in Hindi
    data = {n: load_data(cfg, t, n.split("@")[1] if "@" in n else cfg.lang, notes)  # bad data stops here, before a run dir
            for n, t in tasks.items()}
    model = encoder_of(init, device_of(cfg), flag)
    check_model(cfg, model.config, what=f"{flag} {init}")
    run = open_run(cfg, resume)
    try:
        if (run / "results.json").exists():  # finished: --resume has nothing left to do
            print(f"{run}: finished already (results.json); nothing to resume.")
            return run
        started = time.time()
        _, best = fit(cfg, tasks, model, run, data, resume, head_from)
        write_json(run / "stage.json", dict(task=task_names, init=str(init), skipped_rows=notes,
                                            train_examples={n: len(d[1]) for n, d in data.items()},
                                            provenance=provenance(started)))
        write_results(run, {n: {"en-dev": best[n]} for n in tasks})
    finally:
        unlock(run)
    util.barrier()  # torchrun: the next stage may read this one's results.json
    return run


def evaluate(cfg, task_name, run_or_model, langs):
    """Zero-shot on `langs` of a target (trained targets need the run's head) → (results {lang: metrics},
    {relative path: text}: predictions/ and labels/ in XTREME's layout)."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from chain.train import predict
    from tasks.lib.reading import load_split
    from tasks.lib.scoring import decode, measure
    from model.tokenizer import Tokenizer
    from tasks.lib import submission
    from tasks import get_task
    from tasks.lib.heads import make_head
    task, device = get_task(task_name), device_of(cfg)
    unknown = sorted(set(langs) - set(task.LANGS))
    if unknown:
        raise UserError(f"--langs {','.join(langs)}: {task_name} has no {', '.join(unknown)}; "
                        f"it has {' '.join(task.LANGS)}.")
    model = encoder_of(run_or_model, device)
    check_model(cfg, model.config, task.RETRIEVAL, f"--init {run_or_model}")
    cfg = replace(cfg, layer=auto_layer(cfg.layer, model.config.num_hidden_layers))
    tok = Tokenizer(model.source)
    head, saved = None, Path(run_or_model) / "config.yaml"
    trained = str(read_yaml(saved).get("task", "")) if saved.exists() else ""
    dual = task.HEAD == "dual" and trained == task_name  # LAReQA / Mewsli-X: a dual encoder's run
    if dual or not task.RETRIEVAL:
        head_file = Path(run_or_model) / "head.safetensors"
        if not head_file.exists():
            raise UserError(f"--init {run_or_model}: no {task_name} head (head.safetensors); train one with "
                            f"`xstilts.py target --task {task_name} --init RUN` first.")
        trained = trained or task_name
        if trained not in (task_name, task.TRAIN_ON):  # XNLI may use an MNLI head
            raise UserError(f"--init {run_or_model}: its head was trained for {trained}, not {task_name}; evaluate it "
                            f"as {trained}, or train a {task_name} head: `xstilts.py target --task {task_name}`.")
        head = make_head(task, model.config.hidden_size).to(device)
        try:
            head.load_state_dict(load_file(head_file))
        except SafetensorError as e:  # truncated, or not a safetensors file at all
            raise UserError(f"--init {run_or_model}: {head_file} cannot be read ({str(e).splitlines()[0][:120]}); "
                            "train the target again or restore the file.") from None
        except RuntimeError:
            raise UserError(f"--init {run_or_model}: head.safetensors does not fit a {task_name} head "
                            f"({task.HEAD}); train one with `xstilts.py target --task {task_name}`.") from None
    results, files, folder = {}, {}, submission.folder(task_name)
    for lang in langs:
        examples = load_split(cfg, task, "test", lang)
        if task.RETRIEVAL:
            tuned = dict(head=head.eval()) if head else {}
            if task.TUNE_ON_DEV:  # BUCC: the threshold comes from the dev gold
                dev, _, _ = task.evaluate(model, tok, cfg, load_split(cfg, task, "dev", lang), torch.device(device))
                tuned = dict(threshold=dev["threshold"])
            results[lang], guess, gold = task.evaluate(model, tok, cfg, examples, torch.device(device), **tuned)
        else:
            feats = task.encode(examples, tok, cfg.max_len)
            pred = predict(model, head, feats, tok.pad_id, cfg.eval_batch_size, cfg.dtype, torch.device(device),
                           cfg.bucket, cfg.max_len)
            guess, gold = decode(task, examples, feats, pred)
            results[lang] = measure(task, examples, guess, gold)
        for kind, value in (("predictions", guess), ("labels", gold)):
            name = f"{kind}/{folder}/test-{lang}.{submission.suffix(folder)}"
            files[name] = submission.render(folder, value, gold=kind == "labels")
        print(f"{task_name} {lang}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[lang].items()))
    return results, files


def write_files(root, files):
    """{relative path: text} under root, each file atomically (rank 0 writes under torchrun)."""
    for rel, text in files.items() if util.main() else ():
        (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(root) / rel, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def provenance(started):
    """What produced a stage, for the report: commit (+dirty), versions, device, start, end, wall seconds."""
    import platform
    import subprocess

    import torch
    root = Path(__file__).resolve().parents[1]
    try:
        git = lambda *a: subprocess.run(["git", *a], cwd=root, capture_output=True, text=True, timeout=20)  # noqa
        head = git("rev-parse", "HEAD")
        commit = head.stdout.strip() + ("+dirty" if git("status", "--porcelain", "--untracked-files=no").stdout.strip()
                                        else "") if head.returncode == 0 else "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        commit = "not a git checkout"
    now = time.time()
    return dict(commit=commit, torch=torch.__version__, cuda=torch.version.cuda, python=platform.python_version(),
                device=torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu ({platform.machine()})",
                started=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
                finished=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)), wall_s=round(now - started, 1))


def write_json(path, obj):
    """Rank 0 writes under torchrun."""
    if util.main():
        util.write_json(path, obj)


def write_results(run, results):
    """results.json {task: {lang: {metric: value}, "avg": {...}}} and the same as a table in results.md. "avg"
    is over the languages evaluated; where they include all of a suite's languages for the task and more
    (Tatoeba's 112 against XTREME's 36), "avg-<suite>" is the suite's own average too."""
    from tasks.lib.submission import SUITES, folder
    results = {t: {lang: m for lang, m in langs.items() if not lang.startswith("avg")} for t, langs in results.items()}
    counts = {}
    for task, langs in results.items():  # per-task average over its languages, per metric
        metrics = sorted({m for v in langs.values() for m in v} - {"threshold"})  # BUCC's is a setting, not a score
        mean = lambda rows: {m: sum(langs[lg][m] for lg in rows) / len(rows) for m in metrics}
        suites = {s: table[folder(task)] for s, (table, _) in SUITES.items() if folder(task) in table}
        averages = {f"avg-{s}": mean(want) for s, want in suites.items() if set(want) < set(langs)}
        same = [s for s, want in suites.items() if set(want) == set(langs)]  # "avg" is then that suite's average
        counts[task] = dict(avg=f"{len(langs)}{''.join(f', = {s}' for s in same)}",
                            **{f"avg-{s}": len(want) for s, want in suites.items()})
        langs["avg"] = mean(list(langs))
        langs.update(averages)
    label = lambda task, lang: f"{lang} (languages: {counts[task][lang]})" if lang in counts[task] else lang
    columns = sorted({m for t in results.values() for v in t.values() for m in v})
    lines = ["| task | language | " + " | ".join(columns) + " |"]
    for task, langs in results.items():  # a cell per column: a metric the task lacks stays empty
        lines += [f"| {task} | {label(task, lang)} | " + " | ".join(f"{m[c]:.2f}" if c in m else "" for c in columns) + " |"
                  for lang, m in langs.items()]
    lines.insert(1, "|" + "---|" * (lines[0].count("|") - 1))
    if util.main():
        util.write_text(Path(run) / "results.md", "\n".join(lines) + "\n")
    write_json(Path(run) / "results.json", results)  # last: its presence marks a finished run
    print("\n".join(lines))
