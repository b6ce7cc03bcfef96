"""Task heads on top of the encoder, each with its loss and its prediction.

classify: sentence(-pair) classification on `<s>`, the shape of HF's XLMRobertaClassificationHead
(dropout → dense → tanh → dropout → out_proj), freshly initialised for every task.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class Classify(nn.Module):
    def __init__(self, hidden, n_labels, dropout=0.1):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_labels)
        self.drop = nn.Dropout(dropout)
        for lin in (self.dense, self.out):  # BERT-style init, as transformers does for fresh heads
            nn.init.normal_(lin.weight, std=0.02)
            nn.init.zeros_(lin.bias)

    def forward(self, h):  # h (B, T, H) → logits (B, C), fp32
        x = self.drop(h[:, 0])
        return self.out(self.drop(torch.tanh(self.dense(x)))).float()

    @staticmethod
    def loss(logits, labels):
        return F.cross_entropy(logits.float(), labels)

    @staticmethod
    def predict(logits):
        return logits.argmax(-1)


def make_head(task, hidden):
    if task.HEAD == "classify":
        return Classify(hidden, len(task.LABELS))
    raise ValueError(f"tasks/{task.__name__.split('.')[-1]}.py: unknown HEAD {task.HEAD!r}")
