"""Mean word vectors: the exercise's x_i = mean of emb(w) over the words of a title."""

from __future__ import annotations

import numpy as np
import torch

from engine.features import text
from engine.features.base import Featurizer, TokenView


class MeanVectors(Featurizer):
    """x_i = mean of emb(w) over the words of a title that the vectors know (zeros if none)."""

    kind = "mean_vectors"

    def __init__(self, source: str = "glove", seed: int = 1, home=None, words=None, matrix=None):
        self.source, self.seed, self.home = source, seed, home
        self._kv = None
        if words is not None:
            from engine.features.vectors import keyed_vectors_from

            self._kv = keyed_vectors_from(words, np.asarray(matrix))

    @property
    def kv(self):
        if self._kv is None:
            from engine.features import vectors

            if self.source == "glove":
                self._kv = vectors.load_glove(self.home)
            elif self.source.startswith("word2vec:"):
                self._kv = vectors.load_word2vec(self.source.split(":", 1)[1], self.home)
            else:
                raise RuntimeError("w2v vectors must be fit on a training split first")
        return self._kv

    def fit(self, dataset) -> None:
        if self.source == "w2v" and self._kv is None:
            from engine.features.vectors import train_word2vec

            self._kv = train_word2vec([text.tokenize(t) for t in dataset.train.x], seed=self.seed)

    def _words(self, title: str) -> list[str]:
        known = self.kv.key_to_index
        out: list[str] = []
        for tok in text.tokenize(title):
            out.extend(text.expand_unknown(tok, known))
        return out

    def transform(self, raw) -> torch.Tensor:
        kv = self.kv
        index = kv.key_to_index
        out = np.zeros((len(raw), kv.vector_size), dtype=np.float32)
        for i, title in enumerate(raw):
            ids = [index[w] for w in self._words(title)]
            if ids:
                out[i] = kv.vectors[ids].mean(axis=0)
        return torch.from_numpy(out)

    def explain(self, raw_item) -> TokenView:
        known = self.kv.key_to_index
        return TokenView([(tok, bool(text.expand_unknown(tok, known))) for tok in text.tokenize(raw_item)])

    def spec(self) -> dict:
        return {"input_dim": int(self.kv.vector_size)}

    def cache_key(self) -> str:
        return f"mean-{self.source}-s{self.seed if self.source == 'w2v' else 0}-n{text.NORMALIZER_VERSION}"

    def state(self) -> dict:
        state = {"kind": self.kind, "source": self.source, "seed": self.seed,
                 "normalizer": text.NORMALIZER_VERSION}
        if self.source == "w2v":  # run-specific vectors travel inside the checkpoint
            state["words"] = list(self.kv.index_to_key)
            state["matrix"] = torch.from_numpy(np.array(self.kv.vectors))
        return state

    @classmethod
    def from_state(cls, state: dict, home=None) -> MeanVectors:
        if state.get("normalizer") != text.NORMALIZER_VERSION:
            raise ValueError("this checkpoint was made with another text normalizer version; retrain the run")
        matrix = state.get("matrix")
        return cls(state["source"], state.get("seed", 1), home, words=state.get("words"),
                   matrix=None if matrix is None else matrix.numpy())
