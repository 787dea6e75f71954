"""Featurizers: raw split inputs -> tensors, one registry built here.

A model declares the input it takes (`ModelSpec.input`); `make_featurizer` picks the featurizer for
(dataset kind, model input). A new input kind adds its class to FEATURIZER_KINDS and a factory to
FEATURIZERS below.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.features.base import Featurizer, TokenView, featurize_splits
from engine.features.mean_vectors import MeanVectors
from engine.features.pixels import FlatPixels, ImagePixels
from engine.features.sequence import Subwords, TokenIds, unknown_vectors_source
from engine.features.table import TableFeatures

# (dataset kind, model input) -> factory(config, home)
FEATURIZERS: dict[tuple[str, str], Callable] = {
    ("text", "vector"): lambda cfg, home: MeanVectors(cfg.features, cfg.seed, home),
    ("text", "ids"): lambda cfg, home: TokenIds(vectors=unknown_vectors_source(cfg.model_args), home=home),
    ("text", "subword"): lambda cfg, home: Subwords(),
    ("image", "vector"): lambda cfg, home: FlatPixels(),
    ("image", "image"): lambda cfg, home: ImagePixels(),
    ("table", "vector"): lambda cfg, home: TableFeatures(),
}
# a checkpoint's featurizer state kind -> class
FEATURIZER_KINDS: dict[str, type[Featurizer]] = {
    cls.kind: cls for cls in (MeanVectors, FlatPixels, ImagePixels, TokenIds, Subwords, TableFeatures)}


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


__all__ = ["FEATURIZERS", "FEATURIZER_KINDS", "Featurizer", "TokenView", "featurize_splits", "featurizer_from_state",
           "make_featurizer"]
