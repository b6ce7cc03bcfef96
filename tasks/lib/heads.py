"""Task heads on top of the encoder, each with its loss and its prediction.

  Classify        sentence(-pair) classification on `<s>`, the shape of HF's XLMRobertaClassificationHead
                  (dropout → dense → tanh → dropout → out_proj)
  MultipleChoice  each (context, choice) pair encoded; one score per pair from `<s>`; softmax over choices
  Span            start/end logits per token; examples become doc-stride windows (`windows`) and the
                  n-best spans of all windows are decoded back to character spans (`decode`), with
                  SQuAD v2's no-answer option (the `<s>` position)
  Tag             a label per word, read off its first sub-token (-100 elsewhere: ignored by the loss)
  MLM             the checkpoint's own masked-LM head, scored only at the masked positions
Protocol constants (SPEC §5): doc stride 128, max query 64, n-best 20, max answer 30 tokens.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from model import UserError

DOC_STRIDE, MAX_QUERY, N_BEST, MAX_ANSWER = 128, 64, 20, 30
MAX_CONTEXT = 200_000  # characters of one QA context (~50k tokens); memory is bounded by it
IGNORE = -100


def _init(*linears):  # BERT-style init, as transformers does for fresh heads
    for lin in linears:
        nn.init.normal_(lin.weight, std=0.02)
        nn.init.zeros_(lin.bias)


class Classify(nn.Module):
    def __init__(self, hidden, n_labels, dropout=0.1):
        super().__init__()
        self.dense, self.out, self.drop = nn.Linear(hidden, hidden), nn.Linear(hidden, n_labels), nn.Dropout(dropout)
        _init(self.dense, self.out)

    def forward(self, h):  # h (B, T, H) → logits (B, C), fp32
        x = self.drop(h[:, 0])
        return self.out(self.drop(torch.tanh(self.dense(x)))).float()

    @staticmethod
    def loss(logits, labels):
        return F.cross_entropy(logits.float(), labels)

    @staticmethod
    def predict(logits, labels=None):
        return logits.argmax(-1)


class MultipleChoice(Classify):
    """The classification head with one output, scored per (context, choice) row."""

    def __init__(self, hidden, n_choices, dropout=0.1):
        super().__init__(hidden, 1, dropout)
        self.n_choices = n_choices

    def forward(self, h):  # h (B * C, T, H) → (B, C)
        return super().forward(h).view(-1, self.n_choices)


class Span(nn.Module):
    def __init__(self, hidden, dropout=0.1):
        super().__init__()
        self.out = nn.Linear(hidden, 2)
        _init(self.out)

    def forward(self, h):  # h (B, T, H) → (B, T, 2) start/end logits, fp32
        return self.out(h).float()

    @staticmethod
    def loss(logits, labels):  # labels (B, 2): start and end token; 0 (<s>) when the window has no answer
        return (F.cross_entropy(logits[..., 0], labels[:, 0]) + F.cross_entropy(logits[..., 1], labels[:, 1])) / 2

    @staticmethod
    def predict(logits, labels=None):
        return logits


class Tag(nn.Module):
    def __init__(self, hidden, n_labels, dropout=0.1):
        super().__init__()
        self.out, self.drop = nn.Linear(hidden, n_labels), nn.Dropout(dropout)
        _init(self.out)

    def forward(self, h):  # h (B, T, H) → (B, T, C)
        return self.out(self.drop(h)).float()

    @staticmethod
    def loss(logits, labels):  # labels (B, T), IGNORE on non-first sub-tokens and specials
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)

    @staticmethod
    def predict(logits, labels=None):
        return logits.argmax(-1)


class MLM(nn.Module):
    """No parameters of its own: the encoder's LM head (tied to the word embeddings) is trained with it."""

    def __init__(self, lm_logits):
        super().__init__()
        self.lm = lm_logits  # model.mlm_logits: a bound method, so its weights are not registered twice

    def forward(self, h):  # the vocabulary matmul runs only on masked rows, in loss / predict
        return h

    def loss(self, h, labels):  # labels (B, T): the original token at masked positions, IGNORE elsewhere
        sel = labels != IGNORE
        return F.cross_entropy(self.lm(h[sel]).float(), labels[sel])

    def predict(self, h, labels):
        out = torch.full(labels.shape, IGNORE, device=labels.device)
        sel = labels != IGNORE
        out[sel] = self.lm(h[sel]).argmax(-1)
        return out


