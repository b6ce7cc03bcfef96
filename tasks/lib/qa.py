"""Extractive QA's two halves around the Span head (tasks/lib/heads.py): an example becomes doc-stride windows
(`windows`), and the n-best spans of all its windows are decoded back to answer text (`decode`), with SQuAD v2's
no-answer option (the `<s>` position).

The route (--qa-decode, passed in by the caller) picks the rule for labels and answer text. "reference" (the
default) follows HF squad.py / squad_metrics.py as XTREME's run_squad and jiant run them: labels on whole words
(_improve_answer_span), top-20 starts/ends over all positions, a start only in its max-context window, text by
get_final_text. "offsets": the tokens overlapping the answer, the text context[offsets].
Protocol constants (SPEC §5): doc stride 128, max query 64, n-best 20, max answer 30 tokens.
"""
import functools
import re
import unicodedata

import torch

from util import UserError

DOC_STRIDE, MAX_QUERY, N_BEST, MAX_ANSWER = 128, 64, 20, 30
MAX_CONTEXT = 200_000  # characters of one QA context (~50k tokens); memory is bounded by it
WS = " \t\r\n\u202f"  # what splits a context into words in HF's squad.py (SquadExample)
CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
       (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))  # BERT's BasicTokenizer splits these off


def words(text):
    """HF squad.py's words of a context (split on WS) and each character's word index (a gap: the word before)."""
    of, n, gap = [], -1, True
    for ch in text:
        n, gap = n + (gap and ch not in WS), ch in WS
        of.append(n)
    return re.findall(f"[^{WS}]+", text), of


def _answer_tokens(tok, context, answer, offsets, pieces, route):
    """(first, last) context token of the answer. reference: every token of the words holding it, then the
    narrowest sub-span whose pieces equal the answer's own (HF's _improve_answer_span); offsets: the tokens
    overlapping its characters."""
    a0, a1 = answer[0], answer[0] + len(answer[1])
    if route == "offsets":
        inside = [i for i, (s, e) in enumerate(offsets) if s < a1 and e > a0]
    else:
        of = words(context)[1]
        w0, w1 = of[a0], of[min(a1, len(of)) - 1]
        inside = [i for i, (s, _) in enumerate(offsets) if w0 <= of[s] <= w1]
        want = " ".join(tok([answer[1]], max_len=10 ** 7)[0].tokens[1:-1])
        for s in inside:
            for e in reversed(inside[inside.index(s):]):
                if " ".join(pieces[s:e + 1]) == want:
                    return s, e
    return (inside[0], inside[-1]) if inside else None


@functools.cache
def _vocab(tok):  # id → piece, shared by every feature (decode detokenizes as the reference does)
    return [tok.rust.id_to_token(i) for i in range(tok.rust.get_vocab_size())]


def windows(tok, question, context, answer=None, max_len=384, route="reference", stride=DOC_STRIDE,
            max_query=MAX_QUERY):
    """One QA example → features `<s> question </s></s> context-window </s>`: windows start every `stride`
    context tokens (BERT's doc stride) and each holds as much context as fits. answer = (char_start, text)
    or None; label = (start, end) token of the answer (the route's rule) when it lies wholly inside the window,
    else (0, 0)."""
    q = tok([question], max_len=max_query + 2)[0].ids[1:-1]  # at most max_query question tokens
    if len(context) > MAX_CONTEXT:  # every window is kept: memory grows with the context
        raise UserError(f"a QA context of {len(context):,} characters (over {MAX_CONTEXT:,}; SQuAD-family passages "
                        f"are a few thousand): {context[:60]!r}...; fix or drop that example.")
    c = tok([context], max_len=10 ** 7)[0]
    ids, offsets = c.ids[1:-1], c.offsets[1:-1]
    room = max_len - len(q) - 4  # <s> q </s></s> ... </s>
    head = [tok.cls_id, *q, tok.sep_id, tok.sep_id]
    gold = answer and _answer_tokens(tok, context, answer, offsets, c.tokens[1:-1], route)
    features, start = [], 0
    while True:
        span = range(start, min(start + room, len(ids)))
        label = (0, 0)
        if gold and gold[0] >= span.start and gold[1] < span.stop:
            label = (len(head) + gold[0] - start, len(head) + gold[1] - start)
        features.append(dict(ids=head + ids[span.start:span.stop] + [tok.sep_id], label=label, first=len(head),
                             offsets=offsets[span.start:span.stop], start=start, vocab=_vocab(tok)))
        if span.stop >= len(ids):
            return features
        start += min(stride, room)  # BERT's rule: never skip context when a window is shorter than the stride


