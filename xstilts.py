"""xstilts — English intermediate-task training of XLM-R, then zero-shot cross-lingual transfer (X-STILTs).

  python xstilts.py intermediate --task mnli                        # runs/intermediate-mnli/
  python xstilts.py target --task xnli --init runs/intermediate-mnli  # fresh head, English train + dev
  python xstilts.py eval --target xnli --init runs/target-xnli      # zero-shot, every language
  python xstilts.py eval --target tatoeba --init runs/intermediate-mnli
  python xstilts.py run --config exp.yaml                           # intermediate → each target → eval
  python xstilts.py eval --all --suite xtreme-r --init runs/intermediate-mnli  # every target, submission
  python xstilts.py sweep --config studies/volume.yaml [--dry-run] [--plan FILE]  # a study: grid of chains
  python xstilts.py report runs/volume [--group-by script]        # report.md, report.json, plots
  python xstilts.py compare base=runs/a1,runs/a2 mnli=runs/b1 --baseline base
  python xstilts.py score --predictions DIR --labels DIR --suite xtreme --out scores.json
  python xstilts.py tasks                                          # every task, its files and data script
  python xstilts.py stats --task xnli --split test --lang de --model runs/x/encoder
  python xstilts.py embed --model FacebookAI/xlm-roberta-large --input sents.txt --layer 14 --out vecs.npy
Every subcommand has -h; every Config field (chain/config.py) is a flag. Errors about the user's input
print one line and exit with status 2.
"""
import argparse
import json
import os
import re
import sys
from dataclasses import fields, replace
from pathlib import Path

import util
from chain import config
from chain.config import CHOICES, Config, explained, merge, read_yaml
from tasks import get_task, task_names
from tasks.lib.reading import check_skipped, describe
from util import UserError


def read_lines(path):
    """One sentence per line (UTF-8); the row count of every output equals the line count."""
    p = Path(path)
    if not p.exists() or p.is_dir():
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
    return {f.name: getattr(args, f.name) for f in fields(Config) if getattr(args, f.name, None) is not None}


def resolve(args, task_name, yaml_values=None):
    """Config for one stage: dataclass < the task's HPARAMS < YAML < flags given on the command line."""
    yaml_layer = (yaml_values or {}, getattr(args, "config", None) or "config")
    return config.resolve(task_name, yaml_layer, (given(args), "command line"))


def named(cfg, name, args=None):
    """Give the run its default name; with --resume, start from the run's own config.yaml + given flags."""
    cfg = cfg if cfg.name else type(cfg)(**{**vars(cfg), "name": name})
    saved = Path(cfg.runs_dir) / cfg.name / "config.yaml"
    if args is not None and args.resume and saved.exists():
        cfg = merge(merge(Config(), read_yaml(saved), str(saved)), given(args), "command line").check()
    return cfg


def cmd_intermediate(args):
    from chain import plan, rundir
    names = args.task or "mnli"
    first = names.split(",")[0].split("@")[0]  # HPARAMS: the first task's (a multi-task run has one schedule)
    cfg = named(resolve(args, first), f"intermediate-{names.replace(',', '+')}", args)
    stage = plan.Stage("intermediate", names, cfg, cfg.model, name=cfg.name)
    rundir.refuse_existing(stage.dir, args.resume)
    finished = stage.done()
    plan.execute([stage], resume=args.resume)  # a finished stage: its config checked, nothing trained
    if finished:
        print(f"{stage.dir}: finished already (results.json); nothing to resume.")


def cmd_target(args):
    """A target's training stages (XCOPA: <name>-siqa, then <name> from its head) as a small plan."""
    from chain import plan, rundir
    if not args.task:
        raise UserError("--task is required: the target task to train, e.g. xnli.")
    task = get_task(args.task)
    if task.RETRIEVAL and task.HEAD is None:  # LAReQA, Mewsli-X train a dual encoder; BUCC, Tatoeba nothing
        raise UserError(f"{args.task} is a retrieval task with no training data; evaluate it with "
                        f"`xstilts.py eval --target {args.task} --init RUN`.")
    cfg = named(resolve(args, args.task), f"target-{args.task}", args)
    rundir.refuse_existing(Path(cfg.runs_dir) / cfg.name, args.resume)
    util.barrier()  # torchrun: every rank has looked before rank 0 makes it
    stages, first, start = [], task.TRAIN_FIRST, cfg.init
    if first:  # XCOPA (XTREME-R): SIQA first, then COPA from there, head included
        start = plan.Stage("target", first, resolve(args, first), cfg.init, name=f"{cfg.name}-{first}")
        stages.append(start)
    stages.append(plan.Stage("target", args.task, cfg, start, carry_head=bool(first), name=cfg.name))
    plan.preflight(stages)
    plan.execute(stages, resume=args.resume)


