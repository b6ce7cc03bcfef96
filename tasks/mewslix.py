"""Mewsli-X: entity linking as retrieval, an XTREME-R target; mAP@20 (= MRR@20: one gold entity; SPEC §3).

A WikiNews mention in one of 11 languages ranks the ~1M English-Wikidata candidate entities. Texts follow
XTREME-R's utils_mewslix.py (preprocess_mention, preprocess_entity_description), both at most 64 tokens:
  query      "{mention}: {left} { {mention} } {right}" over the one sentence that holds the mention (the first
             sentence span covering it whole), a "{...}" already in the sentence escaped to "(...)", newlines
             turned into spaces, each double space made single once, stripped;
  candidate  the entity description's sentences (its sentence_spans) joined by a space, normalised alike; no title.
Two routes (--retrieval-tune), the default following XTREME-R's train_mewslix.sh / run_retrieval_el.py:
  dual  a dual encoder (tasks/lib/heads.py Dual) fine-tuned on English Wikipedia mention-entity pairs
        (wikipedia_pairs-{train,dev}.jsonl): 2 epochs, 64 tokens, no warm-up, no decay, batch 64 per softmax
        × 4 accumulated (the public script's setting), lr 1e-5 (the public script has 2e-5 for mBERT, and 1e-4 for
        XLM-R large in a block its authors note scored near zero: --lr changes it); the final state; vectors:
        the normalised pooler output (evaluate_retrieval.py --pool_type cls on an xlmr-retrieval model).
  none  the encoder as given: mean of hidden_states[--layer] (or --pool cls), on the same texts.
Files (XTREME's preparation of google-research's mewsli-x release): <data-dir>/mewslix/
candidate_set_entities.jsonl, wikinews_mentions/{dev,test}-{lang}.jsonl, wikinews_labels/{dev,test}-{lang}.json
{example_id: [qid]} where the mentions carry no entity_id, and wikipedia_pairs-{train,dev}.jsonl for the dual
route. See python -m data_scripts.mewslix.
"""
import re

from tasks import lareqa, snli
from util import UserError
from tasks.lib import metrics, reading, retrieval

METRIC = "map@20"
RETRIEVAL = True
HEAD = "dual"
SUFFIX = "json"  # submission: {query id: [ids, best first]}; labels: {query id: [relevant ids]}
SELECT = "last"
LANGS = "ar de en es fa ja pl ro ta tr uk".split()
K, MAX_LEN = 20, 64
HPARAMS = dict(lr=1e-5, epochs=2.0, batch_size=256, micro_batch=64, warmup=0.0, weight_decay=0.0, max_len=MAX_LEN)
BRACES = re.compile(r"\{(.*?)\}")


def tidy(text):
    return " ".join(text.splitlines()).replace("  ", " ").strip()


def query(context, mention):
    """The reference query of one mention (mention_span {start, end, text}) in its context {text, sentence_spans}."""
    s, e = mention["start"], mention["end"]
    spans = [(x["start"], x["end"]) for x in context["sentence_spans"]]
    a, b = next((a, b) for a, b in spans if a <= s < b and a < e <= b)  # StopIteration: crosses a sentence break
    left, right = (BRACES.sub(r"(\1)", t) for t in (context["text"][a:s], context["text"][e:b]))
    return tidy(f"{mention['text']}: {left} {{ {mention['text']} }} {right}")


def candidate(entity):
    return tidy(" ".join(entity["description"][x["start"]:x["end"]] for x in entity["sentence_spans"]))


def load(data_dir, split, lang):
    """train / dev: Wikipedia pairs dict(q, c) (the dual route); test / wikinews-dev: one example with the
    language's WikiNews queries [(example_id, text)], gold {example_id: [qid]} and the entities [(qid, text)]."""
    if split in ("train", "dev"):
        path = reading.data_file(data_dir, "mewslix", f"wikipedia_pairs-{split}.jsonl")
        return snli.read_jsonl(path, lambda r: dict(q=query(r["contextual_mention"]["context"],
                                                            r["contextual_mention"]["mention"]["mention_span"]),
                                                    c=candidate(r["entity"])))
    if split not in ("wikinews-dev", "test") or lang not in LANGS:
        raise UserError(f"mewslix has splits test and wikinews-dev in {' '.join(LANGS)} (and train / dev: "
                               "the Wikipedia pairs).")
    split = split.replace("wikinews-", "")

    def mentions(row):
        return [(m["example_id"], query(row["context"], m["mention_span"]), m.get("entity_id") or "")
                for m in row["mentions"]]
    path = reading.data_file(data_dir, "mewslix", f"wikinews_mentions/{split}-{lang}.jsonl")
    rows, skipped = snli.read_jsonl(path, mentions)
    queries = [m for r in rows for m in r]
    if not queries:
        raise UserError(f"{path}: no usable mention ({len(skipped)} malformed rows); fetch the file again.")
    gold = {i: [qid] for i, _, qid in queries if qid}
    if len(gold) < len(queries):  # XTREME's test mentions hold no entity_id: its labels file does
        labels = reading.data_file(data_dir, "mewslix", f"wikinews_labels/{split}-{lang}.json")
        gold = reading.read_json(labels, '{example_id: [entity qid]}')
        lost = [i for i, _, _ in queries if not isinstance(gold.get(i), list)]
        if lost:
            raise UserError(f"{labels}: no gold entity list for {len(lost)} of {len(queries)} mentions, e.g. "
                                   f"{lost[0]}: {gold.get(lost[0])!r}.")
    entities, bad = snli.read_jsonl(reading.data_file(data_dir, "mewslix", "candidate_set_entities.jsonl"),
                                    lambda r: (r["entity_id"], candidate(r)))
    return [dict(queries=[(i, t) for i, t, _ in queries], gold=gold, entities=entities)], skipped + bad


def encode(examples, tok, max_len):
    """A (query, candidate) feature per Wikipedia pair, both ≤ max_len (64) tokens."""
    qs, cs = tok([e["q"] for e in examples], max_len=max_len), tok([e["c"] for e in examples], max_len=max_len)
    return [dict(ids=[q.ids, c.ids], label=0) for q, c in zip(qs, cs)]


def evaluate(model, tok, cfg, examples, device, head=None):
    """→ ({"map@20"}, {example_id: [entity ids, best first]}, {example_id: [gold entity id]})."""
    ex = examples[0]
    q = retrieval.embed(model, tok, [t for _, t in ex["queries"]], cfg.layer, cfg.pool, MAX_LEN, cfg.eval_batch_size,
                     cfg.dtype, head=head)
    c = lareqa.vectors(model, tok, cfg, [t for _, t in ex["entities"]], MAX_LEN, head)  # cached across languages
    _, idx = retrieval.topk(q, c, K, device)  # (mentions, K)
    pred = {i: [ex["entities"][j][0] for j in row] for (i, _), row in zip(ex["queries"], idx.tolist())}
    gold = {i: ex["gold"][i] for i, _ in ex["queries"]}
    return {METRIC: metrics.map_at_k(pred, gold, K)}, pred, gold
