"""`xstilts.py sweep --config STUDY.yaml [--dry-run] [--plan FILE] [--stage ID]`: a grid of X-STILTs chains
as one plan of stages (chain/plan.py), run or resumed, ending in one tidy results table.

STUDY.yaml (studies/*.yaml are the real ones, studies/demo/*.yaml their offline tiny versions):
  study: volume          # the report's analysis: volume | typology | ntasks | robustness | translated |
                         # encoders (a grid `model`: each encoder's gain over its own baseline)
  name: volume           # the sweep directory: <runs_dir>/<name> (default: the file's stem)
  base: {...}            # Config keys (chain/config.py) for every stage; `intermediate.KEY`, `target.KEY`
                         # or `eval.KEY` sets a key for those stages only (a volume sweep subsamples the
                         # intermediate data, never the target's: intermediate.max_train_examples)
  grid: {KEY: [values]}  # the same keys, plus `task`: the intermediate task set; `none` = no intermediate
                         # training (the baseline: targets fine-tuned straight from the pretrained model)
  targets: [xnli, ...]   # or suite: xtreme | xtreme-r (every target on its suite's languages)
  langs: [sw, ...]       # optional subset of each target's languages
  seeds: [1, 2, 3]       # every training stage of a cell uses the cell's seed
  groups: script         # optional: language groups compared in the report, a languages.tsv column or
                         # {name: {group: [langs]}} (studies/languages.py grouping; `report --group-by`)
  (report keys: metric, threshold, baseline, keep_collapsed; studies/report.py)
Precedence per stage: Config < task HPARAMS < base < base scoped < grid cell < grid cell scoped.
The sweep directory holds study.yaml (a copy), stages/ (every stage once), results.csv and results.jsonl
(header cell,<grid keys in grid order>,seed,target,lang,metric,value; rewritten atomically after every
stage, metrics recomputed from each eval stage's predictions/ and labels/) and cells.json.
"""
import csv
import hashlib
import itertools
import json
import math
import random
import re
import shutil
import time
from dataclasses import fields, replace
from pathlib import Path

import util
from chain.config import Config, read_yaml, resolve
from chain.plan import Stage, chain, distinct, execute, preflight, waves
from chain.rundir import lock, release, write_json
from util import UserError
from util import atomic_write
from studies import languages
from studies.compare import main_metric, read_scores
from tasks.lib import submission
from tasks import get_task, task_names

KEYS = {"study", "name", "base", "grid", "targets", "suite", "langs", "seeds", "metric", "threshold", "baseline",
        "keep_collapsed", "groups"}
STUDY_LEVEL = {"seed": "seeds", "langs": "langs", "runs_dir": "the --runs-dir flag", "name": "name"}  # not per cell
METRICS = ("macro_f1", "accuracy", "f1", "exact_match", "precision", "recall")  # a `metric:` may name, beside METRIC
MAX_CELLS = 10_000  # grid combinations × seeds: a typo (a 10^6-cell grid) stops before anything is built
STUDIES = ("volume", "typology", "ntasks", "robustness", "translated", "xstilts", "encoders")
SCOPES = ("intermediate", "target", "eval")
ONE_BASELINE = ("volume", "typology", "ntasks", "robustness", "translated", "xstilts")  # their sections: one `none`
SIZES = {n: get_task(n).TRAIN_SIZE for n in task_names() if get_task(n).TRAIN_SIZE}  # studies/synthetic.py's
TOKENS_PER_S = 19_300  # XLM-R large, bf16, one H100 80GB: `xstilts.py intermediate --task mnli` steady state (issue 12)


def targets_of(study):
    return [submission.task_of(t) for t in submission.SUITES[study["suite"]][0]] if study.get("suite") else study["targets"]