def cmd_eval(args):
    """One target's zero-shot evaluation into its own folder (`eval --all`: cmd_run)."""
    from chain import plan
    if args.all:
        if args.target:
            raise UserError(f"eval --all evaluates every target of --suite {args.suite}; drop --target {args.target}, "
                            "or drop --all to evaluate that one target.")
        return cmd_run(args)
    if not args.target:
        raise UserError("eval needs --target TASK (e.g. xnli), or --all for every target of --suite.")
    cfg = named(resolve(args, args.target), f"eval-{args.target}-{Path(args.init or 'none').name}")
    run = Path(cfg.runs_dir) / cfg.name
    if (run / "results.json").exists():  # a folder without it is a killed evaluation: done again
        raise UserError(f"{run}: this eval directory exists; pick another --name.")
    writable = next(p for p in (run, *run.parents) if p.exists())
    if not os.access(writable, os.W_OK):  # said before the evaluation, not after it
        raise UserError(f"--runs-dir {cfg.runs_dir}: cannot write in {writable}; pick a writable --runs-dir.")
    langs = cfg.langs.split(",") if cfg.langs else get_task(args.target).LANGS
    encoder = Path(cfg.init) / "encoder" if (Path(cfg.init) / "encoder").is_dir() else cfg.init
    cfg = replace(cfg, task=args.target, model=str(encoder))  # config.yaml records what was evaluated
    plan.execute([plan.Stage("eval", args.target, cfg, cfg.init, langs=tuple(langs), name=cfg.name)])


def cmd_run(args):
    """`run --config` and `eval --all`: one plan of stages (chain/plan.py run_chain)."""
    from chain import plan
    suite = args.suite if getattr(args, "all", False) else None
    values = read_yaml(args.config) if getattr(args, "config", None) else {}
    base = resolve(args, str(values.get("task", "mnli")).split(",")[0].split("@")[0], values)
    plan.run_chain(base, lambda task: resolve(args, task, values), suite, args.resume)


def cmd_sweep(args):
    from studies.sweep import sweep
    sweep(args.config, args.dry_run, args.plan, args.stage)


def cmd_compare(args):
    from studies.compare import compare
    compare(args.runs, args.baseline, args.metric, args.out)


def cmd_report(args):
    from studies.report import write_report
    print(f"report: {write_report(args.sweep, args.group_by)}")


def cmd_score(args):
    """Score any model's submission folder against a label folder, as the official evaluate.py does."""
    from tasks.lib import submission
    tasks = [t for t in (args.tasks or "").split(",") if t] or None
    langs = [lg for lg in (args.langs or "").split(",") if lg] or None
    scores = submission.score(args.predictions, args.labels, args.suite, tasks, langs, args.out)
    print(submission.per_language(scores))
    for key, value in scores.items():
        if isinstance(value, dict):
            print(f"{key}: " + ", ".join(f"{m} {v:.2f}" for m, v in value.items() if m.startswith("avg")))
        elif key != "partial":
            print(f"{key}: {value:.2f}")
    if langs:
        print(f"partial: only {' '.join(langs)} scored; no category or {args.suite} score.")


