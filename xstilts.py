"""xstilts — English intermediate-task training of XLM-R, then zero-shot cross-lingual transfer (X-STILTs).

  python xstilts.py intermediate --task mnli                        # runs/intermediate-mnli/
  python xstilts.py target --task xnli --init runs/intermediate-mnli  # fresh head, English train + dev
  python xstilts.py eval --target xnli --init runs/target-xnli      # zero-shot, every language
  python xstilts.py eval --target tatoeba --init runs/intermediate-mnli
  python xstilts.py run --config exp.yaml                           # intermediate → each target → eval
  python xstilts.py eval --all --suite xtreme-r --init runs/intermediate-mnli  # every target, submission
  python xstilts.py score --predictions DIR --labels DIR --suite xtreme --out scores.json
  python xstilts.py stats --task xnli --split test --lang de --model runs/x/encoder
  python xstilts.py embed --model FacebookAI/xlm-roberta-large --input sents.txt --layer 14 --out vecs.npy
Every subcommand has -h; every Config field (chain/config.py) is a flag. Errors about the user's input
print one line and exit with status 2.
"""
import argparse
import json
import os
import sys
from dataclasses import fields
from pathlib import Path

from model import UserError


def read_lines(path):
    """One sentence per line (UTF-8); the row count of every output equals the line count."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--input {path}: no such file.")
    try:
        lines = p.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as e:
        line = p.read_bytes()[: e.start].count(b"\n") + 1
        raise UserError(f"--input {path}: line {line} is not UTF-8; re-encode the file as UTF-8.") from None
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line, it does not start another
    if not lines:
        raise UserError(f"--input {path}: the file is empty; give one sentence per line.")
    return [s.rstrip("\r") for s in lines]


def given(args):
    """The Config fields the user set on the command line."""
    from chain.config import Config
    return {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name, None) is not None}


def resolve(args, task_name, yaml_values=None):
    """Config for one stage: dataclass < the task's HPARAMS < YAML < flags given on the command line."""
    from tasks.lib.common import get_task
    from chain.config import Config, merge
    cfg = merge(Config(), getattr(get_task(task_name), "HPARAMS", {}), f"tasks/{task_name}.py HPARAMS")
    cfg = merge(cfg, yaml_values or {}, getattr(args, "config", None) or "config")
    return merge(cfg, given(args), "command line").check()


def named(cfg, name, args=None):
    """Give the run its default name; with --resume, start from the run's own config.yaml + given flags."""
    from chain.config import Config, merge, read_yaml
    cfg = cfg if cfg.name else type(cfg)(**{**vars(cfg), "name": name})
    saved = Path(cfg.runs_dir) / cfg.name / "config.yaml"
    if args is not None and args.resume and saved.exists():
        cfg = merge(merge(Config(), read_yaml(saved), str(saved)), given(args), "command line").check()
    return cfg


def same_config(cfg, run):
    from dataclasses import asdict

    from chain.config import read_yaml
    changed = sorted(k for k, v in read_yaml(run / "config.yaml").items() if asdict(cfg).get(k) != v)
    if changed:
        raise UserError(f"--resume: {', '.join(changed)} differ from {run / 'config.yaml'}; resume with the "
                        "same settings (or start a new --name).")


def open_run(cfg, resume):
    """runs/<name>/ with config.yaml; an existing one is continued only with --resume and the same config."""
    from chain.config import write_yaml
    run = Path(cfg.runs_dir) / cfg.name
    if run.exists() and not resume:
        raise UserError(f"{run}: this run directory exists; continue it with --resume or pick another --name.")
    if resume:
        if not (run / "config.yaml").exists():
            raise UserError(f"--resume: {run} has no config.yaml; drop --resume to start it.")
        same_config(cfg, run)
        return run
    run.mkdir(parents=True)
    write_yaml(cfg, run / "config.yaml")
    return run


def device_of(cfg):
    import torch
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch sees no CUDA GPU; use --device cpu (or auto).")
    return torch.device("cuda" if cfg.device != "cpu" and torch.cuda.is_available() else "cpu")