def read_study(path):
    """The study YAML, checked whole before anything runs: one line per problem."""
    s = read_yaml(path)
    src = f"--config {path}"
    unknown = sorted(set(s) - KEYS)
    if unknown:
        raise UserError(f"{src}: unknown key {unknown[0]!r}; a study has {', '.join(sorted(KEYS))}.")
    if s.get("study") is not None and s["study"] not in STUDIES:
        raise UserError(f"{src}: study {s['study']!r}; choose one of {', '.join(STUDIES)} (or leave it out).")
    grid = s.get("grid") or {}
    if not isinstance(grid, dict) or not grid:
        raise UserError(f"{src}: grid is empty; give at least one key with a list of values (e.g. task: [none, mnli]).")
    if s.get("base") is not None and not isinstance(s["base"], dict):
        raise UserError(f"{src}: base must be a mapping of Config keys (e.g. base: {{model: ..., lr: 2e-5}}).")
    for key in grid:
        if key.rpartition(".")[2] in STUDY_LEVEL:
            where = STUDY_LEVEL[key.rpartition(".")[2]]
            raise UserError(f"{src}: grid.{key} cannot vary per cell; set it with {where}.")
    fieldnames = {f.name for f in fields(Config)}
    for key in [*grid, *(s.get("base") or {})]:
        scope, _, name = key.rpartition(".")
        if (scope and scope not in SCOPES) or name.replace("-", "_") not in fieldnames:
            raise UserError(f"{src}: unknown key {key!r} in grid/base; use Config fields (chain/config.py), "
                            f"optionally as {'/'.join(SCOPES)}.KEY.")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"{src}: grid.{key} must be a non-empty list of values.")
        if not all(isinstance(v, (str, int, float, bool)) for v in values):  # lists, maps, YAML anchors' expansions
            raise UserError(f"{src}: grid.{key} must list single values (a number or a name), e.g. [1e-5, 2e-5].")
        seen = {}
        for v in values:
            same = seen.setdefault(_canonical(v), v)
            if same is not v:
                raise UserError(f"{src}: grid.{key} lists one value twice ({same!r} and {v!r}); keep one.")
    seeds = s.get("seeds", [1])
    if not isinstance(seeds, list) or not seeds or not all(type(x) is int and 0 <= x < 2 ** 32 for x in seeds):
        raise UserError(f"{src}: seeds must be a list of integers in [0, 2^32), e.g. [1, 2, 3].")
    if len(set(seeds)) < len(seeds):
        raise UserError(f"{src}: seeds lists a seed twice ({seeds}): one run would count as two.")
    cells = len(seeds) * math.prod(len(v) for v in grid.values())
    if cells > MAX_CELLS:
        raise UserError(f"{src}: the grid makes {cells:,} cells (values multiplied, times seeds); the cap is "
                        f"{MAX_CELLS:,}: split the study.")
    if isinstance(s.get("targets"), str):  # `targets: xnli` or "xnli,panx", as the flag takes it
        s["targets"] = [t.strip() for t in s["targets"].split(",") if t.strip()]
    folder = s.get("name") or Path(path).stem
    if not isinstance(folder, str) or not re.fullmatch(r"[\w][\w.-]*", folder):
        raise UserError(f"{src}: name {folder!r} must be a plain folder name (letters, digits, . _ -), as --name.")
    if bool(s.get("targets")) == bool(s.get("suite")):
        raise UserError(f"{src}: give either targets: [xnli, ...] or suite: xtreme | xtreme-r.")
    if s.get("suite") and s["suite"] not in submission.SUITES:
        raise UserError(f"{src}: suite {s['suite']!r}; choose xtreme or xtreme-r.")
    known = {submission.task_of(t) for table, _ in submission.SUITES.values() for t in table}
    for t in s.get("targets") or []:
        if t not in known:
            raise UserError(f"{src}: unknown target {t!r}; the targets are {', '.join(sorted(known))}.")
    for t in grid.get("task", []):
        for name in str(t).split(","):
            if t != "none" and name.split("@")[0] not in task_names():
                raise UserError(f"{src}: grid.task {t!r}: unknown task {name.split('@')[0]!r}; the tasks are "
                                f"{', '.join(task_names())}, or none.")
    _report_keys(s, src, grid)
    langs = s.get("langs")
    if langs is not None:
        if isinstance(langs, str):
            langs = s["langs"] = [x.strip() for x in langs.split(",") if x.strip()]
        have = {x for t in targets_of(s) for x in _languages(s, t)}
        unknown = [x for x in langs if x not in have]
        if unknown:
            raise UserError(f"{src}: langs {' '.join(map(str, unknown))}: no target of this study has it; they have "
                            f"{' '.join(sorted(have))}.")
    _groups(s, src)
    s.update(seeds=seeds, name=folder, grid=grid, base=s.get("base") or {})
    return s


