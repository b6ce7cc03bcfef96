"""Task heads on top of the encoder, each with its loss and its prediction.

  Classify        sentence(-pair) classification on `<s>`, the shape of HF's XLMRobertaClassificationHead
                  (dropout → dense → tanh → dropout → out_proj)
  MultipleChoice  each (context, choice) pair encoded; one score per pair from `<s>`; softmax over choices
  Span            start/end logits per token over QA's doc-stride windows (tasks/lib/qa.py: windows, decode)
  Tag             a label per word, read off its first sub-token (-100 elsewhere: ignored by the loss)
  MLM             the checkpoint's own masked-LM head, scored only at the masked positions
  Dual            a dual encoder (LAReQA, Mewsli-X; XTREME-R's BertForRetrieval): one encoder reads a question and
                  its candidate; vectors are the L2-normalised pooler output; in-batch softmax loss
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = -100  # a label position the loss skips: non-first sub-tokens, specials, unmasked tokens


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


class Dual(nn.Module):
    """XTREME-R's retrieval dual encoder (third_party/bert.py BertForRetrieval): a feature is (question, candidate),
    both read by the same encoder; a vector is normalize(tanh(W h<s> + b)), the pooler the checkpoint ships
    (random where it has none); the loss is cross-entropy of each question over the micro-batch's candidates,
    logits = cosine × a learned scale that starts at 100 (and is not decayed)."""

    def __init__(self, hidden, pooler=None):
        super().__init__()
        self.dense, self.scale = nn.Linear(hidden, hidden), nn.Parameter(torch.full((1,), 100.0))
        if pooler:
            self.dense.load_state_dict(pooler)
        else:
            _init(self.dense)

    def vectors(self, h):  # h (N, T, H) → (N, H) fp32 unit vectors
        return F.normalize(torch.tanh(self.dense(h[:, 0])).float(), dim=-1)

    def forward(self, h):  # h (B * 2, T, H), rows question, candidate, ... → (B, 2, H)
        return self.vectors(h).view(-1, 2, h.shape[-1])

    def loss(self, v, labels=None):
        logits = v[:, 0] @ v[:, 1].T * self.scale.float()  # (B, B): question i's candidate is column i
        return F.cross_entropy(logits, torch.arange(len(v), device=v.device))

    @staticmethod
    def predict(v, labels=None):
        return v


def make_head(task, hidden, model=None):
    n = len(task.LABELS)
    heads = dict(classify=lambda: Classify(hidden, n), choice=lambda: MultipleChoice(hidden, task.CHOICES),
                 span=lambda: Span(hidden), tag=lambda: Tag(hidden, n), mlm=lambda: MLM(model.mlm_logits),
                 dual=lambda: Dual(hidden, getattr(model, "pooler_state", None)))
    if task.HEAD not in heads:
        raise ValueError(f"tasks/{task.NAME}.py: unknown HEAD {task.HEAD!r}")
    return heads[task.HEAD]()
