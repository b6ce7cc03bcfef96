"""Every knob of a run in one flat, typed dataclass, with the SPEC §6 recipe as defaults.

Precedence: these defaults < the task file's HPARAMS < the YAML file (`run --config`) < command-line
flags. Unknown or ill-typed keys stop with the key's name. The resolved config is written into the run
directory as config.yaml; `--resume` starts from that file, and flags given with it must agree with it.
"""
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import yaml

import util

from util import UserError


@dataclass
class Config:
    model: str = "FacebookAI/xlm-roberta-large"  # checkpoint folder or hub id (SPEC §1)
    task: str = "mnli"  # intermediate: one task or a comma list; target: the target task
    targets: str = "xnli,tatoeba"  # `run`: the targets trained/evaluated after the intermediate task
    init: str = ""  # target/eval: a run directory or a model to start from
    langs: str = ""  # eval: comma list of languages; empty = every language of the target
    lang: str = "en"  # language of the training data (translated MNLI, SQuAD...); per task: --task mnli@hi
    data_dir: str = "data"  # where make data puts the official files: <data-dir>/<task>/
    runs_dir: str = "runs"  # run directories are created under it
    name: str = ""  # run directory name under runs_dir (default: <command>-<task>)
    # optimisation (SPEC §6)
    lr: float = 1e-5  # peak AdamW learning rate
    adam_eps: float = 1e-8  # AdamW epsilon
    weight_decay: float = 0.01  # on 2-D weights only: never biases or LayerNorm
    warmup: float = 0.1  # share of all optimiser steps
    clip: float = 1.0  # gradient-norm clipping
    batch_size: int = 32  # effective batch: micro_batch × accumulation steps
    micro_batch: int = 0  # 0 = batch_size (no accumulation); under torchrun batch_size / N: one per rank
    token_budget: int = 0  # > 0: micro-batches of at most this many padded tokens instead
    epochs: float = 2.0  # passes over the training data (fractions allowed)
    max_steps: int = 0  # > 0: stop after this many optimiser steps (the schedule spans them): equal compute
    max_len: int = 256  # tokens per sequence, <s> and </s> included
    dtype: str = "bf16"  # fp32 | bf16 | fp16 (CUDA; with GradScaler)
    device: str = "auto"  # auto: CUDA when there is one
    seed: int = 1  # initialisation, data order, subsets, multi-task sampling
    bucket: int = -1  # pad each batch's length up to a multiple of this (a bounded set of shapes: CUDA graphs, cuDNN
    #   plans); -1 = 64 on CUDA, off on CPU; 0 = off
    compile: str = "off"  # torch.compile the encoder: off, default, or reduce-overhead (CUDA graphs); opt-in: compiling
    #   costs time up front
    grad_checkpoint: int = 0  # 1 = recompute each layer in the backward pass: less memory for long sequences (QA at
    #   384), ~30% slower
    # selection, logging, checkpoints
    eval_every: int = 1000  # optimiser steps between dev evaluations (selection)
    eval_examples: int = 500  # the first N English dev examples
    select_on: str = "train"  # selection dev set: train = the training task's (jiant; MNLI's for XNLI), or target
    patience: int = 30  # evaluations without improvement before stopping
    log_every: int = 10  # steps between log lines (each .item() is a GPU sync)
    save_every: int = 1000  # steps between checkpoints (what --resume continues from)
    keep_last: int = 2  # checkpoints kept
    max_bad_rows: float = 0.01  # share of malformed rows tolerated in a data file
    max_train_examples: int = 0  # 0 = all; else a fixed seeded subset
    # multi-task intermediate training (SPEC §2): a task per optimiser step, p_t ∝ min(N_t, cap)^(1/T)
    sampling: str = "proportional"  # or uniform
    sampling_cap: int = 0  # 0 = no cap; also caps a task's steps per epoch at ⌈cap/B⌉ (jiant)
    sampling_temperature: float = 1.0  # T of p_t ∝ min(N_t, cap)^(1/T)
    share_heads: str = ""  # "a=b,...": task a trains task b's head (e.g. mnli@hi=mnli); default a head each
    # retrieval (SPEC §4)
    layer: int = -1  # retrieval: hidden_states index (0 = embeddings); -1 = jiant's 14 of 24 at the same relative depth
    #   (7 of 12 on base)
    pool: str = "mean"  # retrieval: mean over non-pad tokens, or cls (<s>)
    eval_batch_size: int = 64  # sequences per evaluation batch
    retrieval_tune: str = "dual"  # LAReQA, Mewsli-X: dual = XTREME-R's dual encoder trained first (pooler vectors);
    #   none = the encoder as given (--layer/--pool)
    qa_decode: str = "reference"  # QA labels/answers: reference (jiant/HF: whole words, get_final_text, max-context) or
    #   offsets (overlap, context[offsets])

    def check(self):
        """Every value within its range, or one line naming the key, its value and what it must be."""
        for key, allowed in CHOICES.items():
            if getattr(self, key) not in allowed:
                raise UserError(f"{key}={getattr(self, key)!r}: choose one of {', '.join(allowed)}.")
        for key, ok, want in RULES:
            value = getattr(self, key)
            if isinstance(value, float) and not math.isfinite(value) or not ok(value):
                raise UserError(f"{key}={value!r} (--{key.replace('_', '-')}) is out of range: it must be {want}.")
        if 0 < self.micro_batch < self.batch_size and self.batch_size % self.micro_batch:  # larger: no accumulation
            raise UserError(f"batch_size={self.batch_size} is not a multiple of micro_batch={self.micro_batch}.")
        if Path(self.name).name != self.name or self.name == "..":
            raise UserError(f"name={self.name!r}: a run name is one folder name under runs_dir, without / or ..; "
                            "use --runs-dir to choose where runs go.")
        return self