def _groups(s, src):
    """`groups:` checked now (studies/languages.py grouping), and every language it names in some target."""
    languages.grouping(s.get("groups"), where=src)
    named = s["groups"] if isinstance(s.get("groups"), dict) else {}
    have = {x for t in targets_of(s) for x in _languages(s, t) if not s.get("langs") or x in s["langs"]}
    for name, groups in named.items():
        for group, langs in groups.items():
            absent = [x for x in langs if x not in have]
            if absent:
                raise UserError(f"{src}: groups.{name}.{group}: {' '.join(absent)} in no target of this study (they "
                                f"have {' '.join(sorted(have))}); drop it or add a target that has it.")


def _canonical(v):
    """A grid value as a cell sees it: 1e-3 and 0.001 (or "0.001") are one value; task sets ignore spaces."""
    try:
        return ("number", float(v)) if not isinstance(v, bool) else ("bool", v)
    except (TypeError, ValueError):
        return ("text", ",".join(p.strip() for p in str(v).split(",")))


def _languages(s, target):
    return submission.SUITES[s["suite"]][0].get(submission.folder(target), get_task(target).LANGS) \
        if s.get("suite") else get_task(target).LANGS


def _report_keys(s, src, grid):
    """The report's keys, checked now: a typo must not wait for `report` after hours of training."""
    targets = targets_of(s)
    split = [k for k in grid if k != "task" and not k.startswith("intermediate.") and k not in (s.get("baseline") or {})]
    if s.get("study") in ONE_BASELINE and split:  # each value of such a key has its own baseline (report.py _applies)
        raise UserError(f"{src}: grid.{split[0]} gives each of its values its own baseline, and the {s['study']} "
                        f"analysis compares against one; vary it in separate studies, fix it in `baseline:`, or "
                        "leave `study:` out (generic: each cell against its own baseline; encoders: per model).")
    metric = s.get("metric")
    wanted = metric if isinstance(metric, dict) else {t: metric for t in targets} if metric is not None else {}
    if metric is not None and not isinstance(metric, (str, dict)):
        raise UserError(f"{src}: metric must be a name (macro_f1) or a mapping target: name.")
    for t, m in wanted.items():
        if t not in targets:
            raise UserError(f"{src}: metric.{t}: {t} is not a target of this study ({', '.join(targets)}).")
        main = main_metric(t) if t in task_names() else None
        if not isinstance(m, str) or m not in {main, *METRICS}:
            raise UserError(f"{src}: metric {m!r} for {t}: use {main} (its main metric) or macro_f1/accuracy.")
    threshold = s.get("threshold", 0.5)
    if type(threshold) not in (int, float) or not 0 < threshold < 100:
        raise UserError(f"{src}: threshold {threshold!r} must be a number of points in (0, 100), e.g. 0.5.")
    if not isinstance(s.get("keep_collapsed", False), bool):
        raise UserError(f"{src}: keep_collapsed must be true or false.")
    baseline = s.get("baseline")
    if baseline is not None:
        if not isinstance(baseline, dict) or not baseline:
            raise UserError(f"{src}: baseline must be a mapping of grid keys to values, e.g. baseline: {{task: none}}.")
        for k, v in baseline.items():
            if k not in grid or _canonical(v) not in {_canonical(x) for x in grid[k]}:
                raise UserError(f"{src}: baseline {k}={v!r} is not in the grid; pick one of grid.{k}'s values.")


