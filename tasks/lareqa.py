"""LAReQA (XQuAD-R): language-agnostic answer retrieval, an XTREME-R target; mAP@20 (SPEC §3).

A question in one of 11 languages ranks the pool of every sentence of every XQuAD-R paragraph in all 11
languages; relevant are the sentences holding its answer, in each language (XQuAD-R shares question ids
across languages). Vectors as Tatoeba's (--layer, --pool; max length 512); a candidate is its sentence.
XTREME-R's baseline trains a dual encoder on SQuAD v1.1; here the encoder is evaluated as given (`eval
--all --suite xtreme-r` gives it the SQuAD-tuned one of its xquad run).
The answer sentence is the one whose [start, end) break holds answer_start (XTREME-R's utils_lareqa.py; an
inclusive end gave zh answers that start right after a break without a space to the previous sentence).
Files: <data-dir>/lareqa/xquad-r/{lang}.json (google-research-datasets/lareqa). python -m data_scripts.lareqa
"""
from tasks.lib import common, metrics

METRIC = "map@20"
RETRIEVAL = True
LANGS = "ar de el en es hi ru th tr vi zh".split()
K, MAX_LEN = 20, 512
LAYOUT = 'XQuAD-R JSON {"data": [{"paragraphs": [{"sentences", "sentence_breaks", "qas"}]}]}'
_cache = {}  # the candidate pool's vectors, shared by the 11 question languages of one evaluation


def read(path, lang):
    """→ questions [(uid, id, text)], candidates [(uid, text)], relevant {id: [candidate uids]}."""
    data = common.read_json(path, LAYOUT, "data")
    questions, candidates, relevant, n = [], [], {}, 0
    try:
        for para in [p for article in data for p in article["paragraphs"]]:
            n += 1
            if not all(isinstance(t, str) for t in [*para["sentences"], *(qa["question"] for qa in para["qas"])]):
                raise TypeError("a sentence or question is not text")
            uids = [f"{lang}_{n}_{i}" for i in range(len(para["sentences"]))]
            candidates += zip(uids, para["sentences"])
            for qa in para["qas"]:
                start = qa["answers"][0]["answer_start"]
                hit = [u for u, (s, e) in zip(uids, para["sentence_breaks"]) if s <= start < e]  # end exclusive
                if hit:  # XTREME skips a question whose answer lies in no sentence
                    questions.append((f"{qa['id']}_{lang}", qa["id"], qa["question"]))
                    relevant.setdefault(qa["id"], []).append(hit[0])
    except (KeyError, TypeError, IndexError, ValueError) as e:  # one bad question would shift the shared pool: stop
        raise common.UserError(f"{path}: paragraph {n} is not XQuAD-R's shape ({'no field ' * isinstance(e, KeyError)}"
                               f"{e}); expected {LAYOUT}.") from None
    return questions, candidates, relevant


def load(data_dir, split, lang):
    """One example: this language's questions, and the pool + relevance of all 11 languages."""
    if split != "test" or lang not in LANGS:
        raise common.UserError(f"lareqa has only a test split, in {' '.join(LANGS)}.")
    pool, relevant, questions = [], {}, None
    for other in LANGS:
        q, c, r = read(common.data_file(data_dir, "lareqa", f"xquad-r/{other}.json"), other)
        pool += c
        for k, v in r.items():
            relevant.setdefault(k, []).extend(v)
        questions = q if other == lang else questions
    return [dict(questions=questions, candidates=pool, relevant=relevant)], []


def vectors(model, tok, cfg, texts, max_len):
    key = (id(model), cfg.layer, cfg.pool, cfg.dtype, max_len, hash(tuple(texts)))
    if key not in _cache:
        _cache.clear()
        _cache[key] = common.embed(model, tok, texts, cfg.layer, cfg.pool, max_len, cfg.eval_batch_size, cfg.dtype)
    return _cache[key]


def evaluate(model, tok, cfg, examples, device):
    """→ ({"map@20"}, {question uid: [candidate uids, best first]}, {question uid: [relevant uids]})."""
    ex = examples[0]
    q = common.embed(model, tok, [t for _, _, t in ex["questions"]], cfg.layer, cfg.pool, MAX_LEN,
                     cfg.eval_batch_size, cfg.dtype)
    c = vectors(model, tok, cfg, [t for _, t in ex["candidates"]], MAX_LEN)
    _, idx = common.topk(q, c, K, device)  # (questions, K)
    pred = {uid: [ex["candidates"][j][0] for j in row] for (uid, _, _), row in zip(ex["questions"], idx.tolist())}
    gold = {uid: ex["relevant"][xid] for uid, xid, _ in ex["questions"]}
    return {METRIC: metrics.map_at_k(pred, gold, K)}, pred, gold
