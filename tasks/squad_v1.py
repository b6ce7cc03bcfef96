"""SQuAD v1.1: English extractive QA, an intermediate task (and XQuAD/MLQA's English training data).

Files: <data-dir>/squad_v1/{train-v1.1.json, dev-v1.1.json} from rajpurkar's SQuAD-explorer (SPEC §2-3).
An example becomes one feature per doc-stride window (tasks/lib/qa.py: windows, decode). Metric: SQuAD
EM/F1 by the v1.1 script (tasks/lib/metrics.py); the selection metric is F1. Labels and answer text follow
HF's squad.py / squad_metrics.py as XTREME's run_squad and jiant run them (--qa-decode reference, the
default): a training answer moves to whole-word token boundaries, and one not found in the context's
whitespace words is dropped (`keep_found`); --qa-decode offsets keeps xstilts' earlier overlap labels.
`--task squad_v1@de`: XTREME's translate-train SQuAD, <data-dir>/squad_v1/translate-train/
squad.translate.train.en-de.json (selection stays English).
"""
from util import UserError
from tasks.lib import qa, reading

HEAD = "span"
METRIC = "f1"
LANGS = ["en"]
V2 = False
HPARAMS = dict(batch_size=16, epochs=2.0, max_len=384)  # SPEC §6 (XQuAD/MLQA/TyDiQA recipe)
TRAIN_SIZE = 87_599  # official training examples (SPEC §2-3; XTREME's Table 1): sweep --dry-run
TRAIN_TOKENS = 222.0  # real tokens per training example: python -m studies.tokens
FILES = {"train": "train-v1.1.json", "dev": "dev-v1.1.json"}
TRAIN_LANGS = "en ar de el es hi ru th tr vi zh".split()  # XTREME's translate-train SQuAD (SPEC §2)
LAYOUT = 'SQuAD JSON {"data": [{"paragraphs": [{"context": ..., "qas": [{"id", "question", "answers"}]}]}]}'


def read(path):
    """SQuAD JSON → examples dict(id, question, context, answers [(char_start, text)], impossible)."""
    data = reading.read_json(path, LAYOUT, "data")
    try:  # an article or paragraph of another shape: the file is not SQuAD's
        qas = [(para["context"], q) for article in data for para in article["paragraphs"] for q in para["qas"]]
    except (KeyError, TypeError) as e:
        raise UserError(f"{path}: not SQuAD's shape ({'no field ' * isinstance(e, KeyError)}{e}); "
                               f"expected {LAYOUT}.") from None
    examples, skipped = [], []
    for context, q in qas:
        try:
            answers = [(a["answer_start"], a["text"]) for a in q["answers"]]
            if any(context[s:s + len(t)] != t for s, t in answers):
                raise ValueError("answer_start does not point at the answer text")
            impossible = bool(q.get("is_impossible", False))
            if not answers and not impossible:
                raise ValueError("no answer and not marked is_impossible")
            examples.append(dict(id=q["id"], question=q["question"], context=context, answers=answers,
                                 impossible=impossible))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            skipped.append((f"{path}: question {q.get('id', '?') if isinstance(q, dict) else '?'}",
                            f"no field {e}"[:200] if isinstance(e, KeyError) else str(e)[:200]))
    return examples, skipped


def load(data_dir, split, lang="en", route="reference"):
    if split not in FILES:
        raise UserError(f"squad has no split {split!r}; it has {', '.join(FILES)}.")
    if split == "train" and lang != "en":  # XTREME's layout: translate-train/squad.translate.train.en-{lang}.json
        path = reading.data_file(data_dir, "squad_v1", f"translate-train/squad.translate.train.en-{lang}.json",
                                f" LANG={lang}")
    else:
        path = reading.data_file(data_dir, __name__.split(".")[-1], FILES[split])
    return keep_found(*read(path), path.name, route) if split == "train" else read(path)


def found(context, answer):
    """HF squad.py's test: the answer text, whitespace collapsed, is in the whitespace words that hold it."""
    ws, of = qa.words(context)
    first, last = of[answer[0]], of[min(answer[0] + len(answer[1]), len(of)) - 1]
    return " ".join(answer[1].split()) in " ".join(ws[first:last + 1])


def keep_found(examples, skipped, what, route):
    """Training examples whose first answer HF's squad.py can label (`found`); the others are dropped, as
    the reference does, and counted (route "offsets", --qa-decode offsets, keeps them all)."""
    if route == "offsets":
        return examples, skipped
    kept = [e for e in examples if e["impossible"] or not e["answers"] or found(e["context"], e["answers"][0])]
    if len(kept) < len(examples):
        print(f"note: {what}: dropped {len(examples) - len(kept)} of {len(examples)} examples whose answer is not "
              "found in the context's whitespace words (HF squad.py's rule)")
    return kept, skipped


def encode(examples, tok, max_len, route="reference"):
    """Every window of every example; training labels from the first gold answer, by the route's rule."""
    out = []
    for i, e in enumerate(examples):
        answer = None if e["impossible"] or not e["answers"] else e["answers"][0]
        for f in qa.windows(tok, e["question"], e["context"], answer, max_len, route):
            out.append(dict(f, example=i))
    return out
