"""The X-STILTs chain as a plan of stages, and the code that runs a plan (`run`, `eval --all`, `sweep`).

A stage is (kind, task, its resolved Config, where it starts):
  intermediate  the encoder (+ a head per task) trained on one task or several at once (multi-task)
  target        a fresh head (XCOPA's COPA: SIQA's head, carried over) + the encoder, on a target's English data
  eval          zero-shot on some of a target's languages: predictions/, labels/ (XTREME's layout), results.json
It lives in <runs_dir>/<kind>-<task>-<id>, the id a short hash of exactly what determines its result: kind,
task, the Config keys that shape it (chain/rundir.py NOT_TRAINING lists those that never do) and the id of the
stage it starts from (or the model). Cells of a sweep that need the same stage share its directory; a
finished stage is reused, never retrained; a killed one resumes from its last checkpoint; an eval stage
asked for more languages evaluates only those it lacks.
"""
import hashlib
import json
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

import util
from chain import rundir
from chain.config import write_yaml
from chain.stage import auto_layer, check_model, device_of, evaluate, train_stage
from chain.train import load_data
from model.load import read_config
from tasks import get_task
from tasks.lib import submission
from tasks.lib.reading import load_split
from tasks.lib.scoring import n_classes
from util import UserError


def retrieval(task):
    return get_task(task).RETRIEVAL


def origin(model):
    """A model reference as it identifies a result: a local folder by its absolute path, else the hub id."""
    return str(Path(model).resolve()) if Path(model).exists() else str(model)


