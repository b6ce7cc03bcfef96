"""Run folders, the only place that knows one: open (new, or resumed with the same config), lock, the result
files (each written atomically, by rank 0 under torchrun) and a stage's provenance.

A run directory holds config.yaml (the resolved Config), what chain/train.py and chain/checkpoint.py write,
and results.json last, so a directory with results.json is a finished stage and one without it is resumable.
"""
import fcntl
import os
import platform
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

import util
from chain.config import read_yaml, write_yaml
from tasks.lib.submission import SUITES, folder
from util import UserError


NOT_TRAINING = {"name", "runs_dir", "data_dir", "targets", "langs", "init", "layer", "pool", "eval_batch_size",
                "log_every", "save_every", "keep_last", "device", "max_bad_rows", "retrieval_tune", "bucket", "compile",
                "grad_checkpoint"}  # never change trained weights (bucket, compile, checkpointing: only float rounding)


def training_keys(cfg):
    """The Config keys that determine a trained stage's result."""
    return {k: v for k, v in asdict(cfg).items() if k not in NOT_TRAINING}


def is_run(run):
    if not (run / "config.yaml").exists():
        raise UserError(f"--resume: {run} is not a run (no config.yaml); pick another --name.")


def same_config(cfg, run):
    """A finished or resumed run continues only with the settings that shaped its training."""
    is_run(run)
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


def begun(run):
    """A folder holding more than its lock and temp files: a folder killed as it was made starts again."""
    return run.is_dir() and any(p.name != ".lock" and not (p.name.startswith(".") and ".tmp" in p.name)
                                for p in run.iterdir())


def refuse_existing(run, resume, started=None):
    """A run directory is continued only with --resume, and only a run (its config.yaml) is continued.
    started: whether it had begun, as seen before the others could make it (torchrun); None: look now."""
    started = begun(run) if started is None else started
    if started and not resume:
        raise UserError(f"{run}: this run directory exists; continue it with --resume or pick another --name.")
    if started:
        is_run(run)


def open_run(cfg, resume):
    """runs/<name>/ with config.yaml; an existing one is continued only with --resume and the same config.
    → (run, its lock): the folder is locked while this process uses it (close the lock to release it)."""
    run = Path(cfg.runs_dir) / cfg.name
    started = begun(run)
    util.barrier()  # torchrun: every rank has looked before rank 0 makes the folder
    refuse_existing(run, resume, started)
    run.mkdir(parents=True, exist_ok=True)
    held = lock(run)
    if started:
        same_config(cfg, run)
    else:
        write_yaml(cfg, run / "config.yaml")
    return run, held


def lock(run):
    """An exclusive lock on run/.lock, held until the returned file is closed (None off rank 0: under torchrun
    rank 0 holds the run's lock for all ranks). A second process on the same run stops with one line."""
    if not util.main():
        return None
    f = open(run / ".lock", "a+", encoding="utf-8")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        raise UserError(f"{run}: another xstilts process (pid {f.read().strip() or '?'}) is using this run; "
                        "wait for it to finish, or pick another --name.") from None
    f.truncate(0)
    f.write(str(os.getpid()))
    f.flush()
    return f


def release(held):
    if held:
        held.close()  # closing the file releases the flock


def write_files(root, files):
    """{relative path: text} under root, each file atomically (rank 0 writes under torchrun)."""
    for rel, text in files.items() if util.main() else ():
        (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
        util.write_text(Path(root) / rel, text)


def write_json(path, obj):
    """Rank 0 writes under torchrun."""
    if util.main():
        util.write_json(path, obj)


def averages(task, langs):
    """{"avg": mean over the languages evaluated, "avg-<suite>": a suite's own average where the languages hold
    all of the suite's and more (Tatoeba's 112 against XTREME's 36)} per metric, and the language count of each."""
    metrics = sorted({m for v in langs.values() for m in v} - {"threshold"})  # BUCC's is a setting, not a score

    def mean(rows):
        return {m: sum(langs[lg][m] for lg in rows) / len(rows) for m in metrics}
    suites = {s: table[folder(task)] for s, (table, _) in SUITES.items() if folder(task) in table}
    same = [s for s, want in suites.items() if set(want) == set(langs)]  # "avg" is then that suite's average
    out = {"avg": mean(list(langs)), **{f"avg-{s}": mean(want) for s, want in suites.items() if set(want) < set(langs)}}
    counts = dict(avg=f"{len(langs)}{''.join(f', = {s}' for s in same)}",
                  **{f"avg-{s}": len(want) for s, want in suites.items()})
    return out, counts


def write_results(run, results):
    """results.json {task: {lang: {metric: value}, "avg": {...}}} and the same as a table in results.md
    (averages: see `averages`)."""
    results = {t: {lang: m for lang, m in langs.items() if not lang.startswith("avg")} for t, langs in results.items()}
    counts = {}
    for task, langs in results.items():  # per-task average over its languages, per metric
        extra, counts[task] = averages(task, langs)
        langs.update(extra)
    columns = sorted({m for t in results.values() for v in t.values() for m in v})
    lines = ["| task | language | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for task, langs in results.items():  # a cell per column: a metric the task lacks stays empty
        for lang, m in langs.items():
            label = f"{lang} (languages: {counts[task][lang]})" if lang in counts[task] else lang
            lines.append(f"| {task} | {label} | " + " | ".join(f"{m[c]:.2f}" if c in m else "" for c in columns) + " |")
    if util.main():
        util.write_text(Path(run) / "results.md", "\n".join(lines) + "\n")
    write_json(Path(run) / "results.json", results)  # last: its presence marks a finished run
    print("\n".join(lines))


def git_commit(root):
    """HEAD's commit (+dirty when tracked files changed), or "not a git checkout"."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return "not a git checkout"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"


def provenance(started):
    """What produced a stage, for the report: commit (+dirty), versions, device, start, end, wall seconds."""
    import torch
    now = time.time()
    return dict(commit=git_commit(Path(__file__).resolve().parents[1]), torch=torch.__version__,
                cuda=torch.version.cuda, python=platform.python_version(),
                device=torch.cuda.get_device_name() if torch.cuda.is_available() else f"cpu ({platform.machine()})",
                started=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
                finished=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)), wall_s=round(now - started, 1))
