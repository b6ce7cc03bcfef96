"""Synthetic truth: a sweep folder in `sweep`'s formats (study.yaml, cells.json, results.csv) built from a study
YAML and planted effects, so that every report section can be tested against an answer known in advance.

    from studies import synthetic
    synthetic.write("studies/volume.yaml", "runs/fake-volume", truth=lambda keys, target, lang: 60.0)
    synthetic.write("studies/groups.yaml", "runs/fake-groups", synthetic.group_effect(
        {"a": ["de", "fr"], "b": ["sw", "zh"]}, {"a": 2.0, "b": 1.0}, spread=0.3))   # a planted group difference
    python xstilts.py report runs/fake-volume
    python -m studies.synthetic studies/volume.yaml runs/fake-volume   # a null truth, reported and timed

truth(keys, target, lang) is the true score (points, 0-100) of a grid combination on one target language.
Each cell (combination × seed) then gets the noise a real sweep has: a seed effect shared by all its languages
(sd `seed_sd`), a language-by-seed deviation (sd `lang_seed_sd`), and per-example noise — the score is the
share of `examples` test examples right, each right with the noisy true probability (a binomial draw).
The noise has mean zero, so the expected gain of a cell is exactly truth(cell) - truth(baseline). Baseline
cells that differ only in intermediate keys share their values, as they share their stages in a sweep.
"""
import csv
import importlib
import json
from pathlib import Path

import numpy as np
import yaml

from studies.compare import MAIN
from studies.sweep import SIZES, cells, targets_of
from tasks import get_task


def _train_examples(keys):
    """What the intermediate stage would train on: the official size, or the study's subsample of it."""
    task = str(keys.get("task", "none"))
    if task == "none":
        return None
    full = sum(SIZES.get(t.split("@")[0], 10_000) for t in task.split(","))
    cap = keys.get("intermediate.max_train_examples", keys.get("max_train_examples", 0))
    return min(int(cap), full) if cap else full


def _langs(study, target):
    langs = importlib.import_module(f"tasks.{target}").LANGS
    return [lang for lang in langs if lang in study["langs"]] if study.get("langs") else list(langs)


def group_effect(groups, gains, spread=0.0, level=60.0, rng=0):
    """A truth with a group effect: every cell but the baseline (task none) gains gains[group] points on the languages
    of groups[group] (0 on a language in no group), each language also its own fixed deviation (sd `spread`, drawn
    once: languages differ within a group too); every language's baseline is `level`."""
    of = {lang: group for group, langs in groups.items() for lang in langs}
    dev = dict(zip(sorted(of), np.random.default_rng(rng).normal(0, spread, len(of))))
    return lambda keys, t, lang: level + (str(keys.get("task", "none")) != "none") * (gains.get(of.get(lang), 0.0)
                                                                                      + dev.get(lang, 0.0))


def write(study, folder, truth, seed_sd=0.5, lang_seed_sd=0.5, examples=2000, rng=0, dev=None):
    """Write the sweep folder for `study` (a YAML path or the dict it holds); return the folder.
    dev(keys, target) → the true English dev score of a trained target (cells.json `dev`, what the xstilts
    study selects on), drawn per cell with the cell's seed effect plus its own noise (sd lang_seed_sd)."""
    if not isinstance(study, dict):
        study = yaml.safe_load(Path(study).read_text(encoding="utf-8"))
    study = dict(study, seeds=study.get("seeds") or [1])
    folder, rng = Path(folder), np.random.default_rng(rng)
    folder.mkdir(parents=True, exist_ok=True)
    grid, targets = list(study["grid"]), targets_of(study)
    rows, info, stages = [], [], {}
    for c in cells(study):
        keys, shared = c["keys"], rng.normal(0, seed_sd)
        task = str(keys.get("task", "none"))
        # the baseline's cells that differ only in intermediate keys are one stage in a real sweep: one value
        same = (json.dumps({k: v for k, v in keys.items() if not k.startswith("intermediate.")}, sort_keys=True,
                           default=str), c["seed"]) if task == "none" else (c["cell"],)
        info.append(dict(cell=c["cell"], keys=keys, seed=c["seed"], train_examples=_train_examples(keys),
                         model=keys.get("model", study.get("base", {}).get("model")),  # as sweep's cells.json
                         ntasks=0 if task == "none" else len(task.split(",")),
                         inter_lang="none" if task == "none" else (task.split(",")[0].split("@") + ["en"])[1],
                         stages=[]))
        if dev:
            info[-1]["dev"] = {t: {MAIN[t]: float(dev(keys, t) + shared + rng.normal(0, lang_seed_sd))}
                               for t in targets if not get_task(t).RETRIEVAL}
        for t in targets:
            for lang in _langs(study, t):
                if (*same, t, lang) not in stages:
                    p = np.clip((truth(keys, t, lang) + shared + rng.normal(0, lang_seed_sd)) / 100, 0, 1)
                    stages[(*same, t, lang)] = 100 * rng.binomial(examples, p) / examples
                value = stages[(*same, t, lang)]
                rows.append([c["cell"], *(keys[k] for k in grid), c["seed"], t, lang, MAIN[t], value])
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False), encoding="utf-8")
    (folder / "cells.json").write_text(json.dumps(info, indent=1), encoding="utf-8")
    with open(folder / "results.csv", "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["cell", *grid, "seed", "target", "lang", "metric", "value"])
        out.writerows(rows)
    return folder


if __name__ == "__main__":  # python -m studies.synthetic STUDY.yaml FOLDER: a null sweep of that shape, reported
    import sys
    import time
    from studies.report import write_report
    folder = write(sys.argv[1], sys.argv[2], lambda keys, target, lang: 60.0)
    start = time.perf_counter()
    write_report(folder)
    print(f"{folder}: report in {time.perf_counter() - start:.1f} s")