def cmd_stats(args):
    task = get_task(args.task)
    lang = args.lang or ("en" if "en" in task.LANGS else task.LANGS[0])
    out, examples, skipped = describe(task, args.data_dir, args.split, lang, args.model)
    print(json.dumps(out, ensure_ascii=False) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
    check_skipped(examples, skipped, Config.max_bad_rows, f"{args.task} {args.split} {lang}")


def cmd_embed(args):
    lines = read_lines(args.input)  # before the heavy imports: a wrong path answers at once
    import numpy as np

    from model.tokenizer import Tokenizer
    from chain.stage import device_of, encoder_of
    from tasks.lib.retrieval import embed
    device = device_of(Config(device=args.device))
    model = encoder_of(args.model, device, "--model")  # a run directory (its encoder/) as eval --init takes

    layer = model.config.num_hidden_layers if args.layer is None else args.layer
    vecs = embed(model, Tokenizer(model.source), lines, layer, args.pool, args.max_len, args.batch_size,
                 args.dtype, progress=len(lines) > 10 * args.batch_size)
    bad = (~np.isfinite(vecs)).any(axis=1).nonzero()[0]
    if len(bad):  # never written with exit 0: NaN vectors would rank as garbage downstream
        raise UserError(f"--model {args.model}: {len(bad)} of {len(vecs)} embeddings are not finite (first: line "
                        f"{bad[0] + 1}); the weights or config are damaged (a NaN weight, layer_norm_eps <= 0).")
    out = Path(args.out)
    if out.is_dir():
        raise UserError(f"--out {out}: is a folder; give a file name such as {out / 'vectors.npy'}.")
    out.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, vecs)

    if util.main():  # torchrun: rank 0 writes
        util.atomic_write(out, write)
    print(f"wrote {out}: {vecs.shape[0]} x {vecs.shape[1]} float32 (hidden_states[{layer}], {args.pool} pooling)")


def config_flags(p, skip=(), task=None):
    """Every Config field as a flag; its help is the field's comment, its choices, and the default this run
    would take: the task's own (HPARAMS) when --task / --target names one."""
    own = get_task(task).HPARAMS if task else {}
    why = explained()
    for f in fields(Config):
        if f.name not in skip:
            default = f"default {own[f.name]!r}, {task}'s" if f.name in own else f"default {f.default!r}"
            p.add_argument("--" + f.name.replace("_", "-"), type=f.type, default=None, choices=CHOICES.get(f.name),
                           metavar=f.type.__name__.upper(), help=f"{why[f.name]} ({default})")
    p.add_argument("--resume", action="store_true", help="continue this run from its newest checkpoint")


def named_task(argv):
    """With -h, the task named by --task X / --target X, found by its file: a normal command imports nothing."""
    if "-h" not in argv and "--help" not in argv:
        return None
    for flag in ("--task", "--target"):
        if flag in argv[:-1] and (Path(__file__).parent / "tasks" / f"{argv[argv.index(flag) + 1]}.py").is_file():
            return argv[argv.index(flag) + 1]
    return None


def examples(command):
    """The docstring's example lines for one subcommand: its -h epilog."""
    return "examples:\n" + "\n".join(line for line in __doc__.splitlines() if f"xstilts.py {command} " in line)


def cmd_tasks(args):
    """Every task: kind, head, metric, languages, the files it reads and the data script that fetches them."""
    for name in task_names():
        t = get_task(name)
        kind = "retrieval" if t.RETRIEVAL else "target" if len(t.LANGS) > 1 else "intermediate"
        files = ", ".join(t.FILES.values()) or "see its docstring"
        script = Path(__file__).parent / "data_scripts" / f"{name}.py"
        print(f"{name:14} {kind:12} head={t.HEAD or '-':8} metric={t.METRIC:9} "
              f"langs={len(t.LANGS):2} ({' '.join(t.LANGS[:6])}{' ...' if len(t.LANGS) > 6 else ''})  files: {files}  "
              f"data: {'make data TASK=' + name if script.exists() else 'user-supplied (see tasks/' + name + '.py)'}")


def sweep_doc():
    import studies.sweep
    return studies.sweep.__doc__


UNUSED = dict(intermediate=("init", "targets", "langs", "layer", "pool", "retrieval_tune"),  # each shows its own flags
              target=("model", "targets", "langs", "layer", "pool", "retrieval_tune"),
              eval=("task", "model", "targets"), run=())


def negatives(argv):
    """`--lr -1e-5` → `--lr=-1e-5`: argparse would take a negative number in e-notation for a flag."""
    out = []
    for a in argv:
        if (out and out[-1].startswith("--") and out[-1] != "--" and "=" not in out[-1]
                and re.fullmatch(r"-[\d.]+(e[-+]?\d+)?|-inf|-nan", a, re.IGNORECASE)):
            out[-1] += "=" + a
        else:
            out.append(a)
    return out


