"""LAReQA (XQuAD-R): language-agnostic answer retrieval, an XTREME-R target; mAP@20 (SPEC §3).

A question in one of 11 languages ranks the pool of every sentence of every XQuAD-R paragraph in all 11
languages; relevant are the sentences holding its answer, in each language (XQuAD-R shares question ids
across languages). The answer sentence is the one whose [start, end) break holds answer_start (XTREME-R's
utils_lareqa.py; an inclusive end gave zh answers that start right after a break the previous sentence).
Two routes (--retrieval-tune), the default following XTREME-R's scripts (train_lareqa.sh, run_eval_lareqa.sh,
third_party/run_retrieval_qa.py, evaluate_retrieval.py):
  dual  a dual encoder (tasks/lib/heads.py Dual) fine-tuned on SQuAD v1.1 train pairs (question, the sentence
        holding the answer + its paragraph, concatenated without a separator as the reference does; sentences by
        `sentence_breaks` below, pairs whose answer is in no sentence or not in the whitespace words dropped):
        3 epochs, lr 2e-5, batch 4 per softmax × 4 accumulated, no warm-up, no decay, the final state. Vectors:
        the normalised pooler output; questions ≤ 96 tokens, candidates (sentence + paragraph) ≤ 256.
  none  the encoder as given: mean of hidden_states[--layer] (or --pool cls), a candidate is its sentence,
        512 tokens (`eval --all --suite xtreme-r` then gives it the SQuAD-tuned encoder of its xquad run).
Not followed: the reference's --do_lower_case for XLM-R, and its sentence breaker's SQuAD-specific special
cases (`sentence_breaks` keeps its main rule and title, month and initial joins; XQuAD-R's own breaks are used
at test time, so only which training sentence is positive can differ).
Files: <data-dir>/lareqa/xquad-r/{lang}.json (google-research-datasets/lareqa; python -m data_scripts.lareqa) and,
for training, <data-dir>/squad_v1/{train,dev}-v1.1.json (make data TASK=squad_v1).
"""
import re

from tasks import squad_v1
from util import UserError
from tasks.lib import metrics, reading, retrieval

METRIC = "map@20"
RETRIEVAL = True
HEAD = "dual"
SUFFIX = "json"  # submission: {query id: [ids, best first]}; labels: {query id: [relevant ids]}
SELECT = "last"  # the reference trains its epochs and keeps the final state
LANGS = "ar de el en es hi ru th tr vi zh".split()
K, MAX_LEN = 20, 512  # none route
MAX_QUESTION, MAX_CANDIDATE = 96, 256  # dual route
HPARAMS = dict(lr=2e-5, epochs=3.0, batch_size=16, micro_batch=4, warmup=0.0, weight_decay=0.0, max_len=MAX_CANDIDATE)
BREAK = re.compile(r"""[.?!][)'"\u201d]*\s+(?=[\['"(\u201c]?[A-Z0-9])""")
NO_BREAK = re.compile(r"\b(?:Mrs?|Ms|Dr|Prof|Rev|Sta?|Lt|Gen|Col|Maj|Capt|Sgt|Gov|Sen|Rep|Pres|Jan|Aug|Oct|Nov|Dec|Mt|"
                      r"Ft|No|Vol|ca|cf|vs?|e\.g|i\.e|[A-Z])\.$")
LAYOUT = 'XQuAD-R JSON {"data": [{"paragraphs": [{"sentences", "sentence_breaks", "qas"}]}]}'
_cache = {}  # the candidate pool's vectors, shared by the 11 question languages of one evaluation


def read(path, lang):
    """→ questions [(uid, id, text)], candidates [(uid, sentence, paragraph)], relevant {id: [candidate uids]}."""
    data = reading.read_json(path, LAYOUT, "data")
    questions, candidates, relevant, n = [], [], {}, 0
    try:
        for para in [p for article in data for p in article["paragraphs"]]:
            n += 1
            if not all(isinstance(t, str) for t in [*para["sentences"], *(qa["question"] for qa in para["qas"])]):
                raise TypeError("a sentence or question is not text")
            uids = [f"{lang}_{n}_{i}" for i in range(len(para["sentences"]))]
            context = para.get("context", "")
            if not isinstance(context, str):
                raise TypeError("the context is not text")
            candidates += ((u, sentence, context) for u, sentence in zip(uids, para["sentences"]))
            for qa in para["qas"]:
                start = qa["answers"][0]["answer_start"]
                hit = [u for u, (s, e) in zip(uids, para["sentence_breaks"]) if s <= start < e]  # end exclusive
                if hit:  # XTREME skips a question whose answer lies in no sentence
                    questions.append((f"{qa['id']}_{lang}", qa["id"], qa["question"]))
                    relevant.setdefault(qa["id"], []).append(hit[0])
    except (KeyError, TypeError, IndexError, ValueError) as e:  # one bad question would shift the shared pool: stop
        raise UserError(f"{path}: paragraph {n} is not XQuAD-R's shape ({'no field ' * isinstance(e, KeyError)}"
                               f"{e}); expected {LAYOUT}.") from None
    return questions, candidates, relevant