def encoder_of(init, device):
    """--init: a run directory (its encoder/), a checkpoint folder, or a hub id."""
    from model.load import load_model
    if not init:
        raise UserError("--init is required: a run directory (runs/NAME) or a model folder / hub id.")
    p = Path(init)
    if (p / "encoder" / "config.json").exists():
        p = p / "encoder"
    elif p.is_dir() and not (p / "config.json").exists():
        raise UserError(f"--init {init}: neither a finished run (no encoder/) nor a model folder (no config.json).")
    elif not p.exists() and (init.startswith((".", "/")) or "runs" in p.parts):
        raise UserError(f"--init {init}: no such run or folder.")
    return load_model(p if p.exists() else init, device=device)


def train_stage(cfg, task_names, init, resume, head_from=None):
    """Open (or resume) the run, load the encoder (init: model id/folder or run), fit, write dev results.
    task_names: one task, or a comma list (multi-task training); head_from: a run whose head to start from."""
    from tasks.lib.common import get_task
    from chain.train import fit, load_data
    tasks = {n: get_task(n.split("@")[0]) for n in task_names.split(",")}  # mnli@hi: MNLI in Hindi
    data = {n: load_data(cfg, t, n.split("@")[1] if "@" in n else cfg.lang)  # bad data stops here, before a run dir
            for n, t in tasks.items()}
    if cfg.dtype == "fp16" and device_of(cfg).type != "cuda":
        raise UserError("--dtype fp16 needs a CUDA GPU; use bf16 or fp32 on CPU.")
    model = encoder_of(init, device_of(cfg))
    run = open_run(cfg, resume)
    _, best = fit(cfg, tasks, model, run, data, resume, head_from)
    write_results(run, {n: {"en-dev": best[n]} for n in tasks})
    return run


def evaluate(cfg, task_name, run_or_model, strict=True, langs=None):
    """Zero-shot on every language of a target (or `langs`; trained targets need the run's head) →
    (results {lang: metrics}, {relative path: text}: predictions/ and labels/ in XTREME's layout)."""
    import torch
    from safetensors.torch import load_file

    from model.tokenizer import Tokenizer
    from tasks.lib import submission
    from tasks.lib.common import get_task
    from tasks.lib.heads import make_head
    from chain.train import decode, load_split, measure, predict
    task, device = get_task(task_name), device_of(cfg)
    model = encoder_of(run_or_model, device)
    tok = Tokenizer(model.source)
    head = None
    if not getattr(task, "RETRIEVAL", False):
        head_file = Path(run_or_model) / "head.safetensors"
        if not head_file.exists():
            raise UserError(f"--init {run_or_model}: no {task_name} head (head.safetensors); train one with "
                            f"`xstilts.py target --task {task_name} --init RUN` first.")
        head = make_head(task, model.config.hidden_size).to(device)
        head.load_state_dict(load_file(head_file))
    results, files, torch_device = {}, {}, torch.device(device)
    langs = langs or (cfg.langs.split(",") if cfg.langs else task.LANGS)
    unknown = sorted(set(langs) - set(task.LANGS))
    langs = langs if strict else [lang for lang in langs if lang in task.LANGS]  # `run`: each target's own
    if unknown and (strict or not langs):
        raise UserError(f"--langs {cfg.langs}: {task_name} has no {', '.join(unknown)}; it has {' '.join(task.LANGS)}.")
    folder = submission.folder(task_name)
    for lang in langs:
        examples = load_split(cfg, task, "test", lang)
        if head is None:
            tuned = {}
            if getattr(task, "TUNE_ON_DEV", False):  # BUCC: the threshold comes from the dev gold
                dev, _, _ = task.evaluate(model, tok, cfg, load_split(cfg, task, "dev", lang), torch_device)
                tuned = dict(threshold=dev["threshold"])
            results[lang], guess, gold = task.evaluate(model, tok, cfg, examples, torch_device, **tuned)
        else:
            feats = task.encode(examples, tok, cfg.max_len)
            pred = predict(model, head, feats, tok.pad_id, cfg.eval_batch_size, cfg.dtype, torch_device)
            guess, gold = decode(task, examples, feats, pred)
            results[lang] = measure(task, examples, guess, gold)
        for kind, value in (("predictions", guess), ("labels", gold)):
            name = f"{kind}/{folder}/test-{lang}.{submission.suffix(folder)}"
            files[name] = submission.render(folder, value, gold=kind == "labels")
        print(f"{task_name} {lang}: " + ", ".join(f"{k} {v:.2f}" for k, v in results[lang].items()))
    return results, files


