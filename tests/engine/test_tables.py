"""The table featurizer: train statistics, one-hot categories, plain-python state round-trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from engine.data.base import Dataset, Split
from engine.features import featurizer_from_state, make_featurizer
from engine.features.table import TableFeatures


def _dataset(train: pd.DataFrame, test: pd.DataFrame) -> Dataset:
    y = np.zeros(len(train), dtype=np.int64)
    return Dataset("t", "table", "classification", ["a"], Split(train, y), Split(train, y),
                   Split(test, np.zeros(len(test), dtype=np.int64)))


def test_standardises_with_train_statistics_and_one_hot_encodes():
    train = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": ["x", "y", "x", "z"], "k": [5, 5, 5, 5]})
    test = pd.DataFrame({"a": [2.5, np.nan], "c": ["y", "never-seen"], "k": [7, 5]})
    f = make_featurizer(None, "table", "vector")
    assert isinstance(f, TableFeatures)
    f.fit(_dataset(train, test))
    assert f.columns == ["a", "k", "c=x", "c=y", "c=z"]
    out = f.transform(train)
    assert out.dtype == torch.float32 and out.shape == (4, 5)
    np.testing.assert_allclose(out[:, 0].mean(), 0.0, atol=1e-6)
    np.testing.assert_allclose(out[:, 0].std(unbiased=False), 1.0, atol=1e-6)
    assert out[:, 1].tolist() == [0, 0, 0, 0]  # constant column: std kept at 1, not a division by zero
    assert out[:, 2:].tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]]
    t = f.transform(test)
    mean, std = 2.5, np.std([1, 2, 3, 4])
    assert t[0, 0].item() == pytest.approx((2.5 - mean) / std)
    assert t[1, 0].item() == 0.0  # missing -> the training mean
    assert t[0, 1].item() == pytest.approx(2.0)  # (7 - 5) / 1
    assert t[1, 2:].tolist() == [0, 0, 0]  # unseen category -> all zeros


def test_state_round_trip_is_plain_python_and_rebuilds_the_same_features():
    train = pd.DataFrame({"a": [1.0, 5.0, 9.0], "c": ["p", "q", "p"]})
    f = TableFeatures()
    f.fit(_dataset(train, train))
    state = f.state()
    assert all(isinstance(v, str | list | bool) for v in state.values())
    again = featurizer_from_state(state)
    rows = [{"a": 3.0, "c": "q"}, {"a": 9.0, "c": "p"}]
    assert torch.equal(again.transform(rows), f.transform(pd.DataFrame(rows)))


def test_missing_column_and_text_in_numeric_column_are_clear_errors():
    train = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    f = TableFeatures()
    f.fit(_dataset(train, train))
    with pytest.raises(ValueError, match="lacks column.*'b'"):
        f.transform(pd.DataFrame({"a": [1.0]}))
    with pytest.raises(ValueError, match="numeric column holds text"):
        f.transform(pd.DataFrame({"a": ["oops"], "b": [1.0]}))
