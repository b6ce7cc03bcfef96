"""Weights in and out: a Hugging Face XLM-R checkpoint (local folder or hub id) ⇄ model.xlmr.XLMR.

  load_model("FacebookAI/xlm-roberta-large")    # hub id: fetched into huggingface_hub's cache (HF_HOME),
  load_model("runs/x/encoder")                  # or a folder with config.json + *.safetensors (sharded ok)
  save_model(model, "out/")                     # HF layout: XLMRobertaModel.from_pretrained("out/") loads it
The name map below is literal: every checkpoint key is used or listed in IGNORED, every model weight is
filled, and anything else stops the load with the key's name. HF_HUB_OFFLINE=1 reads only the cache.
"""
import json
import math
import shutil
from dataclasses import MISSING, fields
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from util import UserError, atomic_write
from model.xlmr import XLMR, XLMRConfig

PREFIX = "roberta."  # XLMRobertaForMaskedLM & co. nest the encoder; XLMRobertaModel does not
IGNORED = {  # in published checkpoints, not used by X-STILTs
    "pooler.dense.weight", "pooler.dense.bias",  # HF's tanh pooler: only the dual encoder head reads it (pooler_state)
    "embeddings.position_ids", "embeddings.token_type_ids",  # buffers some old checkpoints saved
    "lm_head.decoder.weight", "lm_head.decoder.bias",  # tied copies of word_embeddings and lm_head.bias
}
HUB_FILES = ["config.json", "*.safetensors", "*.safetensors.index.json", "tokenizer.json", "sentencepiece.bpe.model"]
HUB_SKIP = ["*/*"]  # top level only: a hub pattern's * also matches /, and repos keep other formats in subfolders
TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model")  # what save_model carries over (model/tokenizer.py)


def name_map(c: XLMRConfig, mlm_head: bool):
    """xstilts parameter name → HF checkpoint name (a tuple where load fuses several into one)."""
    m = {
        "wte.weight": "embeddings.word_embeddings.weight",
        "wpe.weight": "embeddings.position_embeddings.weight",
        "wtt.weight": "embeddings.token_type_embeddings.weight",
        "ln_emb.weight": "embeddings.LayerNorm.weight",
        "ln_emb.bias": "embeddings.LayerNorm.bias",
    }
    for i in range(c.num_hidden_layers):
        hf = f"encoder.layer.{i}."
        for p in ("weight", "bias"):
            m[f"blocks.{i}.qkv.{p}"] = tuple(f"{hf}attention.self.{n}.{p}" for n in ("query", "key", "value"))
            m[f"blocks.{i}.proj.{p}"] = f"{hf}attention.output.dense.{p}"
            m[f"blocks.{i}.ln1.{p}"] = f"{hf}attention.output.LayerNorm.{p}"
            m[f"blocks.{i}.up.{p}"] = f"{hf}intermediate.dense.{p}"
            m[f"blocks.{i}.down.{p}"] = f"{hf}output.dense.{p}"
            m[f"blocks.{i}.ln2.{p}"] = f"{hf}output.LayerNorm.{p}"
    if mlm_head:  # top level in HF, outside the "roberta." prefix
        m.update({"lm_head.dense.weight": "lm_head.dense.weight", "lm_head.dense.bias": "lm_head.dense.bias",
                  "lm_head.ln.weight": "lm_head.layer_norm.weight", "lm_head.ln.bias": "lm_head.layer_norm.bias",
                  "lm_head.bias": "lm_head.bias"})
    return m


def resolve(name_or_path) -> Path:
    """A local folder as it is, or a hub id downloaded (or, offline, found) in the huggingface_hub cache."""
    p = Path(name_or_path)
    if p.is_dir():
        return p
    if p.exists() or str(name_or_path).startswith((".", "/")) or str(name_or_path).count("/") > 1:
        raise UserError(f"--model {name_or_path}: not a folder; give a checkpoint folder or a hub id such as "
                        "FacebookAI/xlm-roberta-large.")
    from huggingface_hub import constants, snapshot_download
    try:
        return Path(snapshot_download(str(name_or_path), allow_patterns=HUB_FILES, ignore_patterns=HUB_SKIP,
                                      local_files_only=constants.HF_HUB_OFFLINE))
    except Exception as e:  # network, auth, missing repo, offline cache miss: all one message to the user
        raise UserError(f"--model {name_or_path}: no such local folder, and the hub download failed "
                        f"({type(e).__name__}); check the id, the network, or HF_HUB_OFFLINE/HF_HOME.") from None