@dataclass(eq=False)
class Stage:
    kind: str  # intermediate | target | eval
    task: str  # intermediate: "mnli", "mnli,squad_v2" or "mnli@hi"; target / eval: one target task
    cfg: object  # chain.config.Config, resolved for this stage
    start: object  # the Stage whose encoder this one loads, or a model folder / hub id / finished run (str)
    carry_head: bool = False  # XCOPA: COPA starts from SIQA's head
    langs: tuple = ()  # eval: the languages
    name: str = ""  # the user's folder name instead of <kind>-<task>-<id> (intermediate, target, eval --name)

    @property
    def id(self):
        if self.kind == "eval":  # a trained head is evaluated the same way at any retrieval setting
            keys = ("max_len", "dtype", "layer", "pool") if retrieval(self.task) else ("max_len", "dtype")
            keys = {k: getattr(self.cfg, k) for k in keys}
        else:
            keys = {k: v for k, v in rundir.training_keys(self.cfg).items() if k != "task"}
        start = self.start.id if isinstance(self.start, Stage) else origin(self.start)
        blob = json.dumps([self.kind, self.task, keys, start, self.carry_head], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    @property
    def dir(self):
        return Path(self.cfg.runs_dir) / (self.name or f"{self.kind}-{self.task.replace(',', '+')}-{self.id}")

    @property
    def model(self):
        """The model folder, hub id or finished run the whole chain starts from, as the user named it."""
        return self.start.model if isinstance(self.start, Stage) else str(self.start)

    @property
    def init(self):
        return str(self.start.dir if isinstance(self.start, Stage) else self.start)

    def finished_langs(self):
        path = self.dir / "results.json"
        return set(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else set()

    def done(self):
        if self.kind == "eval":
            return set(self.langs) <= self.finished_langs()
        return (self.dir / "results.json").exists()


def chain(config_for, start, intermediate, targets, langs=None, suite=None):
    """One X-STILTs chain → (stages in dependency order, {target: its eval stage}).
    config_for(kind, task) → Config; start: the model (or a finished run) the chain begins from;
    intermediate: a task set, or None for none (targets start from `start`); langs: a subset of each
    target's languages (None: all of them, or of the suite's table); suite: None | xtreme | xtreme-r.
    A trained target is fine-tuned from the intermediate stage (XCOPA: SIQA first), and so is LAReQA's and
    Mewsli-X's dual encoder (retrieval_tune dual); another retrieval target uses that encoder itself (XTREME-R:
    Tatoeba, and LAReQA with retrieval_tune none, the SQuAD-tuned one of the xquad stage)."""
    stages, trained, evals = [], {}, {}
    top = start
    if intermediate:
        top = Stage("intermediate", intermediate, config_for("intermediate", intermediate.split(",")[0].split("@")[0]),
                    start)
        stages.append(top)

    def train(target):  # a target's training stages, once each
        if target not in trained:
            first, parent = get_task(target).TRAIN_FIRST, top
            if first:
                parent = Stage("target", first, config_for("target", first), top)
                stages.append(parent)
            trained[target] = Stage("target", target, config_for("target", target), parent, carry_head=bool(first))
            stages.append(trained[target])
        return trained[target]

    table = submission.SUITES[suite][0] if suite else {}
    for target in sorted(targets, key=retrieval):  # trained targets first: XTREME-R's retrieval needs xquad's
        own = table.get(submission.folder(target), get_task(target).LANGS)
        chosen = [lang for lang in own if not langs or lang in langs]
        if not chosen and not suite:
            raise UserError(f"langs {','.join(langs)}: target {target} has none of them; it has {' '.join(own)}.")
        if not chosen:  # --langs leaves this suite target none of its languages
            continue
        dual = get_task(target).HEAD == "dual" and config_for("eval", target).retrieval_tune == "dual"
        source = (train("xquad") if suite == "xtreme-r" and target in submission.SQUAD_TUNED else top) \
            if retrieval(target) and not dual else train(target)
        evals[target] = Stage("eval", target, config_for("eval", target), source, langs=tuple(chosen))
        stages.append(evals[target])
    return stages, evals


def distinct(stages):
    """Each stage once (by directory), in first-seen order: what cells share runs once."""
    seen = {}
    for s in stages:
        first = seen.setdefault(s.dir, s)
        if first is not s and s.kind == "eval":  # cells asking for other languages: the union
            seen[s.dir] = replace(first, langs=tuple(dict.fromkeys(first.langs + s.langs)))
    return list(seen.values())


def waves(stages):
    """Stages grouped by depth: a wave's stages depend only on earlier waves (for --plan)."""
    depth = {}
    for s in distinct(stages):
        depth[s.dir] = depth.get(s.start.dir, -1) + 1 if isinstance(s.start, Stage) else 0
    out = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for s in distinct(stages):
        out[depth[s.dir]].append(s)
    return out


def preflight(stages):
    """Before any training: the device and dtype, each model's positions and depth against max_len and the
    retrieval layer (from config.json), and every data file the unfinished stages need (training data, each
    eval language's test set, BUCC's dev), so a typo stops the plan at once; all problems in one line."""
    problems, seen = [], set()
    for s in distinct(stages):  # the model's limits and the device, read from config.json: no weights loaded
        if s.done():
            continue
        root = s.model
        found = [p for p in (Path(root) / "encoder" / "config.json", Path(root) / "config.json") if p.is_file()]
        try:
            device_of(s.cfg)
            if found:  # a hub id is checked when it loads
                check_model(s.cfg, read_config(found[0]), s.kind == "eval" and retrieval(s.task), str(root))
            elif Path(root).exists() or str(root).startswith(("/", ".", "~")) or str(root).count("/") > 1:
                raise UserError(f"model {root}: no config.json there; give a checkpoint folder (config.json + "
                                "*.safetensors), a finished run, or a hub id such as FacebookAI/xlm-roberta-large.")
        except UserError as e:
            problems.append(str(e))
    for s in distinct(stages):
        if s.kind == "eval":
            task = get_task(s.task)
            splits = ["test", "dev"] if task.TUNE_ON_DEV else ["test"]
            checks = [(s.task, split, lang) for lang in sorted(set(s.langs) - s.finished_langs()) for split in splits]
        else:
            checks = [] if s.done() else [(n, "train", n.split("@")[1] if "@" in n else s.cfg.lang)
                                          for n in s.task.split(",")]
        for name, split, lang in checks:
            key = (name, split, lang, s.cfg.data_dir)
            if key in seen:
                continue
            seen.add(key)
            try:
                task = get_task(name.split("@")[0])
                if split == "train":
                    load_data(s.cfg, task, lang)
                else:
                    load_split(s.cfg, task, split, lang)
            except UserError as e:  # XNLI trains on MNLI: one missing file is named once (below)
                problems.append(str(e))
    problems = list(dict.fromkeys(problems))
    if problems:  # grouped by the data each needs (`make data TASK=...`): every task named, its first problem shown
        by = {}
        for p in problems:
            by.setdefault((re.findall(r"make data TASK=([\w@]+)", p) or ["other"])[0], []).append(p)
        raise UserError(f"{len(problems)} problem(s) before any training, in {len(by)} task(s): " + " | ".join(
            f"{task} ({len(ps)}): {ps[0]}" for task, ps in by.items()))


def execute(stages, resume=True, on_done=None):
    """Run every stage not finished yet, in order, each once. resume: continue a stage whose directory
    exists (a killed run); on_done(stage) after each. → counts of trained, reused and evaluated stages."""
    counts = dict(trained=0, reused=0, evaluated=0)
    for s in distinct(stages):
        if s.kind == "eval":
            counts["evaluated"] += run_eval(s)
        elif s.done():
            rundir.same_config(replace(s.cfg, task=s.task), s.dir)
            counts["reused"] += 1
        else:
            if isinstance(s.start, Stage) and not s.start.done():
                raise UserError(f"{s.dir.name} starts from {s.start.dir}, which is not finished; run that stage first.")
            cfg = replace(s.cfg, task=s.task, runs_dir=str(s.dir.parent), name=s.dir.name)
            train_stage(cfg, s.task, s.init, resume and s.dir.exists(), s.init if s.carry_head else None,
                        "--model" if s.kind == "intermediate" else "--init")
            counts["trained"] += 1
        if on_done:
            on_done(s)
    return counts


def run_eval(s):
    """Evaluate the languages the eval stage lacks; results.json is written after their files. → 1 if any."""
    have = s.finished_langs()
    missing = [lang for lang in s.langs if lang not in have]
    if not missing:
        return 0
    if isinstance(s.start, Stage) and not s.start.done():
        raise UserError(f"{s.dir.name} evaluates {s.start.dir}, which is not finished; run that stage first.")
    started = time.time()
    results, files = evaluate(s.cfg, s.task, s.init, missing)
    s.dir.mkdir(parents=True, exist_ok=True)
    if s.name:  # `xstilts.py eval`: the user's own folder
        write_eval_run(s, results, files)
        return 1
    if not (s.dir / "config.yaml").exists():
        write_yaml(replace(s.cfg, task=s.task, init=s.init, langs=",".join(s.langs)), s.dir / "config.yaml")
    rundir.write_files(s.dir, files)
    util.barrier()  # torchrun: every rank reads the predictions rank 0 wrote (collapsed, below)
    old = json.loads((s.dir / "results.json").read_text(encoding="utf-8")) if have else {}
    before = s.dir / "stage.json"  # one record per evaluation call: languages added later carry their own
    old_stage = json.loads(before.read_text(encoding="utf-8")) if have and before.exists() else {}
    rundir.write_json(s.dir / "stage.json", dict(provenance=[*old_stage.get("provenance", []),
                                                      dict(rundir.provenance(started), langs=missing)],
                                          collapsed={**old_stage.get("collapsed", {}), **collapsed(s, missing)}))
    rundir.write_json(s.dir / "results.json", {**old, **results})
    util.barrier()  # torchrun: rank 0 has written them
    return 1


def write_eval_run(s, results, files):
    """`xstilts.py eval`'s folder, as a run's: config.yaml (with the retrieval layer actually used), predictions/
    and labels/, results.json + results.md with the averages."""
    cfg, config = s.cfg, Path(s.cfg.model) / "config.json"
    if config.is_file():  # the retrieval layer -1 resolved: the index actually used
        cfg = replace(cfg, layer=auto_layer(cfg.layer, read_config(config).num_hidden_layers))
    held = rundir.lock(s.dir)
    try:
        write_yaml(cfg, s.dir / "config.yaml")
        rundir.write_files(s.dir, files)
        rundir.write_results(s.dir, {s.task: results})
    finally:
        rundir.release(held)


def collapsed(s, langs):
    """{lang: share} of a classification target's languages where one class is >= 95% of the predictions: a
    model that stopped telling the classes apart (the report leaves it out of the statistics)."""
    f = submission.folder(s.task)
    if not n_classes(get_task(s.task)):
        return {}
    out = {}
    for lang in langs:
        pred = submission.read(s.dir / "predictions" / f / f"test-{lang}.{submission.suffix(f)}", f)
        share = max(pred.count(x) for x in set(pred)) / len(pred) if pred else 0.0
        if share >= 0.95:
            out[lang] = round(share, 4)
    return out


def collect(evals):
    """{target: {lang: metrics}} and {relative path: text} of the eval stages' files, for their languages."""
    results, files = {}, {}
    for target, s in evals.items():
        saved = json.loads((s.dir / "results.json").read_text(encoding="utf-8"))
        results[target] = {lang: saved[lang] for lang in s.langs}
        folder = submission.folder(target)
        for kind in ("predictions", "labels"):
            for lang in s.langs:
                rel = f"{kind}/{folder}/test-{lang}.{submission.suffix(folder)}"
                files[rel] = (s.dir / rel).read_text(encoding="utf-8")
    return results, files


def run_chain(base, config_of, suite=None, resume=False):
    """`run --config`: the intermediate task, then each target and its zero-shot evaluation; `eval --all`: every
    target of `suite` on all of its languages, from base.init. config_of(task) → that task's Config. One plan of
    stages under <root>/stages/; predictions and labels in XTREME's layout, results.json and (a whole suite)
    scores.json in the root, written last."""
    if suite and not base.init:
        raise UserError("eval --all needs --init: the intermediate run (or model) every target starts from.")
    default = f"eval-{suite}-{Path(base.init).name}" if suite else f"run-{base.task}"
    root = Path(base.runs_dir) / (base.name or default)
    if root.exists() and not resume:
        raise UserError(f"{root}: this run directory exists; continue it with --resume or pick another --name.")

    def config_for(kind, task):
        return replace(config_of(task), runs_dir=str(root / "stages"), name="")
    targets = [submission.task_of(t) for t in submission.SUITES[suite][0]] if suite else base.targets.split(",")
    stages, evals = chain(config_for, base.init if suite else base.model, None if suite else base.task,
                          [t for t in targets if t], base.langs.split(",") if base.langs else None, suite)
    preflight(stages)  # a missing file of a later target stops here, before the first stage trains
    execute(stages)
    results, files = collect(evals)
    rundir.write_files(root, files)
    rundir.write_results(root, results)
    if suite and not base.langs:
        scores = submission.score(root / "predictions", root / "labels", suite)
        rundir.write_json(root / "scores.json", scores)
        print(f"{suite} score: {scores['all_task']:.2f}  ({root / 'scores.json'})")
    print(f"results: {root / 'results.md'}")
    return root