def write_files(root, files):
    """{relative path: text} under root, each file atomically."""
    from model.load import atomic_write
    for rel, text in files.items():
        (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(Path(root) / rel, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_results(run, results):
    """results.json {task: {lang: {metric: value}, "avg": {...}}} and the same as a table in results.md."""
    from model.load import atomic_write
    results = {t: {lang: m for lang, m in langs.items() if lang != "avg"} for t, langs in results.items()}
    for task, langs in results.items():  # per-task average over its languages, per metric
        metrics = sorted({m for v in langs.values() for m in v})
        langs["avg"] = {m: sum(v[m] for v in langs.values()) / len(langs) for m in metrics}
    lines = ["| task | language | " + " | ".join(sorted({m for t in results.values() for v in t.values() for m in v}))
             + " |"]
    for task, langs in results.items():
        lines += [f"| {task} | {lang} | " + " | ".join(f"{v:.2f}" for _, v in sorted(m.items())) + " |"
                  for lang, m in langs.items()]
    lines.insert(1, "|" + "---|" * (lines[0].count("|") - 1))
    atomic_write(Path(run) / "results.json", lambda t: Path(t).write_text(json.dumps(results, indent=2) + "\n"))
    atomic_write(Path(run) / "results.md", lambda t: Path(t).write_text("\n".join(lines) + "\n"))
    print("\n".join(lines))


def cmd_intermediate(args):
    names = args.task or "mnli"
    first = names.split(",")[0].split("@")[0]  # HPARAMS: the first task's (a multi-task run has one schedule)
    cfg = named(resolve(args, first), f"intermediate-{names.replace(',', '+')}", args)
    train_stage(cfg, names, cfg.model, args.resume)


def cmd_target(args):
    from tasks.lib.common import get_task
    if not args.task:
        raise UserError("--task is required: the target task to train, e.g. xnli.")
    if getattr(get_task(args.task), "RETRIEVAL", False):
        raise UserError(f"{args.task} is a retrieval task with no training data; evaluate it with "
                        f"`xstilts.py eval --target {args.task} --init RUN`.")
    cfg = named(resolve(args, args.task), f"target-{args.task}", args)
    first = getattr(get_task(args.task), "TRAIN_FIRST", None)
    if first:  # XCOPA (XTREME-R): SIQA first, then COPA from there, head included
        pre = type(cfg)(**{**vars(resolve(args, first)), "task": first, "name": f"{cfg.name}-{first}"})
        done = Path(pre.runs_dir) / pre.name
        if (done / "results.json").exists():  # reused only if trained with the same settings, as in `run`
            same_config(pre, done)
        else:
            train_stage(pre, first, cfg.init, args.resume and done.exists())
        cfg = type(cfg)(**{**vars(cfg), "init": str(Path(pre.runs_dir) / pre.name)})
    train_stage(cfg, args.task, cfg.init, args.resume, cfg.init if first else None)


def cmd_eval(args):
    if args.all:
        return cmd_run(args)
    if not args.target:
        raise UserError("eval needs --target TASK (e.g. xnli), or --all for every target of --suite.")
    cfg = named(resolve(args, args.target), f"eval-{args.target}-{Path(args.init or 'none').name}")
    if (Path(cfg.runs_dir) / cfg.name).exists():  # checked first; created only once evaluation succeeded
        raise UserError(f"{Path(cfg.runs_dir) / cfg.name}: this eval directory exists; pick another --name.")
    results, files = evaluate(cfg, args.target, cfg.init)
    run = open_run(cfg, False)
    write_files(run, files)
    write_results(run, {args.target: results})


def cmd_run(args):
    """The whole chain: `run --config` trains the intermediate task and then its targets; `eval --all` starts
    from --init (an intermediate run) and takes every target of --suite on all of the suite's languages.
    A trained target is fine-tuned from the intermediate run (XCOPA: SIQA first); a retrieval target uses
    that run's encoder (XTREME-R: Tatoeba and LAReQA the SQuAD-tuned one). Predictions and labels land in
    the root in XTREME's layout; results.json (and scores.json for a suite) are written last."""
    from tasks.lib import submission
    from tasks.lib.common import get_task
    from chain.config import read_yaml
    suite = getattr(args, "suite", None) if getattr(args, "all", False) else None
    values = read_yaml(args.config) if getattr(args, "config", None) else {}
    base = resolve(args, values.get("task", "mnli").split(",")[0].split("@")[0], values)
    if suite and not base.init:
        raise UserError("eval --all needs --init: the intermediate run (or model) every target starts from.")
    default = f"eval-{suite}-{Path(base.init).name}" if suite else f"run-{base.task}"
    root = Path(base.runs_dir) / (base.name or default)
    if root.exists() and not args.resume:
        raise UserError(f"{root}: this run directory exists; continue it with --resume or pick another --name.")
    stage = lambda task, name, extra: type(base)(**{**vars(resolve(args, task, {**values, **extra})),
                                                    "runs_dir": str(root), "name": name})
    def train_once(cfg, task, init, head_from=None):  # a finished stage is reused only if its config is the same
        run = root / cfg.name
        if (run / "results.json").exists():
            return same_config(cfg, run)
        train_stage(cfg, task, init, args.resume and run.exists(), head_from)

    inter = Path(base.init) if suite else root / "intermediate"
    if not suite:
        train_once(stage(base.task.split(",")[0].split("@")[0], "intermediate", {}), base.task, base.model)
    targets = [submission.task_of(t) for t in submission.SUITES[suite][0]] if suite else base.targets.split(",")
    retrieval = lambda t: getattr(get_task(t), "RETRIEVAL", False)
    results, files = {}, {}
    for target in sorted(filter(None, targets), key=retrieval):  # trained targets first: XTREME-R's retrieval
        langs = [lg for lg in submission.SUITES[suite][0][submission.folder(target)]
                 if not base.langs or lg in base.langs.split(",")] if suite else None
        if suite and not langs:  # --langs leaves this target none of its languages
            continue
        cfg, init = stage(target, target, {"task": target, "init": str(inter)}), inter  # needs the SQuAD one
        first = getattr(get_task(target), "TRAIN_FIRST", None)
        if first:  # XCOPA (XTREME-R): SIQA first, then COPA from there, head included
            train_once(stage(first, f"{target}-{first}", {"task": first}), first, str(inter))
            init = root / f"{target}-{first}"
        if not retrieval(target):
            train_once(cfg, target, str(init), str(init) if first else None)
            init = root / target
        elif suite == "xtreme-r" and target in submission.SQUAD_TUNED:
            init = root / "xquad"
        results[target], found = evaluate(cfg, target, str(init), strict=False, langs=langs)
        files.update(found)
    write_files(root, files)
    write_results(root, results)
    if suite and not base.langs:
        scores = submission.score(root / "predictions", root / "labels", suite)
        write_json(root / "scores.json", scores)
        print(f"{suite} score: {scores['all_task']:.2f}  ({root / 'scores.json'})")
    print(f"results: {root / 'results.md'}")


def write_json(path, obj):
    from model.load import atomic_write
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n"))


def cmd_score(args):
    """Score any model's submission folder against a label folder, as the official evaluate.py does."""
    from tasks.lib import submission
    tasks = [t for t in (args.tasks or "").split(",") if t] or None
    scores = submission.score(args.predictions, args.labels, args.suite, tasks)
    for key, value in scores.items():
        if isinstance(value, dict):
            print(f"{key}: " + ", ".join(f"{m} {v:.2f}" for m, v in value.items() if m.startswith("avg")))
        else:
            print(f"{key}: {value:.2f}")
    if args.out:
        write_json(args.out, scores)


def cmd_stats(args):
    from tasks.lib.common import check_skipped, get_task
    from chain.config import Config
    task = get_task(args.task)
    lang = args.lang or task.LANGS[0]
    examples, skipped = task.load(args.data_dir, args.split, lang)
    out = dict(task=args.task, split=args.split, lang=lang, examples=len(examples), skipped=len(skipped),
               skipped_rows=[f"{w}: {why}" for w, why in skipped[:20]])
    if examples and isinstance(examples[0].get("label"), int):
        names = getattr(task, "LABELS", None) or [f"choice {i}" for i in range(task.CHOICES)]
        out["labels"] = {names[i]: sum(e["label"] == i for e in examples) for i in range(len(names))}
    if args.model and examples and hasattr(task, "encode"):
        import numpy as np

        from model.load import resolve as find
        from model.tokenizer import Tokenizer
        from tasks.lib.common import length
        lens = [length(f) for f in task.encode(examples, Tokenizer(find(args.model)), 100_000)]
        out["token_length_percentiles"] = {p: int(np.percentile(lens, p)) for p in (50, 90, 95, 99, 100)}
    print(json.dumps(out, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    check_skipped(examples, skipped, Config.max_bad_rows, f"{args.task} {args.split} {lang}")


def cmd_embed(args):
    lines = read_lines(args.input)  # before the heavy imports: a wrong path answers at once
    import numpy as np

    from model.load import atomic_write, load_model
    from model.tokenizer import Tokenizer
    from tasks.lib.common import embed
    from chain.config import Config
    device = device_of(Config(device=args.device))
    model = load_model(args.model, device=device)
    layer = model.config.num_hidden_layers if args.layer is None else args.layer
    vecs = embed(model, Tokenizer(model.source), lines, layer, args.pool, args.max_len, args.batch_size,
                 args.dtype, progress=len(lines) > 10 * args.batch_size)
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file name such as {out / 'vectors.npy'}.")
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, vecs)

    atomic_write(out, write)
    print(f"wrote {out}: {vecs.shape[0]} x {vecs.shape[1]} float32 (hidden_states[{layer}], {args.pool} pooling)")


def config_flags(p, skip=()):
    from chain.config import Config
    for f in fields(Config):
        if f.name not in skip:
            p.add_argument("--" + f.name.replace("_", "-"), type=f.type, default=None, metavar=f.type.__name__.upper(),
                           help=f"default {f.default!r}")
    p.add_argument("--resume", action="store_true", help="continue this run from its newest checkpoint")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="xstilts.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, func, text in (("intermediate", cmd_intermediate, "train on an English intermediate task"),
                             ("target", cmd_target, "fine-tune a fresh head on a target's English data"),
                             ("eval", cmd_eval, "zero-shot evaluation on every language of a target"),
                             ("run", cmd_run, "the whole chain from one YAML file")):
        p = sub.add_parser(name, help=text, description=text)
        if name == "eval":
            p.add_argument("--target", help="target task, e.g. xnli or tatoeba")
            p.add_argument("--all", action="store_true", help="every target of --suite, all its languages, "
                           "trained from --init; submission folder + scores.json")
            p.add_argument("--suite", choices=("xtreme", "xtreme-r"), default="xtreme")
        if name == "run":
            p.add_argument("--config", required=True, help="YAML file of Config keys (+ targets)")
        config_flags(p, skip=("task",) if name == "eval" else ())
        p.set_defaults(func=func)
    s = sub.add_parser("stats", help="examples, labels, skipped rows and token lengths of a data file")
    s.add_argument("--task", required=True)
    s.add_argument("--split", default="test")
    s.add_argument("--lang", default=None)
    s.add_argument("--data-dir", default="data")
    s.add_argument("--model", default=None, help="tokenizer for token-length percentiles (folder or hub id)")
    s.add_argument("--json", action="store_true", help="one JSON object (examples, skipped, ...)")
    s.set_defaults(func=cmd_stats)
    c = sub.add_parser("score", help="score a submission folder (any model's) as XTREME's evaluate.py does")
    c.add_argument("--predictions", required=True, help="folder of <task>/test-<lang>.<ext> predictions")
    c.add_argument("--labels", required=True, help="folder of the gold labels, same layout")
    c.add_argument("--suite", choices=("xtreme", "xtreme-r"), default="xtreme")
    c.add_argument("--tasks", default="", help="comma list of task folders (default: every one present)")
    c.add_argument("--out", default=None, help="write the scores JSON here")
    c.set_defaults(func=cmd_score)
    e = sub.add_parser("embed", help="sentence embeddings: one input line -> one float32 row of a .npy")
    e.add_argument("--model", required=True, help="checkpoint folder or hub id (FacebookAI/xlm-roberta-large)")
    e.add_argument("--input", required=True, help="UTF-8 text file, one sentence per line")
    e.add_argument("--out", required=True, help="output .npy, shape (lines, hidden)")
    e.add_argument("--layer", type=int, default=None, help="hidden_states index, 0 = embeddings (default: last)")
    e.add_argument("--pool", choices=("mean", "cls"), default="mean", help="mean over non-pad tokens, or <s>")
    e.add_argument("--max-len", type=int, default=512, help="tokens per sentence incl. <s> </s> (default 512)")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--dtype", choices=("fp32", "bf16"), default="fp32", help="bf16 = torch.autocast")
    e.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    e.set_defaults(func=cmd_embed)
    args = ap.parse_args(argv)
    try:
        args.func(args)
    except (UserError, OSError) as err:  # OSError: a path we cannot read or write; its message names it
        print(f"xstilts: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sys.exit(main())