def main(argv=None):
    argv = negatives(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="xstilts.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    for name, func, text in (("intermediate", cmd_intermediate, "train on an English intermediate task"),
                             ("target", cmd_target, "fine-tune a fresh head on a target's English data"),
                             ("eval", cmd_eval, "zero-shot evaluation on every language of a target"),
                             ("run", cmd_run, "the whole chain from one YAML file")):
        p = sub.add_parser(name, help=text, description=text, epilog=examples(name),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        if name == "eval":
            p.add_argument("--target", help="target task, e.g. xnli or tatoeba")
            p.add_argument("--all", action="store_true", help="every target of --suite, all its languages, "
                           "trained from --init; submission folder + scores.json")
            p.add_argument("--suite", choices=("xtreme", "xtreme-r"), default="xtreme")
        if name == "run":
            p.add_argument("--config", required=True, help="YAML file of Config keys (+ targets)")
        config_flags(p, skip=UNUSED[name], task=named_task(argv))
        p.set_defaults(func=func)
    w = sub.add_parser("sweep", help="a study: a grid of chains run as one plan, a tidy results table",
                       description=sweep_doc(), formatter_class=argparse.RawDescriptionHelpFormatter)
    w.add_argument("--config", required=True, help="the study YAML (studies/*.yaml)")
    w.add_argument("--dry-run", action="store_true", help="print cells, distinct stages (finished or not) and the work")
    w.add_argument("--plan", default=None, metavar="FILE", help="write one shell command per stage, waves apart")
    w.add_argument("--stage", default=None, help="run this one stage of the plan (a line of --plan)")
    w.set_defaults(func=cmd_sweep)
    m = sub.add_parser("compare", help="task × language table of finished runs, deltas against a baseline")
    m.add_argument("runs", nargs="+", metavar="RUN", help="a run / eval --all / sweep folder; LABEL=DIR,DIR,... "
                   "groups the seeds of one system")
    m.add_argument("--baseline", default=None, help="the label to compare against (paired bootstrap over examples)")
    m.add_argument("--metric", default=None, help="metric to show (default: each target's main metric)")
    m.add_argument("--out", default=None, help="also write the tables as JSON here")
    m.set_defaults(func=cmd_compare)
    r = sub.add_parser("report", help="report.md + report.json + plots of a sweep folder")
    r.add_argument("sweep", help="the sweep folder (runs/<study name>)")
    r.add_argument("--group-by", default=None, metavar="X", help="compare groups of languages: a column of "
                   "studies/languages.tsv (resource, family, genus, script, joshi_class) or a grouping named in the "
                   "study's `groups:` (overrides it)")
    r.set_defaults(func=cmd_report)
    sub.add_parser("tasks", help="every task: kind, head, metric, languages, files, data script").set_defaults(
        func=cmd_tasks)
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
    c.add_argument("--langs", default="", help="comma list: score only these languages (partial: no overall score)")
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
    if argv[:1] == ["intermediate"] and any(a.split("=")[0] == "--init" for a in argv):
        print("xstilts: error: intermediate starts from --model (a model, or a finished run for sequential STILTs); "
              "--init is for target and eval.", file=sys.stderr)
        return 2
    args = ap.parse_args(argv)
    group = int(os.environ.get("WORLD_SIZE", "1")) > 1  # under torchrun: join the process group (chain/dist.py)
    if group:
        from chain import dist
        dist.init()
    try:
        args.func(args)
        if group:
            dist.finish(ok=True)  # every rank waits for rank 0's writes, then the group closes cleanly
    except (UserError, OSError) as err:  # OSError: a path we cannot read or write; its message names it
        full = " (the disk is full: free space, then rerun; a run continues with --resume)" * (
            getattr(err, "errno", None) == 28)
        print(f"xstilts: error: {err}{full}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:  # Ctrl-C: where the run stands, not a traceback; 130 as shells expect
        print(f"xstilts: {str(err) or 'interrupted.'}", file=sys.stderr)
        return 130
    finally:
        if group:
            dist.finish(ok=False)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sys.exit(main())
