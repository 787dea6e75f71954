"""Word embeddings shared by the sequence models (rnn, textcnn): size, initialisation from word
vectors (GloVe-50 shipped offline, or a word2vec file) and freezing.

The vectors are read once, when a run first builds its model: the builder then records the
embedding size in the run's data spec (`spec["embedding_dim"]`), which is saved in checkpoints, so
rebuilding the model for prediction needs no vector file (the trained weights replace the init).

With `unknown_vectors`, a word without an id (seen fewer than 2 times in the training titles) that the
vectors know is read as its pretrained vector, kept fixed (UnknownVectors, added to the id-0 row, which
is zero). That table is the whole vector file (GloVe-50: 400k x 50), so checkpoints leave it out and
rebuilding such a model, for prediction too, reads the vectors again (GloVe: from its package). Without
pretrained vectors (init_vectors none) there is nothing to read, and the option does nothing.

The models share these options; `options(**defaults)` gives a model its own defaults (the rnn reads
unknown words through GloVe by default, the textcnn does not).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from engine.config.options import ConfigError, Option
from engine.features import text
from engine.features.sequence import unknown_vectors_source
from engine.features.vectors import load_vectors

DEFAULT_DIM = 300  # the exercise's embedding size, used without pretrained vectors

OPTIONS = (
    Option("init_vectors", "str", "glove",
           "embedding initialisation: glove (embedded GloVe-50), word2vec:PATH (a word2vec .bin/.txt file) "
           "or none (random)"),
    Option("freeze_embeddings", "bool", False, "keep the pretrained embeddings fixed (else fine-tune them)"),
    Option("word_dropout", "float", 0.4, "while training, replace each word by the unknown id with this "
           "probability (regularises: the model cannot lean on single words)", min=0.0, max=0.9),
    Option("unknown_vectors", "bool", False,
           "read a word without an id (seen fewer than 2 times in the training titles) that the pretrained vectors "
           "know as its pretrained vector, kept fixed; the vocabulary and its ids stay as they are (does nothing with "
           "init_vectors none)"),
    Option("emb_size", "int", 0, "embedding size; 0 = the vectors' size (GloVe: 50), or 300 without vectors; "
           "larger than the vectors: extra trainable dimensions start random",
           min=0, max=2048),
)


def options(**defaults) -> tuple[Option, ...]:
    """OPTIONS with some defaults replaced, for a model whose own defaults differ (e.g. unknown_vectors=True)."""
    if unknown := set(defaults) - {o.name for o in OPTIONS}:
        raise ValueError(f"no embedding option named {', '.join(sorted(unknown))}")
    return tuple(dataclasses.replace(o, default=defaults[o.name]) if o.name in defaults else o for o in OPTIONS)


def init_matrix(vocab: list[str], kv, seed: int = 0) -> tuple[torch.Tensor, int]:
    """(vocab_size + 1, dim) rows for id 0 (zeros), then each vocabulary word: its vector, or the mean
    of its known hyphen/apostrophe parts, or random with the vectors' scale. Also the number of
    words that got a pretrained vector."""
    rng = np.random.default_rng(seed)
    scale = float(np.asarray(kv.vectors[: min(len(kv.vectors), 50_000)]).std())
    out = rng.normal(0.0, scale, size=(len(vocab) + 1, kv.vector_size)).astype(np.float32)
    out[0] = 0.0
    found = 0
    index = kv.key_to_index
    for i, word in enumerate(vocab, 1):
        parts = text.expand_unknown(word, index)
        if parts:
            out[i] = np.mean([kv.vectors[index[p]] for p in parts], axis=0)
            found += 1
    return torch.from_numpy(out), found


def make_embedding(args: dict, spec: dict) -> nn.Embedding:
    source = args.get("init_vectors", "none")
    first_build = "embedding_dim" not in spec
    kv = None
    if first_build:
        if source != "none":
            kv = load_vectors(source)
            if args.get("emb_size") and args["emb_size"] < kv.vector_size:
                raise ConfigError(f"emb_size={args['emb_size']} is smaller than the {kv.vector_size}-d vectors of "
                                  f"{source}. Fix: emb_size 0 (the vectors' size), a larger size, or init_vectors none")
            spec["embedding_dim"] = int(max(kv.vector_size, args.get("emb_size") or 0))
        else:
            spec["embedding_dim"] = int(args.get("emb_size") or DEFAULT_DIM)
    emb = nn.Embedding(int(spec["vocab_size"]), int(spec["embedding_dim"]), padding_idx=0)
    if kv is not None:  # a larger size keeps the vectors in the first dimensions, the rest random
        matrix, found = init_matrix(spec.get("vocab", []), kv)
        with torch.no_grad():
            scale = float(matrix[1:].std()) if len(matrix) > 1 else 1.0
            emb.weight.normal_(0.0, scale)
            emb.weight[:, :matrix.shape[1]] = matrix
            emb.weight[0] = 0.0
        spec["vectors_found"] = found
    if args.get("freeze_embeddings"):
        emb.weight.requires_grad_(False)
    return emb


class UnknownVectors(nn.Module):
    """The fixed pretrained vectors of words without an id, looked up by their row in the vectors + 1
    (0: none, a zero vector). A buffer that checkpoints leave out: it is rebuilt from the vectors' source."""

    def __init__(self, vectors: np.ndarray, dim: int):
        super().__init__()
        table = torch.zeros(len(vectors) + 1, dim)
        table.numpy()[1:, :vectors.shape[1]] = vectors  # one copy, through a numpy view of the table
        self.register_buffer("table", table, persistent=False)

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(rows, self.table)


def make_unknown_vectors(args: dict, spec: dict) -> UnknownVectors | None:
    """The unknown words' vectors, or None (see unknown_vectors_source; after make_embedding: it needs the
    embedding size)."""
    source = unknown_vectors_source(args)
    return UnknownVectors(load_vectors(source).vectors, int(spec["embedding_dim"])) if source else None


def word_drop_mask(ids: torch.Tensor, p: float, training: bool) -> torch.Tensor | None:
    """Word dropout's mask: while training, each position is dropped with probability p (None: none dropped)."""
    if not training or p <= 0:
        return None
    return torch.rand(ids.shape, device=ids.device) < p


def embed_words(model: nn.Module, x) -> torch.Tensor:
    """Word vectors (B, L, D) of x = (ids, lengths) or (ids, lengths, unknown rows) for a model with `embedding`,
    `word_dropout` and `unknown` (UnknownVectors or None): each id's trained vector, plus, for a word without an
    id, its fixed pretrained vector. Word dropout (training) blanks a word both ways."""
    ids = x[0]
    mask = word_drop_mask(ids, model.word_dropout, model.training)
    e = model.embedding(ids if mask is None else ids.masked_fill(mask, 0))
    if model.unknown is None:
        return e
    if len(x) < 3:
        raise ValueError("this model reads words without an id by their pretrained vectors: its input needs their "
                         "rows, (ids, lengths, rows), as TokenIds(vectors=...) makes them")
    rows = x[2] if mask is None else x[2].masked_fill(mask, 0)
    return e + model.unknown(rows)
