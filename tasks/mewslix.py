"""Mewsli-X: entity linking as retrieval, an XTREME-R target; mAP@20 (= MRR@20: one gold entity; SPEC §3).

A WikiNews mention in one of 11 languages ranks the ~1M English-Wikidata candidate entities. Query: the
mention and its sentence, "{mention}: {sentence}"; candidate: "{title}: {description}"; both at most 64
tokens (XTREME-R's length), vectors as Tatoeba's (--layer, --pool). XTREME-R's baseline first trains a
dual encoder on English Wikipedia mention-entity pairs; here the encoder is evaluated as given.
Files (XTREME's preparation of google-research's mewsli-x release): <data-dir>/mewslix/
candidate_set_entities.jsonl, wikinews_mentions/{dev,test}-{lang}.jsonl and, where the mentions carry no
entity_id, wikinews_labels/{dev,test}-{lang}.json {example_id: [qid]}. See python -m data_scripts.mewslix.
"""
from tasks import lareqa, snli
from tasks.lib import common, metrics

METRIC = "map@20"
RETRIEVAL = True
LANGS = "ar de en es fa ja pl ro ta tr uk".split()
K, MAX_LEN = 20, 64


def load(data_dir, split, lang):
    """One example: the language's mentions [(example_id, query text)], gold {example_id: [qid]}, entities."""
    if split not in ("dev", "test") or lang not in LANGS:
        raise common.UserError(f"mewslix has splits dev and test, in {' '.join(LANGS)}.")

    def mentions(row):
        text, spans = row["context"]["text"], row["context"].get("sentence_spans") or []
        out = []
        for m in row["mentions"]:
            s, e = m["mention_span"]["start"], m["mention_span"]["end"]
            sent = next((text[x["start"]:x["end"]] for x in spans if x["start"] <= s < x["end"]), text[max(0, s - 200):e + 200])
            out.append((m["example_id"], f"{m['mention_span']['text']}: {sent}", m.get("entity_id") or ""))
        return out
    path = common.data_file(data_dir, "mewslix", f"wikinews_mentions/{split}-{lang}.jsonl")
    rows, skipped = snli.read_jsonl(path, mentions)
    queries = [m for r in rows for m in r]
    if not queries:
        raise common.UserError(f"{path}: no usable mention ({len(skipped)} malformed rows); fetch the file again.")
    gold = {i: [qid] for i, _, qid in queries if qid}
    if len(gold) < len(queries):  # XTREME's test mentions hold no entity_id: its labels file does
        labels = common.data_file(data_dir, "mewslix", f"wikinews_labels/{split}-{lang}.json")
        gold = common.read_json(labels, '{example_id: [entity qid]}')
        lost = [i for i, _, _ in queries if not isinstance(gold.get(i), list)]
        if lost:
            raise common.UserError(f"{labels}: no gold entity list for {len(lost)} of {len(queries)} mentions, e.g. "
                                   f"{lost[0]}: {gold.get(lost[0])!r}.")
    entities, bad = snli.read_jsonl(common.data_file(data_dir, "mewslix", "candidate_set_entities.jsonl"),
                                    lambda r: (r["entity_id"], f"{r['title']}: {r['description']}"))
    return [dict(queries=[(i, t) for i, t, _ in queries], gold=gold, entities=entities)], skipped + bad


def evaluate(model, tok, cfg, examples, device):
    """→ ({"map@20"}, {example_id: [entity ids, best first]}, {example_id: [gold entity id]})."""
    ex = examples[0]
    q = common.embed(model, tok, [t for _, t in ex["queries"]], cfg.layer, cfg.pool, MAX_LEN, cfg.eval_batch_size,
                     cfg.dtype)
    c = lareqa.vectors(model, tok, cfg, [t for _, t in ex["entities"]], MAX_LEN)  # cached across languages
    _, idx = common.topk(q, c, K, device)  # (mentions, K)
    pred = {i: [ex["entities"][j][0] for j in row] for (i, _), row in zip(ex["queries"], idx.tolist())}
    gold = {i: ex["gold"][i] for i, _ in ex["queries"]}
    return {METRIC: metrics.map_at_k(pred, gold, K)}, pred, gold