def decode(context, features, logits, route="reference", v2=False, align=True, n_best=N_BEST, max_answer=MAX_ANSWER):
    """n-best spans over all windows of one example → answer text ("" = no answer when v2 and the `<s>`
    score, the minimum over windows, beats the best span's). Route "reference", HF's
    compute_predictions_logits: the top n_best starts and ends over all positions, kept when both lie in
    the context, start <= end < start + max_answer and the start's window is its max-context one; the
    text is get_final_text's (align=False: the detokenized pieces, jiant's rule for zh); "empty" when no
    span is valid. "offsets": the top n_best context tokens, the text context[offsets], "" when none."""
    ref, home, spans, null = route == "reference", {}, [], float("inf")
    for j, f in enumerate(features if ref else ()):  # BERT's _check_is_max_context: context token → window
        n = len(f["offsets"])
        for p in range(f["start"], f["start"] + n):  # the smaller side's context + 0.01 × length; first on ties
            home[p] = max(home.get(p, (-1, j)), (min(p - f["start"], f["start"] + n - 1 - p) + 0.01 * n, j),
                          key=lambda x: x[0])
    for j, (f, lg) in enumerate(zip(features, logits)):  # lg (T, 2)
        k, n = f["first"], len(f["offsets"])
        null = min(null, float(lg[0, 0]) + float(lg[0, 1]))
        lo, hi = (0, len(lg)) if ref else (k, k + n)
        top = [(lo + torch.sort(lg[lo:hi, c], descending=True, stable=True).indices[:n_best]).tolist() for c in (0, 1)]
        spans += [(float(lg[s, 0]) + float(lg[e, 1]), j, s, e) for s in top[0] for e in top[1]
                  if k <= s <= e < min(k + n, s + max_answer) and (not ref or home[f["start"] + s - k][1] == j)]
    for score, j, s, e in sorted(spans, key=lambda x: -x[0]):  # stable: HF's order on ties
        f, o = features[j], features[j]["offsets"]
        text = _span_text(context, f, s, e, align) if ref else context[o[s - f["first"]][0]:o[e - f["first"]][1]]
        if text or not v2:  # v1: the best span; v2: the best with text, against the null score
            return "" if v2 and null > score else text
    return "" if v2 and null > 0 or not ref else "empty"  # HF's nonce entry (score 0) when no span is valid


def _span_text(context, f, s, e, align):
    """HF's text of a token span: its pieces detokenized, projected onto the whitespace words that hold them."""
    pred = " ".join("".join(f["vocab"][i] for i in f["ids"][s:e + 1]).replace("\u2581", " ").split())
    if not align:
        return pred
    ws, of = words(context)
    k = f["first"]
    orig = " ".join(ws[of[f["offsets"][s - k][0]]:of[f["offsets"][e - k][0]] + 1])
    return final_text(pred, orig)


def final_text(pred, orig):
    """HF's get_final_text (cased): find `pred` in BERT's basic tokenization of `orig`; when the two agree
    character for character outside spaces, return orig's matching characters, else the whole of orig."""
    tok = " ".join("".join(f" {ch} " if _split_off(ch) else " " if ch in "\t\n\r " or unicodedata.category(ch) == "Zs"
                           else "" if ord(ch) in (0, 0xFFFD) or unicodedata.category(ch)[0] == "C" else ch
                           for ch in orig).split())
    at = tok.find(pred)
    keep = [i for i, ch in enumerate(orig) if ch != " "]
    to_ns = {i: n for n, i in enumerate(i for i, ch in enumerate(tok) if ch != " ")}
    if at < 0 or len(keep) != len(to_ns) or at + len(pred) - 1 not in to_ns:
        return orig
    return orig[keep[to_ns[at]]:keep[to_ns[at + len(pred) - 1]] + 1]


def _split_off(ch):  # BERT's BasicTokenizer: punctuation (ASCII symbols too) and CJK characters become tokens
    cp = ord(ch)
    return (33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
            or unicodedata.category(ch)[0] == "P" or any(a <= cp <= b for a, b in CJK))
