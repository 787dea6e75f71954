"""The table featurizer: numeric columns standardised with the training split's mean and standard
deviation, other columns one-hot encoded with the training split's categories.

Table splits hold a pandas DataFrame of the feature columns (see engine/data/base.py). Everything
learned is plain Python (column names, means, stds, category lists), so a checkpoint rebuilds
exactly the featurizer that training used.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from engine.features.base import Featurizer

if TYPE_CHECKING:  # imported where used: ~1 s of start-up that predicting a digit or a headline skips
    import pandas as pd


def _as_frame(raw) -> pd.DataFrame:
    import pandas as pd
    if isinstance(raw, pd.DataFrame):
        return raw
    if isinstance(raw, dict):
        return pd.DataFrame([raw])
    return pd.DataFrame(list(raw))  # a list of row dicts (prediction)


def is_numeric(series: pd.Series) -> bool:
    import pandas as pd
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


class TableFeatures(Featurizer):
    """(N rows) -> float32 (N, D): [standardised numerics | one-hot categoricals].

    A missing numeric value becomes the training mean (0 after standardising); a category unseen in
    training becomes all zeros in its one-hot block. A column constant in training keeps std 1."""

    kind = "table"

    def __init__(self, numeric=None, means=None, stds=None, categorical=None, categories=None,
                 standardize: bool = True):
        self.numeric: list[str] = list(numeric or [])
        self.means: list[float] = list(means or [])
        self.stds: list[float] = list(stds or [])
        self.categorical: list[str] = list(categorical or [])
        self.categories: list[list[str]] = [list(c) for c in categories or []]
        self.standardize = standardize

    def fit(self, dataset) -> None:
        frame = _as_frame(dataset.train.x)
        self.numeric = [c for c in frame.columns if is_numeric(frame[c])]
        self.categorical = [c for c in frame.columns if c not in self.numeric]
        self.means, self.stds = [], []
        for c in self.numeric:
            col = frame[c].astype(float)
            mean, std = float(col.mean()), float(col.std(ddof=0))
            self.means.append(0.0 if not math.isfinite(mean) else mean)
            self.stds.append(std if math.isfinite(std) and std > 1e-12 else 1.0)
        self.categories = [sorted(str(v) for v in frame[c].dropna().unique()) for c in self.categorical]

    @property
    def columns(self) -> list[str]:
        """The name of each output feature: numeric column names, then `column=category`."""
        return self.numeric + [f"{c}={v}" for c, cats in zip(self.categorical, self.categories, strict=True)
                               for v in cats]

    def transform(self, raw) -> torch.Tensor:
        import pandas as pd
        frame = _as_frame(raw)
        missing = [c for c in self.numeric + self.categorical if c not in frame.columns]
        if missing:
            raise ValueError(f"the table lacks column(s) {', '.join(map(repr, missing))} that the model was "
                             "trained on. Fix: give every training column")
        parts = []
        if self.numeric:
            try:
                num = frame[self.numeric].apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"a numeric column holds text ({exc}). Fix: give numbers in the numeric "
                                 "columns") from None
            means, stds = np.asarray(self.means), np.asarray(self.stds)
            num = np.where(np.isnan(num), means, num)
            parts.append((num - means) / stds if self.standardize else num)
        for c, cats in zip(self.categorical, self.categories, strict=True):
            index = {v: i for i, v in enumerate(cats)}
            block = np.zeros((len(frame), len(cats)))
            for row, value in enumerate(frame[c].tolist()):
                j = index.get(str(value)) if value is not None and value == value else None
                if j is not None:
                    block[row, j] = 1.0
            parts.append(block)
        out = np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0))
        return torch.from_numpy(out.astype(np.float32))

    def spec(self) -> dict:
        return {"input_dim": len(self.columns), "feature_names": self.columns}

    def state(self) -> dict:
        return {"kind": self.kind, "numeric": self.numeric, "means": self.means, "stds": self.stds,
                "categorical": self.categorical, "categories": self.categories, "standardize": self.standardize}

    @classmethod
    def from_state(cls, state: dict, home=None) -> TableFeatures:
        return cls(state["numeric"], state["means"], state["stds"], state["categorical"], state["categories"],
                   state.get("standardize", True))

