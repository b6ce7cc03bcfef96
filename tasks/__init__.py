"""The task contract, written once: every name a task module may define, its default, and who reads it.

A task is one file, tasks/<name>.py; `--task mnli` imports tasks/mnli.py and the list of tasks is the folder
listing (no registry). `get_task(name)` is the one accessor: it imports the module and fills in every name the
file leaves out with its default below, so the rest of the code reads `task.X` and never probes with getattr.
Shared parts (data reading, batching, heads, scoring, retrieval, the submission layout) live in tasks/lib/.
"""
import importlib
import pkgutil

from util import UserError

REQUIRED = {
    "LANGS": "the languages of its test data, English first where it has it (eval, plan, `tasks`)",
    "METRIC": "the main metric's key in its results: model selection and averages (scoring, plan, studies)",
    "load": "load(data_dir, split, lang) → (examples, skipped rows); span: also route= (tasks/lib/reading.py)",
}
OPTIONAL = {  # name: (default, who reads it)
    "HEAD": (None, "classify | choice | span | tag | mlm | dual; None: a retrieval task nothing trains (heads, loop)"),
    "LABELS": ((), "class names (classify, tag): heads' width, decoded labels, stats"),
    "CHOICES": (None, "how many choices (choice): decoded labels, collapse checks"),
    "HPARAMS": ({}, "Config values for this task, under YAML and flags (chain/config.py: resolve)"),
    "FILES": ({}, "the data files it reads, for `xstilts.py tasks`"),
    "TRAIN_ON": (None, "the task whose English training data it trains on (XNLI: mnli); None: itself"),
    "TRAIN_LANGS": (("en",), "the languages its training data exists in (`mnli@hi`)"),
    "TRAIN_FIRST": (None, "a target trained before this one, whose head it continues (XCOPA: siqa)"),
    "RETRIEVAL": (False, "evaluated by sentence retrieval (its own `evaluate`), not a trained head's predictions"),
    "TUNE_ON_DEV": (False, "retrieval: a threshold tuned on the dev gold before the test (BUCC)"),
    "SELECT": ("best", "best: the best dev state is kept; last: the final one (XTREME-R's XCOPA)"),
    "V2": (False, "span: unanswerable questions exist (SQuAD v2 scoring and decoding)"),
    "QA_SCORER": ("squad", "span: its test answers' scorer, squad (v1.1/v2.0 script) or mlqa (tasks/lib/scoring.py)"),
    "FOLDER": (None, "its folder in XTREME's submission layout; None: its own name (tasks/lib/submission.py)"),
    "SUFFIX": ("tsv", "its submission files' extension: tsv, json or jsonl (tasks/lib/submission.py)"),
    "TRAIN_SIZE": (None, "official training examples: a sweep's dry run without the data (studies/sweep.py: work)"),
    "TRAIN_TOKENS": (None, "real tokens per training example, studies/tokens.py's (studies/sweep.py: work)"),
    "LICENSED": (None, "why its data has no download (CCG: CCGbank): a study runs the other cells (studies/sweep.py)"),
    "encode": (None, "encode(examples, tokenizer, max_len) → features; span: windows, and route= (tasks/lib/qa.py)"),
    "evaluate": (None, "retrieval: evaluate(model, tok, cfg, examples, device, **tuned) → (metrics, guess, gold)"),
    "remask": (None, "MLM: a fresh mask per micro-batch, a pure function of (seed, epoch, batch)"),
}


def task_names():
    """Every module in the tasks package (a test may add a folder to tasks.__path__ for a throw-away task)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.ispkg)


def get_task(name):
    """The task module, with every optional name the file leaves out filled in with its default."""
    if name not in task_names():
        raise UserError(f"unknown task {name!r}; the tasks are: {', '.join(task_names())}.")
    task = importlib.import_module(f"{__name__}.{name}")
    missing = [k for k in REQUIRED if not hasattr(task, k)]
    if missing:
        raise UserError(f"tasks/{name}.py defines no {', '.join(missing)}; the task contract is in tasks/__init__.py.")
    task.NAME = name
    for key, (default, _) in OPTIONAL.items():
        if not hasattr(task, key):
            setattr(task, key, default)
    if task.TRAIN_ON is None:
        task.TRAIN_ON = name
    if task.FOLDER is None:
        task.FOLDER = name
    return task