RULES = [  # (key, test, what it must be)
    ("lr", lambda v: v >= 0, ">= 0"), ("adam_eps", lambda v: v > 0, "> 0"),
    ("weight_decay", lambda v: v >= 0, ">= 0"), ("warmup", lambda v: 0 <= v <= 1, "within 0..1"),
    ("clip", lambda v: v > 0, "> 0"), ("epochs", lambda v: v > 0, "> 0"),
    ("sampling_temperature", lambda v: v > 0, "> 0"), ("max_bad_rows", lambda v: 0 <= v <= 1, "a share within 0..1"),
    ("max_len", lambda v: 8 <= v <= 100_000, "at least 8 (room for <s>, separators and text)"),
    ("seed", lambda v: 0 <= v < 2**32, "within 0..2**32-1"), ("bucket", lambda v: v >= -1, ">= 0, or -1 for auto"),
    ("grad_checkpoint", lambda v: v in (0, 1), "0 or 1"), ("layer", lambda v: v >= -1, ">= 0, or -1 for auto"),
    *((k, lambda v: v > 0, "> 0") for k in ("batch_size", "eval_every", "save_every", "keep_last", "log_every",
                                              "eval_examples", "eval_batch_size", "patience")),
    *((k, lambda v: v >= 0, ">= 0 (0 = off)") for k in ("micro_batch", "max_steps", "token_budget",
                                                        "max_train_examples", "sampling_cap")),
]


CHOICES = dict(dtype=("fp32", "bf16", "fp16"), device=("auto", "cpu", "cuda"), pool=("mean", "cls"),
               sampling=("proportional", "uniform"), qa_decode=("reference", "offsets"), select_on=("train", "target"),
               retrieval_tune=("dual", "none"), compile=("off", "default", "reduce-overhead"))


def explained() -> dict:
    """{field: its comment in the Config block above}: the flags' help text comes from one place."""
    lines = Path(__file__).read_text(encoding="utf-8").split("class Config:")[1].split("def check")[0].splitlines()
    out, last = {}, None
    for line in lines:
        field, more = re.match(r"\s+(\w+): \w+ = .*?#\s*(.*)", line), re.match(r"    #   (.*)", line)
        if field:
            last, out[field[1]] = field[1], field[2]
        elif more and last:  # a comment too long for one line goes on below, indented
            out[last] += " " + more[1]
        else:
            last = None
    return out


def merge(cfg: Config, values: dict, source: str) -> Config:
    """Overlay `values` on cfg; keys must be Config fields and values of the field's type."""
    types = {f.name: f.type for f in fields(Config)}
    out = asdict(cfg)
    for key, value in values.items():
        key = key.replace("-", "_")
        if key not in types:
            raise UserError(f"{source}: unknown key {key!r}; the keys are the fields of chain/config.py:Config.")
        want = types[key]
        if want is str and isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            value = ",".join(map(str, value))  # targets: [xnli, tatoeba] as well as "xnli,tatoeba"
        if want is float and isinstance(value, str):  # PyYAML reads 1e-5 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not (isinstance(value, want) or (want is float and isinstance(value, int))):
            raise UserError(f"{source}: {key}={value!r} should be {want.__name__}.")
        out[key] = want(value)
    return Config(**out)


class UniqueKeys(yaml.SafeLoader):
    """safe_load that refuses a key given twice (`lr` twice: which one did the user mean?)."""


def unique_mapping(loader, node):
    seen = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` merges an anchor: not a key of its own
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.YAMLError(f"line {key_node.start_mark.line + 1}: a key must be a name, "
                                 f"not a {type(key).__name__}")
        if key in seen:
            raise yaml.YAMLError(f"the key {key!r} is given twice (again on line {key_node.start_mark.line + 1})")
        seen.add(key)
    loader.flatten_mapping(node)  # what SafeLoader's own mapping constructor does for `<<` first
    return loader.construct_mapping(node)


UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, unique_mapping)


def read_yaml(path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, UniqueKeys) or {}
    except UnicodeDecodeError:
        raise UserError(f"--config {path}: not UTF-8 text; save it as UTF-8.") from None
    except OSError:
        raise UserError(f"--config {path}: no such file.") from None
    except yaml.YAMLError as e:
        raise UserError(f"--config {path}: not valid YAML ({str(e).splitlines()[0]}).") from None
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: expected a mapping of config keys at the top level.")
    return data


def write_yaml(cfg: Config, path):
    """The resolved config into a run folder (rank 0 writes under torchrun)."""
    if util.main():
        util.write_text(path, yaml.safe_dump(asdict(cfg), sort_keys=False))


def resolve(task_name, *layers) -> Config:
    """A stage's config: the dataclass < the task file's HPARAMS < each (values, source) layer in turn."""
    from tasks import get_task
    cfg = merge(Config(), get_task(task_name).HPARAMS, f"tasks/{task_name}.py HPARAMS")
    for values, source in layers:
        cfg = merge(cfg, values, source)
    return cfg.check()