def scoped(values, kind):
    """The keys of `values` for stages of this kind: plain keys, then `kind.KEY` ones."""
    plain = {k: v for k, v in values.items() if "." not in k and k != "task"}
    return plain, {k.split(".", 1)[1]: v for k, v in values.items() if k.startswith(kind + ".")}


def cells(study):
    """Every combination of grid values, times every seed: [{cell, keys, seed}], a stable id each."""
    grid = study["grid"]
    out = []
    for values in itertools.product(*grid.values()):
        for seed in study["seeds"]:
            keys = dict(zip(grid, values))
            cid = hashlib.sha256(json.dumps([keys, seed], sort_keys=True).encode()).hexdigest()[:8]
            out.append(dict(cell=f"c{cid}", keys=keys, seed=seed))
    return out


def plan(study, root, path="study"):
    """→ (cells, {cell id: (stages, evals)}); every config resolved (a bad value stops here, before any work)."""
    base, out = study["base"], {}
    for c in cells(study):
        def config_for(kind, task, c=c):
            (b, bs), (g, gs) = scoped(base, kind), scoped(c["keys"], kind)
            where = f"{path} grid " + ", ".join(f"{k}={v}" for k, v in c["keys"].items())
            cfg = resolve(task, (b, f"{path} base"), (bs, f"{path} base"), (g, where), (gs, where))
            return replace(cfg, runs_dir=str(root / "stages"), name="", seed=c["seed"])
        inter = str(c["keys"].get("task", base.get("task", "mnli")))
        where = f"{path} grid " + ", ".join(f"{k}={v}" for k, v in c["keys"].items())
        model = resolve("mnli", (scoped(base, "intermediate")[0], f"{path} base"),  # a grid `model` varies the
                        (scoped(c["keys"], "intermediate")[0], where)).model     # encoder per cell
        out[c["cell"]] = chain(config_for, model, None if inter == "none" else inter, targets_of(study),
                               study.get("langs"), study.get("suite"))
    return cells(study), out


def rows_of(stage, target, cache):
    """The results rows of one eval stage, per finished language, recomputed from its files (cached)."""
    for lang in sorted(stage.finished_langs() & set(stage.langs)):
        if (stage.dir, lang) not in cache:  # a finished language's files never change
            cache[stage.dir, lang] = read_scores(stage.dir, target, lang)[0]
        yield lang, cache[stage.dir, lang]


