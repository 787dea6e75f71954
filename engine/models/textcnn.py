"""Convolutional classifier over word ids (Kim, 2014): embedding -> 1-D convolutions of the given
widths -> ReLU -> max-pool over time (padding masked out) -> dropout -> linear."""

from __future__ import annotations

import torch
from torch import nn

from engine.config.options import Option
from engine.models import embedding
from engine.models.base import Model, ModelSpec
from engine.models.seq_mask import length_mask


class TextCNN(Model):
    def __init__(self, emb: nn.Embedding, num_outputs: int, widths=(3,), channels: int = 256, dropout: float = 0.5,
                 word_dropout: float = 0.0, unknown: nn.Module | None = None):
        super().__init__()
        self.embedding, self.word_dropout, self.unknown = emb, word_dropout, unknown
        self.widths = tuple(int(w) for w in widths)
        # padding w-1 on both sides: every window that touches a word counts, even for one-word titles
        self.convs = nn.ModuleList(nn.Conv1d(emb.embedding_dim, channels, w, padding=w - 1) for w in self.widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels * len(self.widths), num_outputs)

    def forward(self, x) -> torch.Tensor:  # x = (ids (B, L), lengths (B,)[, unknown rows (B, L)]) -> logits (B, C)
        lengths = x[1]
        e = self.dropout(embedding.embed_words(self, x)).transpose(1, 2)  # (B, D, L)
        pooled = []
        for w, conv in zip(self.widths, self.convs, strict=True):
            c = torch.relu(conv(e))  # (B, C, L + w - 1); window t covers words t-w+1 .. t
            valid = length_mask(lengths + w - 1, c.shape[2], c.device)
            pooled.append(c.masked_fill(~valid[:, None, :], float("-inf")).max(dim=2).values)
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


OPTIONS = (
    Option("widths", "ints", (3,), "filter widths in words (several allowed: 2,3,4)", min=1, max=10),
    Option("channels", "int", 256, "filters per width", min=1, max=4096),
    Option("dropout", "float", 0.5, "dropout on embeddings and before the output", min=0.0, max=0.9),
    *embedding.OPTIONS,
)


def build(args: dict, spec: dict) -> TextCNN:
    emb = embedding.make_embedding(args, spec)
    return TextCNN(emb, spec["num_outputs"], args["widths"], args["channels"], args["dropout"],
                   args["word_dropout"], embedding.make_unknown_vectors(args, spec))


SPEC = ModelSpec(
    "textcnn", "CNN over word ids (TextCNN)", ("text",), "ids",
    build=build,
    options=OPTIONS,
    presets={
        "exercise: width 3, max-pool, SGD": {
            "model_args": {"widths": [3], "channels": 50, "dropout": 0.0, "emb_size": 300, "init_vectors": "none",
                           "freeze_embeddings": False, "word_dropout": 0.0, "unknown_vectors": False},
            "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 32,
        },
    },
    # 40 epochs, ended by early stopping: a cap of 20 cut off runs whose valid loss was still falling
    defaults={"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 40},
    description="Word ids -> embedding (GloVe init) -> convolutions of several widths -> max over time -> softmax.",
)