def sentence_breaks(text):
    """[(start, end)] of the sentences of an English paragraph: a break after . ? ! (and closing quotes or
    brackets) before whitespace and an optional opening quote + a capital or digit, but not after a title,
    a month, a common abbreviation or a single initial (XTREME's sb_sed.py: its main rule and those joins)."""
    out, start = [], len(text) - len(text.lstrip())
    for m in BREAK.finditer(text):
        end = m.start() + len(m.group().rstrip())
        if not NO_BREAK.search(text[start:m.start() + 1]) and end > start:
            out.append((start, end))
            start = m.end()
    return out + [(start, len(text.rstrip()))] if text[start:].strip() else out


def pairs(path):
    """SQuAD v1.1 → dual-encoder training pairs dict(q, c): the question, and the sentence holding the first
    answer followed by its paragraph (newlines dropped), as run_retrieval_qa.py builds them."""
    examples, skipped = squad_v1.read(path)
    out, lost, breaks = [], 0, {}
    for e in examples:
        if not e["answers"]:
            continue
        start = e["answers"][0][0]
        spans = breaks.setdefault(e["context"], sentence_breaks(e["context"]))
        sentence = next((e["context"][s:t] for s, t in spans if s <= start < t), None)
        if sentence is None or not squad_v1.found(e["context"], e["answers"][0]):
            lost += 1
            continue
        out.append(dict(q=e["question"], c=(sentence + e["context"]).replace("\n", "")))
    if lost:
        print(f"note: {path.name}: dropped {lost} of {len(examples)} questions whose answer lies in no sentence or "
              "not in the whitespace words (the reference's rule)")
    return out, skipped


def encode(examples, tok, max_len):
    """A (question, candidate) feature per pair; the question ≤ 96 tokens, the candidate ≤ max_len (256)."""
    qs, cs = tok([e["q"] for e in examples], max_len=MAX_QUESTION), tok([e["c"] for e in examples], max_len=max_len)
    return [dict(ids=[q.ids, c.ids], label=0) for q, c in zip(qs, cs)]


def load(data_dir, split, lang):
    """train / dev: SQuAD v1.1 pairs (the dual route's training); test: one example, this language's questions
    and the pool + relevance of all 11 languages."""
    if split in ("train", "dev"):
        return pairs(reading.data_file(data_dir, "squad_v1", squad_v1.FILES[split]))
    if split != "test" or lang not in LANGS:
        raise UserError(f"lareqa has a test split in {' '.join(LANGS)} (and SQuAD's train/dev pairs).")
    pool, relevant, questions = [], {}, None
    for other in LANGS:
        q, c, r = read(reading.data_file(data_dir, "lareqa", f"xquad-r/{other}.json"), other)
        pool += c
        for k, v in r.items():
            relevant.setdefault(k, []).extend(v)
        questions = q if other == lang else questions
    return [dict(questions=questions, candidates=pool, relevant=relevant)], []


def vectors(model, tok, cfg, texts, max_len, head=None):
    """Pooled vectors (none route) or the dual head's (dual route); the pool's are cached across languages."""
    key = (id(model), id(head), cfg.layer, cfg.pool, cfg.dtype, max_len, hash(tuple(texts)))
    if key not in _cache:
        _cache.clear()
        _cache[key] = retrieval.embed(model, tok, texts, cfg.layer, cfg.pool, max_len, cfg.eval_batch_size, cfg.dtype,
                                   head=head)
    return _cache[key]


def evaluate(model, tok, cfg, examples, device, head=None):
    """→ ({"map@20"}, {question uid: [candidate uids, best first]}, {question uid: [relevant uids]})."""
    ex = examples[0]
    q = retrieval.embed(model, tok, [t for _, _, t in ex["questions"]], cfg.layer, cfg.pool,
                     MAX_QUESTION if head else MAX_LEN, cfg.eval_batch_size, cfg.dtype, head=head)
    texts = [(s + p).replace("\n", "") if head else s for _, s, p in ex["candidates"]]  # dual: as in training
    c = vectors(model, tok, cfg, texts, MAX_CANDIDATE if head else MAX_LEN, head)
    _, idx = retrieval.topk(q, c, K, device)  # (questions, K)
    pred = {uid: [ex["candidates"][j][0] for j in row] for (uid, _, _), row in zip(ex["questions"], idx.tolist())}
    gold = {uid: ex["relevant"][xid] for uid, xid, _ in ex["questions"]}
    return {METRIC: metrics.map_at_k(pred, gold, K)}, pred, gold