def write_table(study, root, cell_list, plans, cache):
    """results.csv / results.jsonl (long format) and cells.json, atomically, from whatever is finished."""
    grid, rows, info = list(study["grid"]), [], []
    for c in cell_list:
        stages, evals = plans[c["cell"]]
        for target, stage in evals.items():
            for lang, scores in rows_of(stage, target, cache):
                rows += [dict(cell=c["cell"], **{k: c["keys"][k] for k in grid}, seed=c["seed"], target=target,
                              lang=lang, metric=m, value=v) for m, v in scores.items()]
        inter = next((s for s in stages if s.kind == "intermediate"), None)
        trained = _stage(inter.dir).get("train_examples") if inter else None
        info.append(dict(cell=c["cell"], keys=c["keys"], seed=c["seed"], model=stages[0].model,
                         train_examples=sum(trained.values()) if trained else None,
                         ntasks=len(inter.task.split(",")) if inter else 0,
                         inter_lang=(inter.task.split("@")[1] if "@" in inter.task else inter.cfg.lang) if inter else "none",
                         stages=[str(s.dir.relative_to(root)) for s in stages],
                         provenance=[r for s in [*stages, *evals.values()] for r in _provenance(s.dir)],
                         collapsed=[[t, lang] for t, s in evals.items()
                                    for lang in _stage(s.dir).get("collapsed", {})],
                         evals={t: str(s.dir.relative_to(root)) for t, s in evals.items()},
                         dev={t: dev for t, s in evals.items() if (dev := _dev(s.start, t, cache))},
                         skipped=c.get("skipped")))
    if "model" not in grid:  # the encoder travels with every row (a grid `model` is a column already)
        models = {c["cell"]: i["model"] for c, i in zip(cell_list, info)}
        rows = [dict(r, model=models[r["cell"]]) for r in rows]
    header = ["cell", *grid, *(["model"] if "model" not in grid else []), "seed", "target", "lang", "metric", "value"]

    def write_csv(tmp):  # csv writes a float as its repr: a re-run compares bit for bit
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(header)
            out.writerows([r[h] for h in header] for r in rows)
    if util.main():  # torchrun: rank 0 writes the table
        atomic_write(root / "results.csv", write_csv)
        util.write_text(root / "results.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    write_json(root / "cells.json", info)
    return len(rows)


def _dev(stage, target, cache):
    """The English dev metrics of the target stage an eval stage starts from ({} for retrieval: no training; {}
    while unfinished). A finished stage's results never change: read once per sweep (cached)."""
    if not isinstance(stage, Stage) or stage.kind != "target":
        return {}
    if (stage.dir, "dev") not in cache:
        try:
            cache[stage.dir, "dev"] = json.loads((stage.dir / "results.json").read_text(encoding="utf-8"))[target][
                "en-dev"]
        except (OSError, ValueError, KeyError):  # not finished yet: asked again after the next stage
            return {}
    return cache[stage.dir, "dev"]


def _stage(folder):
    try:
        return json.loads((folder / "stage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _provenance(folder):
    """The provenance records of a finished stage (stage.json): one for a training stage, one per eval call."""
    p = _stage(folder).get("provenance")
    return [dict(r, stage=folder.name) for r in (p if isinstance(p, list) else [p] if p else [])]


def work(stage):
    """(examples seen, real tokens or None) of a training stage, from its data when present; None if absent."""
    from chain.train import load_data
    cfg = stage.cfg
    try:
        data = [load_data(cfg, get_task(n.split("@")[0]), n.split("@")[1] if "@" in n else cfg.lang)[1]
                for n in stage.task.split(",")]
    except UserError:  # no data here: the task files' official sizes and tokens per example (negative: an estimate)
        trained = [get_task(get_task(n.split("@")[0]).TRAIN_ON) for n in stage.task.split(",")]
        if any(t.TRAIN_SIZE is None for t in trained):
            return None, None
        sizes = [min(t.TRAIN_SIZE, cfg.max_train_examples or t.TRAIN_SIZE) for t in trained]
        seen = cfg.max_steps * cfg.batch_size if cfg.max_steps else sum(sizes) * cfg.epochs
        per = [t.TRAIN_TOKENS for t in trained]
        return seen, None if None in per else -seen * sum(t * k for t, k in zip(per, sizes)) / sum(sizes)
    n = sum(map(len, data))
    seen = cfg.max_steps * cfg.batch_size if cfg.max_steps else n * cfg.epochs
    tokens = None
    if Path(cfg.model).is_dir():  # a local tokenizer: measure real tokens on a sample of each task's data
        from model.tokenizer import Tokenizer
        from studies.tokens import real_tokens  # unpadded, as the tokens/s rate counts them
        tok, per = Tokenizer(Path(cfg.model)), []
        for name, examples in zip(stage.task.split(","), data):
            sample = random.Random(0).sample(examples, min(1000, len(examples)))
            task = get_task(name.split("@")[0])
            feats = get_task(task.TRAIN_ON).encode(sample, tok, cfg.max_len)
            per.append(sum(map(real_tokens, feats)) / len(sample) * len(examples))
        tokens = sum(per) / n * seen
    return seen, tokens


def dry_run(study, root, cell_list, plans):
    all_stages = distinct([s for stages, _ in plans.values() for s in stages])
    print(f"{study['name']}: {len(cell_list)} cells ({len(cell_list) // len(study['seeds'])} grid points × "
          f"{len(study['seeds'])} seeds), {len(all_stages)} distinct stages in {root / 'stages'}")
    for c in cell_list:
        done = sum(s.done() for s in plans[c["cell"]][0])
        print(f"  {c['cell']} seed {c['seed']}: " + ", ".join(f"{k}={v}" for k, v in c["keys"].items())
              + f"  ({done}/{len(plans[c['cell']][0])} stages finished)")
    total_seen, total_tokens, unknown, guessed = 0, 0, 0, 0
    for kind in ("intermediate", "target", "eval"):
        these = [s for s in all_stages if s.kind == kind]
        print(f"  {kind}: {len(these)} stages, {sum(s.done() for s in these)} finished")
        for s in these if kind != "eval" else []:
            if s.done():
                continue
            seen, tokens = work(s)  # tokens < 0: estimated without the data (official size, mean length)
            total_seen += seen or 0
            total_tokens += abs(tokens or 0)
            unknown += tokens is None
            guessed += (tokens or 0) < 0
            print(f"    {s.dir.name}: " + (f"{seen:,.0f} examples seen" if seen is not None else "size unknown")
                  + (f", {'~' if tokens < 0 else ''}{abs(tokens):,.0f} tokens" if tokens else ""))
    print(f"  to train: {total_seen:,.0f} examples seen, {total_tokens:,.0f} tokens"
          + (f" ≈ {total_tokens / TOKENS_PER_S / 3600:,.1f} GPU-hours at {TOKENS_PER_S:,} tokens/s (XLM-R large, bf16, "
             "H100)" if total_tokens else "") + (f"; {unknown} stages of unknown token count (not in it)" if unknown else "")
          + (f"; {guessed} stages estimated without their data (official sizes, tokens per example from "
             "studies/tokens.py)" if guessed else ""))


def left_out(study, cell_list, plans):
    """Cells whose intermediate task's data cannot be downloaded (a task file's LICENSED: CCGbank) and is not
    here: marked `skipped` (cells.json, the report's caveats) and said in one line; the other cells run."""
    absent = {}
    for c in cell_list:
        inter = next((s for s in plans[c["cell"]][0] if s.kind == "intermediate"), None)
        for name in inter.task.split(",") if inter and not inter.done() else []:
            task = get_task(name.split("@")[0])
            if task.LICENSED and (name, inter.cfg.data_dir) not in absent:
                absent[name, inter.cfg.data_dir] = _lacks(inter.cfg, task)
            if task.LICENSED and absent[name, inter.cfg.data_dir]:
                c["skipped"] = f"{name}: {task.LICENSED}; its data is not in {inter.cfg.data_dir}"
    skipped = [c for c in cell_list if c.get("skipped")]
    if skipped:
        why = sorted({c["skipped"] for c in skipped})
        print(f"{study['name']}: {len(skipped)} cell(s) left out, the others run: {' | '.join(why)} ("
              + ", ".join(sorted({str(c['keys'].get('task')) for c in skipped})) + ")")
    return skipped


def _lacks(cfg, task):
    from chain.train import load_data
    try:
        load_data(cfg, task, cfg.lang)
        return False
    except UserError:
        return True


def _minutes(stage):
    """A stage's GPU time for a job limit: its training tokens at TOKENS_PER_S (evaluation: a few minutes)."""
    if stage.kind == "eval":
        return "evaluation: minutes"
    tokens = work(stage)[1]
    return f"~{max(1, round(abs(tokens) / TOKENS_PER_S / 60)):,} GPU-min at {TOKENS_PER_S:,} tok/s" if tokens else \
        "GPU time unknown (no token count)"


def write_plan(study, root, plans, out, config):
    """One shell command per stage, in dependency order; a blank line and a comment between waves."""
    lines = []
    for i, wave in enumerate(waves([s for stages, _ in plans.values() for s in stages]), 1):
        lines.append(f"# wave {i}: {len(wave)} stages, each needs only earlier waves")
        lines += [f"python xstilts.py sweep --config {config} --stage {s.dir.name}  # {_minutes(s)}" for s in wave]
        lines.append("")
    lines.append(f"# then the table and the report: python xstilts.py sweep --config {config} && "
                 f"python xstilts.py report {root}")
    if util.main():
        util.write_text(out, "\n".join(lines) + "\n")
    print(f"wrote {out}: {sum(1 for x in lines if x.startswith('python'))} stage commands")


def sweep(config, dry_run_only=False, plan_file=None, stage=None, runs_dir="runs"):
    if stage is not None and (not stage.strip() or dry_run_only or plan_file):
        raise UserError("--stage: give one stage name from --plan (not empty), without --dry-run or --plan.")
    study = read_study(config)
    root = Path(study["base"].get("runs_dir", runs_dir)) / study["name"]
    cell_list, plans = plan(study, root, str(config))
    left_out(study, cell_list, plans)
    runnable = {c["cell"]: plans[c["cell"]] for c in cell_list if not c.get("skipped")}
    if dry_run_only or plan_file:
        if dry_run_only:
            dry_run(study, root, cell_list, plans)
        return write_plan(study, root, runnable, plan_file, config) if plan_file else None
    chosen = [s for stages, _ in runnable.values() for s in stages]
    if stage:  # one line of --plan: that stage alone (its inputs must be finished)
        chosen = [s for s in chosen if s.dir.name == stage]
        if not chosen:
            raise UserError(f"--stage {stage}: not a stage of {config}; see --plan or --dry-run.")
    preflight(chosen)  # every data file of every unfinished stage, before the first step
    root.mkdir(parents=True, exist_ok=True)
    held = None
    if not stage:  # a whole sweep holds its folder; --plan's one-stage lines run side by side by design
        try:
            held = lock(root)
        except UserError:
            raise UserError(f"{root}: another sweep is running in this folder; wait for it, or follow it with "
                            "the same command afterwards (finished stages are reused).") from None
    try:
        return _run(study, config, root, stage, chosen, cell_list, plans)
    finally:
        release(held)


def _run(study, config, root, stage, chosen, cell_list, plans):
    copy = not (root / "study.yaml").exists() or Path(config).read_bytes() != (root / "study.yaml").read_bytes()
    if copy and util.main():
        atomic_write(root / "study.yaml", lambda tmp: shutil.copyfile(config, tmp))
    cache, todo, clock = {}, distinct(chosen), dict(start=time.time(), done=0)

    def update(s):  # after each stage: where the sweep stands, and the table when an evaluation finished
        clock["done"] += 1
        per = (time.time() - clock["start"]) / clock["done"]
        left = len(todo) - clock["done"]
        print(f"sweep {study['name']}: stage {clock['done']}/{len(todo)} ({s.dir.name}) done; {left} left, about "
              f"{per * left / 60:.0f} min at this run's pace so far", flush=True)
        if s.kind == "eval":
            write_table(study, root, cell_list, plans, cache)
    try:
        counts = execute(chosen, on_done=update)
    except KeyboardInterrupt as e:  # a stage's own line says --resume, a flag sweep does not have
        where = str(e).split("; ")[0] or "interrupted"
        raise KeyboardInterrupt(f"{where}; finished stages and the stage's last checkpoint are kept: rerun the same "
                                f"`python xstilts.py sweep --config {config}` to continue.") from None
    n = write_table(study, root, cell_list, plans, cache)
    print(f"{study['name']}: {counts['trained']} stages trained, {counts['reused']} reused, {counts['evaluated']} "
          f"evaluated; {n} rows in {root / 'results.csv'}")
    return root
