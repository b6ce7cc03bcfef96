"""xstilts — English intermediate-task training of XLM-R, then zero-shot cross-lingual transfer (X-STILTs).

  python xstilts.py embed --model FacebookAI/xlm-roberta-large --input sents.txt --layer 14 --out vecs.npy
Every subcommand has -h. Errors about the user's input print one line and exit with status 2.
"""
import argparse
import os
import sys
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


def cmd_embed(args):
    lines = read_lines(args.input)  # before the heavy imports: a wrong path answers at once
    import numpy as np
    import torch

    from model.load import atomic_write, load_model
    from model.tokenizer import Tokenizer
    from tasks.common import embed

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch sees no CUDA GPU; use --device cpu (or auto).")
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device.replace("auto", "cpu")
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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="xstilts.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
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
