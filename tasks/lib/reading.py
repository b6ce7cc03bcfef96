"""Reading a task's data files: the official file under <data-dir>/<task>/, UTF-8 line by line with per-line
accounting, and the rule for malformed rows (counted, named, and fatal above --max-bad-rows)."""
import json
from pathlib import Path

from util import UserError


def data_file(data_dir, task, name, extra=""):
    """<data-dir>/<task>/<official file name>, or a one-line error saying how to get it (extra: " LANG=hi")."""
    path = Path(data_dir) / task / name
    if not path.exists():
        flags = extra.replace(" LANG=", " --lang ")
        raise UserError(f"{path}: missing; run `make data TASK={task}{extra}` (or python -m data_scripts.{task}"
                        f"{flags}), or put the official file there by hand.")
    return path


def read_lines(path):
    """(line number, text) of each line: UTF-8, a leading BOM dropped, LF or CRLF cut. A bad byte is one line
    naming file:line; a file with no non-blank line is called empty."""
    empty = True
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}:{n}: not UTF-8 ({e.reason}); re-encode it as UTF-8 or fetch it "
                                "again.") from None
            empty = empty and not line.strip()
            yield n, line
    if empty:
        raise UserError(f"{path}: the file is empty; fetch or make it again (`xstilts.py tasks` names its script).")


def read_json(path, layout, key=None):
    """A whole JSON file → its object, or that object's `key` list; any other shape is one line naming `layout`."""
    text = "\n".join(line for _, line in read_lines(path))
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UserError(f"{path}: not JSON ({e}); expected {layout}.") from None
    got = data.get(key) if key and isinstance(data, dict) else data
    if not isinstance(got, list if key else dict):
        raise UserError(f"{path}: {repr(key) if key else 'the file'} holds a JSON {type(got).__name__}; "
                        f"expected {layout}.")
    return got


def read_tsv(path, parse, header=False):
    """Split each line on tabs (no quote processing: quotes are text) and call parse(cols) -> example, or None
    for a row of another selection (e.g. language); a bad row (another width than the header's, or parse's
    ValueError(reason)) is skipped. Returns (examples, skipped [(file:line, reason)])."""
    examples, skipped, n = [], [], 0
    lines = ((n, line.split("\t")) for n, line in read_lines(path) if line.strip())
    width = len(next(lines)[1]) if header else None
    for n, cols in lines:
        try:
            if header and len(cols) != width:
                raise ValueError(f"{len(cols)} columns, the header has {width}")
            example = parse(cols)
        except (ValueError, IndexError, KeyError) as e:
            skipped.append((f"{path}:{n}", str(e)[:200] or type(e).__name__))  # [:200]: a 5 MB label stays a line
            continue
        if example is not None:
            examples.append(example)
    if not n:
        raise UserError(f"{path}: only a header line, no rows; fetch or make the file again.")
    return examples, skipped


def check_skipped(examples, skipped, max_share, what, notes=None):
    """Malformed rows are reported (and recorded in `notes`, a list the caller keeps); more than max_share of
    them stops the run."""
    total = len(examples) + len(skipped)
    if skipped:
        note = dict(what=what, skipped=len(skipped), total=total, first=f"{skipped[0][0]} ({skipped[0][1]})")
        if notes is not None:
            notes.append(note)
        if len(skipped) > max_share * total:
            raise UserError(f"{what}: {len(skipped)} of {total} rows are malformed, first at {note['first']}; "
                            f"fix the file or raise max_bad_rows (now {max_share}).")
        print(f"note: {what}: skipped {len(skipped)} malformed of {total} rows, first at {note['first']}")
    if not examples:
        raise UserError(f"{what}: no usable rows.")
    return examples


def load_split(cfg, task, split, lang="en", notes=None):
    """A task's examples of one split and language (cfg: data_dir, max_bad_rows, qa_decode); malformed rows
    tolerated are appended to `notes`."""
    if task.HEAD == "span":  # --qa-decode: which training answers QA can label (tasks/squad_v1.py: keep_found)
        examples, skipped = task.load(cfg.data_dir, split, lang, route=cfg.qa_decode)
    else:
        examples, skipped = task.load(cfg.data_dir, split, lang)
    return check_skipped(examples, skipped, cfg.max_bad_rows, f"{task.NAME} {split} {lang}", notes)


def describe(task, data_dir, split, lang, model=None):
    """`xstilts.py stats`: a data file's examples, skipped rows, label counts and (with a tokenizer) token-length
    percentiles → (that dict, examples, skipped rows)."""
    examples, skipped = task.load(data_dir, split, lang)
    out = dict(task=task.NAME, split=split, lang=lang, examples=len(examples), skipped=len(skipped),
               skipped_rows=[f"{w}: {why}" for w, why in skipped[:20]])
    if examples and isinstance(examples[0].get("label"), int):
        names = task.LABELS or [f"choice {i}" for i in range(task.CHOICES)]
        out["labels"] = {names[i]: sum(e["label"] == i for e in examples) for i in range(len(names))}
    pool = task.RETRIEVAL and split == "test"  # one example: a whole retrieval pool
    if model and examples and task.encode and not pool:
        import numpy as np

        from model.load import resolve
        from model.tokenizer import Tokenizer
        from tasks.lib.batching import sequences  # multiple choice: one (context, choice) pair each, unpadded
        lens = [len(s) for f in task.encode(examples, Tokenizer(resolve(model)), 100_000) for s in sequences(f)]
        out["token_length_percentiles"] = {p: int(np.percentile(lens, p)) for p in (50, 90, 95, 99, 100)}
    return out, examples, skipped