def read_checkpoint(folder: Path, name=None):
    """{HF name (prefix stripped) → (file, stored name)} over one or several safetensors files.
    name: the hub id the folder was downloaded for (HUB_FILES fetches no pickled weights), for the message."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:  # only a pickle (pytorch_model.bin & co.): refused, never unpickled
        other = [f.name for f in folder.iterdir() if f.suffix in (".bin", ".pt", ".ckpt", ".pth")]
        src = f"hub repo {name} (files fetched: {folder})" if name else folder
        raise UserError(f"{src}: no *.safetensors weights{f' (only {other[0]})' if other else ''}, and xstilts never "
                        "unpickles (a .bin file is a pickle, which can run code when loaded); get safetensors with "
                        "transformers' AutoModel.from_pretrained(ID).save_pretrained(DIR, safe_serialization=True), "
                        "or the hub's safetensors conversion (`hf download ID --revision refs/pr/N --local-dir DIR`), "
                        "then pass --model DIR.")
    index = folder / "model.safetensors.index.json"
    if index.exists() and not (folder / "model.safetensors").exists():  # transformers' order of preference
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values())
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise UserError(f"{index}: not a shard index ({type(e).__name__}: {e}); re-download it.") from None
        if out := [s for s in shards if not isinstance(s, str) or Path(s).is_absolute() or ".." in Path(s).parts]:
            raise UserError(f"{index}: weight_map names {out[0]!r}; shards must be files inside {folder}.")
        files = sorted({folder / s for s in shards})  # checked by name, not resolved: hub shards link to blobs/
    where = {}
    for f in files:
        for k in open_safetensors(f).keys():
            name = k[len(PREFIX):] if k.startswith(PREFIX) else k
            if name in where:
                raise UserError(f"{folder}: weight {name!r} is stored twice ({where[name][1]} in "
                                f"{where[name][0].name}, {k} in {f.name}); keep one checkpoint per folder.")
            where[name] = (f, k)
    return where


def open_safetensors(f):
    try:
        return safe_open(f, "pt", device="cpu")
    except Exception as e:  # missing shard, truncated file, a git-lfs pointer left by a clone without LFS
        raise UserError(f"{f}: cannot be read as safetensors ({e}); re-download it (git lfs pull?).") from None


def config_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as e:
        raise UserError(f"{path}: not valid JSON ({e}); re-download or fix it.") from None


def read_config(path) -> XLMRConfig:
    """config.json, every value checked before anything is allocated, no weights read: what load_model and
    preflight use. The checks run in order: a rule may lean on keys checked before it."""
    d = config_json(path)
    if not isinstance(d, dict):
        raise UserError(f"{path}: holds a JSON {type(d).__name__}, not an object; is this an XLM-R config.json?")
    for key, want in (("hidden_act", "gelu"), ("position_embedding_type", "absolute")):
        if d.get(key, want) != want:
            raise UserError(f"{path}: {key}={d[key]!r} is not XLM-R's {want!r}; xstilts only runs XLM-R.")
    if missing := [f.name for f in fields(XLMRConfig) if f.name not in d and f.default is MISSING]:
        raise UserError(f"{path}: missing key(s) {', '.join(missing)}; is this an XLM-R config.json?")

    def bad(key, need):
        return UserError(f"{path}: {key}={d[key]!r}, but it must be {need}; fix config.json.")

    sizes = [f.name for f in fields(XLMRConfig)[:7]]
    for key in sizes:
        if type(d[key]) is not int or d[key] <= 0:
            raise bad(key, "a positive integer")
    if type(d["pad_token_id"]) is not int or not 0 <= d["pad_token_id"] < d["vocab_size"]:
        raise bad("pad_token_id", "a token id below vocab_size")
    if d["hidden_size"] % d["num_attention_heads"]:
        raise bad("num_attention_heads", f"a divisor of hidden_size={d['hidden_size']}")
    if d["max_position_embeddings"] <= d["pad_token_id"] + 1:
        raise bad("max_position_embeddings", "above pad_token_id + 1")
    if type(d["layer_norm_eps"]) not in (int, float) or not 0 < d["layer_norm_eps"] < math.inf:
        raise bad("layer_norm_eps", "a finite number > 0")
    for key in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
        if key in d and (type(d[key]) not in (int, float) or not 0 <= d[key] < 1):
            raise bad(key, "in [0, 1)")
    c = XLMRConfig.from_dict(d)
    n = c.hidden_size * (c.vocab_size + c.max_position_embeddings + c.type_vocab_size +
                         c.num_hidden_layers * (4 * c.hidden_size + 2 * c.intermediate_size))  # weights
    if n > 5e9:  # 20 GB in fp32, when XLM-R large has 0.56e9 weights: a config past it is a typo
        raise UserError(f"{path}: " + ", ".join(f"{key}={getattr(c, key)}" for key in sizes)
                        + f" make {n:.1e} weights ({4 * n / 1e9:,.0f} GB in fp32); fix config.json.")
    return c


def load_model(name_or_path, device="cpu") -> XLMR:
    folder = resolve(name_or_path)
    if not (folder / "config.json").exists():
        raise UserError(f"{folder}: no config.json; a checkpoint folder needs config.json and *.safetensors.")
    config = read_config(folder / "config.json")
    where = read_checkpoint(folder, None if Path(name_or_path).is_dir() else name_or_path)
    mlm_head = "lm_head.bias" in where
    names = {ours: (hf,) if isinstance(hf, str) else hf for ours, hf in name_map(config, mlm_head).items()}
    unknown = sorted(set(where) - {n for hf in names.values() for n in hf} - IGNORED)
    if unknown:
        raise UserError(f"{folder}: unknown checkpoint key {where[unknown[0]][1]!r}"
                        f"{f' (and {len(unknown) - 1} more)' if len(unknown) > 1 else ''}; not an XLM-R encoder.")
    prefix = PREFIX if any(stored.startswith(PREFIX) for _, stored in where.values()) else ""
    if absent := [n for hf in names.values() for n in hf if n not in where]:
        raise UserError(f"{folder}: checkpoint key {('' if absent[0][:7] == 'lm_head' else prefix) + absent[0]!r} "
                        "is missing; the checkpoint is incomplete or not XLM-R.")
    with torch.device("meta"):
        model = XLMR(config, mlm_head=mlm_head)
    params = dict(model.named_parameters())
    handles = {f: open_safetensors(f) for f in {f for f, _ in where.values()}}
    for ours, hf in names.items():  # shapes from the file headers: a config that disagrees allocates nothing
        want = [params[ours].shape[0] // len(hf), *params[ours].shape[1:]]  # q, k, v: a third of the rows each
        for f, stored in (where[n] for n in hf):
            if (got := handles[f].get_slice(stored).get_shape()) != want:
                raise UserError(f"{folder}: checkpoint key {stored!r} has shape {got}, but "
                                f"config.json implies {want}; config and weights disagree.")
    model = model.to_empty(device=device)
    params = dict(model.named_parameters())
    for ours, hf in names.items():
        parts = [handles[where[n][0]].get_tensor(where[n][1]) for n in hf]
        if bad := [where[n][1] for n, t in zip(hf, parts) if not t.isfinite().all()]:  # else NaN out, silently
            raise UserError(f"{folder}: tensor {bad[0]!r} holds NaN or inf values; the checkpoint is corrupt.")
        with torch.no_grad():
            params[ours].copy_(torch.cat(parts))  # also casts fp16/bf16 checkpoints to fp32 master weights
    # source: where the tokenizer lives, for Tokenizer(model.source); raw_config: every key, for save_model
    model.source, model.raw_config = folder, config_json(folder / "config.json")
    pool = [where.get(f"pooler.dense.{k}") for k in ("weight", "bias")]  # kept through save_model: the dual
    model.pooler_state = {k: handles[f].get_tensor(n).float() for k, (f, n) in zip(("weight", "bias"), pool)} \
        if all(pool) else None  # encoder's head starts from it
    return model


def save_model(model: XLMR, folder, tokenizer_file=None):
    """config.json + model.safetensors (+ the tokenizer file) in HF's XLMRobertaForMaskedLM layout, atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    params = dict(model.named_parameters())
    tensors = {}
    for ours, hf in name_map(model.config, model.lm_head is not None).items():
        hf = (hf,) if isinstance(hf, str) else hf
        for n, chunk in zip(hf, params[ours].detach().float().cpu().chunk(len(hf))):  # q, k, v: a third each
            tensors[n if n.startswith("lm_head") else PREFIX + n] = chunk.contiguous()
    for k, v in (getattr(model, "pooler_state", None) or {}).items():  # carried from the checkpoint, untrained
        tensors[f"{PREFIX}pooler.dense.{k}"] = v.contiguous()
    raw = dict(model.raw_config, model_type="xlm-roberta",
               architectures=["XLMRobertaForMaskedLM" if model.lm_head is not None else "XLMRobertaModel"])
    raw.update(vars(model.config))
    atomic_write(folder / "model.safetensors", lambda tmp: save_file(tensors, tmp, metadata={"format": "pt"}))
    (folder / "model.safetensors.index.json").unlink(missing_ok=True)  # a stale shard index must not win
    atomic_write(folder / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(raw, indent=2) + "\n"))
    sources = [tokenizer_file] if tokenizer_file else [model.source and Path(model.source) / f for f in TOKENIZER_FILES]
    for source in sources:  # the source's tokenizer file(s), as they are: later stages tokenize as this one did
        if source and Path(source).exists() and Path(source).resolve() != (folder / Path(source).name).resolve():
            atomic_write(folder / Path(source).name, lambda tmp: shutil.copyfile(source, tmp))
