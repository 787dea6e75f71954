"""The featurizer interface: a featurizer turns a split's raw inputs into tensors and has a plain-python
`state()` stored in checkpoints, so prediction rebuilds exactly the featurizer that training used.
Transformed splits are cached on disk (`featurize_splits`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from engine import atomic
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
