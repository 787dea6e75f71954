"""Recurrent classifier over word ids: embedding -> RNN/LSTM/GRU (layers, bidirectional) over
packed padded sequences -> the last layer's final hidden state(s) (or a max over time, max and mean, or an
attention-weighted mean: a learned score per time step, softmax over the words, Yang et al. 2016) -> linear.

By default it trains adversarially on the word vectors (engine/models/adversarial.py) and reads the words
without an id through their fixed GloVe vectors (engine/models/embedding.py); the exercise's preset has neither."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from engine.config.options import Option
from engine.models import embedding
from engine.models.adversarial import adversarial_loss
from engine.models.base import Model, ModelSpec
from engine.models.seq_mask import length_mask

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RNNClassifier(Model):
    def __init__(self, emb: nn.Embedding, num_outputs: int, cell: str = "gru", hidden: int = 128, layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, pool: str = "last", word_dropout: float = 0.0,
                 adversarial: float = 0.0, unknown: nn.Module | None = None, pack: bool = True):
        super().__init__()
        self.adversarial = float(adversarial)
        self.embedding, self.word_dropout, self.unknown = emb, word_dropout, unknown
        self.cell, self.layers, self.dirs, self.pool = cell, layers, 2 if bidirectional else 1, pool
        extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
        self.rnn = CELLS[cell](emb.embedding_dim, hidden, num_layers=layers, batch_first=True,
                               bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0, **extra)
        self.dropout = nn.Dropout(dropout)
        width = hidden * self.dirs
        self.fc = nn.Linear(width * (2 if pool == "maxmean" else 1), num_outputs)
        if pool == "attn":  # score_t = v . tanh(W out_t)
            self.attn = nn.Sequential(nn.Linear(width, width), nn.Tanh(), nn.Linear(width, 1, bias=False))
        self.pack = pack  # False: the recurrence reads each title's padding too, and its last state comes after it

    @property
    def length_buckets(self) -> bool:
        """Reading the padding (pack off): random batches, each as long as its longest title."""
        return self.pack

    def forward(self, x) -> torch.Tensor:  # x = (ids (B, L), lengths (B,)[, unknown rows (B, L)]) -> logits (B, C)
        return self.head(self.embed(x), x)

    def embed(self, x) -> torch.Tensor:
        """Word vectors (B, L, D) of x = (ids, lengths[, unknown rows]), word dropout included while training."""
        return embedding.embed_words(self, x)

    def head(self, e: torch.Tensor, x) -> torch.Tensor:
        """Word vectors -> logits (B, C): dropout, the recurrent layers, the pool, the output layer."""
        ids, lengths = x[0], x[1]
        e = self.dropout(e)
        if self.pack:
            seq = pack_padded_sequence(e, lengths.cpu(), batch_first=True, enforce_sorted=False)
        else:
            seq = e
        out, h = self.rnn(seq)
        if self.pool == "last":
            if self.cell == "lstm":
                h = h[0]
            last = h.view(self.layers, self.dirs, h.shape[1], h.shape[2])[-1]  # (dirs, B, H)
            return self.fc(self.dropout(torch.cat(list(last), dim=1)))
        if self.pack:
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return self.fc(self.dropout(self.pool_outputs(out, ids, lengths)))

    def pool_outputs(self, out: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """The title vector of the padded outputs (B, L, dirs*H) for the max, maxmean and attn pools."""
        mask = length_mask(lengths, ids.shape[1], ids.device).unsqueeze(-1)
        if self.pool == "attn":
            weights = self.attn(out).masked_fill(~mask, float("-inf")).softmax(dim=1)  # (B, L, 1)
            return (weights * out).sum(dim=1)
        feat = out.masked_fill(~mask, float("-inf")).max(dim=1).values
        if self.pool == "maxmean":
            mean = out.masked_fill(~mask, 0.0).sum(1) / mask.sum(1).clamp(min=1)
            feat = torch.cat([feat, mean], dim=1)
        return feat

    def training_loss(self, x, y: torch.Tensor, loss) -> tuple[torch.Tensor, torch.Tensor]:
        """The Trainer's loss for a training batch: (outputs, loss); adversarial when adversarial > 0."""
        if self.adversarial > 0:
            return adversarial_loss(self, x, y, loss, self.adversarial)
        return super().training_loss(x, y, loss)


OPTIONS = (
    Option("cell", "str", "gru", "recurrent cell", choices=tuple(CELLS)),
    Option("hidden", "int", 128, "hidden units per direction", min=1, max=4096),
    Option("layers", "int", 1, "stacked recurrent layers", min=1, max=8),
    Option("bidirectional", "bool", False, "read each title both ways"),
    Option("dropout", "float", 0.4, "dropout on embeddings, between layers and before the output",
           min=0.0, max=0.9),
    Option("pool", "str", "max", "title vector: last hidden state(s), max over time of the outputs, that max "
           "and the mean over time side by side (maxmean), or a learned attention-weighted mean of the outputs (attn)",
           choices=("last", "max", "maxmean", "attn")),
    Option("adversarial", "float", 2.0,
           "adversarial training on the word vectors (Miyato et al. 2017): each training batch also passes with its "
           "embedded titles moved this far (L2 norm per title) in the direction that raises the loss most, and the "
           "loss adds that pass's (0 = off; GloVe-50 words have norm ~5); each training step runs the batch twice",
           min=0.0, max=100.0),
    Option("pack", "bool", True, "skip the padding after each title (packed sequences); off: the recurrence also "
           "reads the padding up to the batch's longest title, as a plain padded batch does, and the last hidden "
           "state comes after it (batches are then random, not grouped by length)"),
    *embedding.options(unknown_vectors=True),
)


def build(args: dict, spec: dict) -> RNNClassifier:
    emb = embedding.make_embedding(args, spec)
    keep = {k: args[k] for k in ("cell", "hidden", "layers", "bidirectional", "dropout", "pool", "word_dropout",
                                 "adversarial", "pack")}
    return RNNClassifier(emb, spec["num_outputs"], **keep, unknown=embedding.make_unknown_vectors(args, spec))


SPEC = ModelSpec(
    "rnn", "RNN / LSTM / GRU over word ids", ("text",), "ids",
    build=build,
    options=OPTIONS,
    presets={
        "exercise: emb 300, hidden 50, plain RNN, SGD": {
            "model_args": {"cell": "rnn", "emb_size": 300, "hidden": 50, "layers": 1, "bidirectional": False,
                           "dropout": 0.0, "pool": "last", "init_vectors": "none", "freeze_embeddings": False,
                           "word_dropout": 0.0, "adversarial": 0.0,
                           "unknown_vectors": False, "pack": False},
            "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0, "batch_size": 32,
        },
    },
    # AdamW (decoupled weight decay) rather than Adam: ahead on valid accuracy and loss (bench/RESULTS.md)
    defaults={"optimizer": "adamw", "weight_decay": 0.01, "lr": 2e-3, "batch_size": 64, "epochs": 20},
    description="Word ids -> embedding (GloVe init) -> recurrent layers over packed sequences -> softmax.",
    retired=("rdrop",),
)
