"""Featurizers turn a split's raw inputs into tensors. Each has a plain-python `state()` stored in
checkpoints, so prediction rebuilds exactly the featurizer that training used.

A model declares the input it takes (`ModelSpec.input`); `make_featurizer` picks the featurizer
for (dataset kind, model input). New input kinds register in FEATURIZERS.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine import atomic, text
from engine.paths import cache_dir


@dataclass
class TokenView:
    """What the model saw of one text input: tokens and whether each was known."""
    tokens: list[tuple[str, bool]]

    @property
    def unknown(self) -> list[str]:
        return [t for t, known in self.tokens if not known]


class Featurizer:
    kind = "base"

    def fit(self, dataset) -> None:  # learn anything needed from the training split
        pass

    def transform(self, raw) -> torch.Tensor:
        raise NotImplementedError

    def state(self) -> dict:
        return {"kind": self.kind}

    def cache_key(self) -> str | None:
        """A key for on-disk caching of transformed splits, or None to skip caching."""
        return None

    def spec(self) -> dict:
        """What a model builder needs to know about the inputs (e.g. input_dim)."""
        return {}

    def explain(self, raw_item) -> TokenView | None:
        return None


class MeanVectors(Featurizer):
    """x_i = mean of emb(w) over the words of a title that the vectors know (zeros if none)."""

    kind = "mean_vectors"

    def __init__(self, source: str = "glove", seed: int = 1, home=None, words=None, matrix=None):
        self.source, self.seed, self.home = source, seed, home
        self._kv = None
        if words is not None:
            from engine.vectors import keyed_vectors_from

            self._kv = keyed_vectors_from(words, np.asarray(matrix))

    @property
    def kv(self):
        if self._kv is None:
            from engine import vectors

            if self.source == "glove":
                self._kv = vectors.load_glove(self.home)
            elif self.source.startswith("word2vec:"):
                self._kv = vectors.load_word2vec(self.source.split(":", 1)[1], self.home)
            else:
                raise RuntimeError("w2v vectors must be fit on a training split first")
        return self._kv

    def fit(self, dataset) -> None:
        if self.source == "w2v" and self._kv is None:
            from engine.vectors import train_word2vec

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


class FlatPixels(Featurizer):
    """Images (N, H, W) in [0, 1] -> (N, H*W)."""

    kind = "flat_pixels"

    def __init__(self, shape=(8, 8)):
        self.shape = tuple(shape)

    def fit(self, dataset) -> None:
        self.shape = tuple(dataset.train.x.shape[1:])

    def transform(self, raw) -> torch.Tensor:
        arr = np.asarray(raw, dtype=np.float32)
        return torch.from_numpy(arr.reshape(len(arr), -1).copy())

    def spec(self) -> dict:
        return {"input_dim": int(np.prod(self.shape)), "image_shape": self.shape}

    def state(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape)}

    @classmethod
    def from_state(cls, state: dict, home=None) -> FlatPixels:
        return cls(state["shape"])


class ImagePixels(Featurizer):
    """Images (N, H, W) in [0, 1] -> (N, 1, H, W) for convolutional models."""

    kind = "image_pixels"

    def __init__(self, shape=(8, 8)):
        self.shape = tuple(shape)

    def fit(self, dataset) -> None:
        self.shape = tuple(dataset.train.x.shape[1:])

    def transform(self, raw) -> torch.Tensor:
        arr = np.ascontiguousarray(raw, dtype=np.float32)
        return torch.from_numpy(arr.reshape(len(arr), 1, *self.shape))

    def spec(self) -> dict:
        return {"image_shape": self.shape, "in_channels": 1, "input_dim": int(np.prod(self.shape))}

    def state(self) -> dict:
        return {"kind": self.kind, "shape": list(self.shape)}

    @classmethod
    def from_state(cls, state: dict, home=None) -> ImagePixels:
        return cls(state["shape"])


# (dataset kind, model input) -> factory(config, home) ; state kind -> class
FEATURIZERS: dict[tuple[str, str], Callable] = {
    ("text", "vector"): lambda cfg, home: MeanVectors(cfg.features, cfg.seed, home),
    ("image", "vector"): lambda cfg, home: FlatPixels(),
    ("image", "image"): lambda cfg, home: ImagePixels(),
}
FEATURIZER_KINDS: dict[str, type] = {"mean_vectors": MeanVectors, "flat_pixels": FlatPixels,
                                   "image_pixels": ImagePixels}

def make_featurizer(config, dataset_kind: str, model_input: str, home=None) -> Featurizer:
    try:
        factory = FEATURIZERS[(dataset_kind, model_input)]
    except KeyError:
        raise ValueError(f"no featurizer turns {dataset_kind} data into {model_input} inputs") from None
    return factory(config, home)


def featurizer_from_state(state: dict, home=None) -> Featurizer:
    try:
        cls = FEATURIZER_KINDS[state["kind"]]
    except KeyError:
        raise ValueError(f"unknown featurizer {state.get('kind')!r} in checkpoint") from None
    return cls.from_state(state, home)


def _fingerprint(raw) -> str:
    digest = hashlib.sha1()
    if isinstance(raw, np.ndarray):
        digest.update(np.ascontiguousarray(raw).tobytes())
    else:
        for item in raw:
            digest.update(str(item).encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def featurize_splits(featurizer: Featurizer, dataset, home=None) -> dict[str, torch.Tensor]:
    """Transform train/valid/test, cached on disk keyed by (dataset, featurizer key, content)."""
    key = featurizer.cache_key()
    path = None
    if key:
        content = _fingerprint(dataset.train.x) + _fingerprint(dataset.valid.x) + _fingerprint(dataset.test.x)
        path = cache_dir(home) / "features" / f"{dataset.name}-{key}-{hashlib.sha1(content.encode()).hexdigest()[:12]}.pt"
        if path.exists():
            try:
                return torch.load(path, weights_only=True)
            except Exception:
                path.unlink(missing_ok=True)
    out = {name: featurizer.transform(getattr(dataset, name).x) for name in ("train", "valid", "test")}
    if path is not None:
        atomic.torch_save(out, path)
    return out


# last: these modules import this one, then register their featurizers in FEATURIZERS / FEATURIZER_KINDS
from engine import features_seq, tables  # noqa: E402, F401
