"""Mean real tokens per training example of each task, measured on the real slices in ../shared/data with
the real XLM-R tokenizer, through each task's own encode (QA: every doc-stride window; multiple choice: every
choice) at its HPARAMS max_len. `sweep --dry-run` uses these numbers (each task file's TRAIN_TOKENS) to estimate
GPU-hours when the training data is not on the machine; re-measure with

    python -m studies.tokens            # prints the table and each task's TRAIN_TOKENS

English slices where there are some; German ones stand in for MNLI (XNLI-de pairs) and PAWS-X (PAWS-X-de).
"""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SOURCES = {  # task → (the file in ../shared/data, where the task's loader expects it, split, language)
    "squad_v1": ("xquad/xquad.en.json", "squad_v1/dev-v1.1.json", "dev", "en"),  # SQuAD v1.1 paragraphs
    "squad_v2": ("squad_v2/dev-v2.0.head-Normans.json", "squad_v2/dev-v2.0.json", "dev", "en"),
    "commonsenseqa": ("commonsenseqa/dev_rand_split.jsonl", "commonsenseqa/dev_rand_split.jsonl", "dev", "en"),
    "cosmosqa": ("cosmosqa/valid.csv", "cosmosqa/valid.csv", "dev", "en"),
    "panx": ("xtreme_panx/dev-en.tsv", "panx/dev-en.tsv", "dev", "en"),
    "udpos": ("xtreme_udpos/dev-en.tsv", "udpos/dev-en.tsv", "dev", "en"),
}
PAIRS = {"mnli": ("xnli_de/test.tsv", 0), "pawsx": ("pawsx_de/test_2k.tsv", 1)}  # file, column of sentence1


def real_tokens(feature):
    ids = feature["ids"]
    return sum(map(len, ids)) if isinstance(ids[0], list) else len(ids)


def measure():
    sys.path.insert(0, str(ROOT))
    from model.tokenizer import Tokenizer
    from tasks import get_task
    tok = Tokenizer(SHARED / "tokenizer" / "xlm-roberta")
    out = {}
    with tempfile.TemporaryDirectory() as data:
        for task, (src, rel, split, lang) in SOURCES.items():
            (Path(data) / rel).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(SHARED / src, Path(data) / rel)
            t = get_task(task)
            examples, _ = t.load(data, split, lang)
            feats = t.encode(examples, tok, t.HPARAMS["max_len"])
            out[task] = (src, len(examples), sum(map(real_tokens, feats)) / len(examples))
    for task, (src, col) in PAIRS.items():  # a header row names its columns (PAWS-X); XTREME's XNLI has none
        rows = [line.split("\t")[col:col + 2] for line in (SHARED / src).read_text(encoding="utf-8").splitlines()]
        rows = [r for r in rows if len(r) == 2 and r != ["sentence1", "sentence2"]]
        encs = tok([r[0] for r in rows], [r[1] for r in rows], max_len=get_task(task).HPARAMS["max_len"])
        out[task] = (src, len(rows), sum(len(e.ids) for e in encs) / len(rows))
    return out


if __name__ == "__main__":
    result = measure()
    print("| task | measured on (../shared/data) | examples | real tokens per training example |\n|---|---|---|---|")
    for task, (src, n, mean) in result.items():
        print(f"| {task} | {src} | {n:,} | {mean:.1f} |")
    for task, (_, _, mean) in result.items():
        print(f"tasks/{task}.py: TRAIN_TOKENS = {mean:.1f}")