def make_head(task, hidden, model=None):
    n = len(getattr(task, "LABELS", ()))
    heads = dict(classify=lambda: Classify(hidden, n), choice=lambda: MultipleChoice(hidden, task.CHOICES),
                 span=lambda: Span(hidden), tag=lambda: Tag(hidden, n), mlm=lambda: MLM(model.mlm_logits))
    if task.HEAD not in heads:
        raise ValueError(f"tasks/{task.__name__.split('.')[-1]}.py: unknown HEAD {task.HEAD!r}")
    return heads[task.HEAD]()


def windows(tok, question, context, answer=None, max_len=384, stride=DOC_STRIDE, max_query=MAX_QUERY):
    """One QA example → features `<s> question </s></s> context-window </s>`: windows start every `stride`
    context tokens (BERT's doc stride) and each holds as much context as fits. answer = (char_start, text)
    or None; label = (start, end) token of the answer when it lies wholly inside the window, else (0, 0)."""
    q = tok([question], max_len=max_query + 2)[0].ids[1:-1]  # at most max_query question tokens
    if len(context) > MAX_CONTEXT:  # every window is kept: memory grows with the context
        raise UserError(f"a QA context of {len(context):,} characters (over {MAX_CONTEXT:,}; SQuAD-family passages "
                        f"are a few thousand): {context[:60]!r}...; fix or drop that example.")
    c = tok([context], max_len=10 ** 7)[0]
    ids, offsets = c.ids[1:-1], c.offsets[1:-1]
    room = max_len - len(q) - 4  # <s> q </s></s> ... </s>
    head = [tok.cls_id, *q, tok.sep_id, tok.sep_id]
    if answer:
        a0, a1 = answer[0], answer[0] + len(answer[1])
        inside = [i for i, (s, e) in enumerate(offsets) if s < a1 and e > a0]  # tokens overlapping the answer
    features, start = [], 0
    while True:
        span = range(start, min(start + room, len(ids)))
        label = (0, 0)
        if answer and inside and inside[0] >= span.start and inside[-1] < span.stop:
            label = (len(head) + inside[0] - start, len(head) + inside[-1] - start)
        features.append(dict(ids=head + ids[span.start:span.stop] + [tok.sep_id], label=label, first=len(head),
                             offsets=offsets[span.start:span.stop]))
        if span.stop >= len(ids):
            return features
        start += min(stride, room)  # BERT's rule: never skip context when a window is shorter than the stride


def decode(context, features, logits, n_best=N_BEST, max_answer=MAX_ANSWER, v2=False):
    """n-best spans over all windows of one example → answer text ("" = no answer when v2 and the
    `<s>` score beats the best span; HF's rule: the minimum null score over windows)."""
    best, best_score, null = "", float("-inf"), float("inf")
    for f, lg in zip(features, logits):  # lg (T, 2)
        k, n = f["first"], len(f["offsets"])
        start, end = lg[k:k + n, 0], lg[k:k + n, 1]
        null = min(null, float(lg[0, 0] + lg[0, 1]))
        for s in torch.topk(start, min(n_best, n)).indices.tolist():
            for e in torch.topk(end, min(n_best, n)).indices.tolist():
                if s <= e < s + max_answer and float(start[s] + end[e]) > best_score:
                    best_score = float(start[s] + end[e])
                    best = context[f["offsets"][s][0]:f["offsets"][e][1]]
    return "" if v2 and null > best_score else best
