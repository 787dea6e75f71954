"""One tokenizer for training and prediction; mean word vectors; the on-disk feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.data import Dataset, Split
from engine.features import MeanVectors, featurize_splits, featurizer_from_state, text


def test_tokenize_lowercases_drops_punctuation_keeps_inner_apostrophes_and_hyphens():
    assert text.tokenize("Fed's Yellen: U.S. rates to stay LOW — for now!") == [
        "fed's", "yellen", "u", "s", "rates", "to", "stay", "low", "for", "now"]
    assert text.tokenize("COVID-19 vaccine “works”, don’t worry") == ["covid-19", "vaccine", "works", "don't", "worry"]
    assert text.tokenize("   ") == [] and text.tokenize("!!! ???") == []


def test_normalize_is_unicode_aware_and_collapses_space():
    assert text.normalize("ﬁnal\u00a0\u00a0CALL\n") == "final call"


def test_expand_unknown_falls_back_to_known_parts():
    known = {"obama", "'s", "well", "known"}
    assert text.expand_unknown("obama's", known) == ["obama", "'s"]
    assert text.expand_unknown("well-known", known) == ["well", "known"]
    assert text.expand_unknown("zzz-qqq", known) == []


@pytest.fixture(scope="module")
def glove():
    return MeanVectors("glove")


def test_mean_vectors_are_the_mean_of_known_word_vectors(glove, tmp_path):
    x = glove.transform(["The stock market", "zxqvw blorpt"])
    assert x.shape == (2, 50) and x.dtype == torch.float32
    kv = glove.kv
    expected = np.mean([kv["the"], kv["stock"], kv["market"]], axis=0)
    assert np.allclose(x[0].numpy(), expected, atol=1e-6)
    assert torch.count_nonzero(x[1]) == 0  # no known word: zeros


def test_explain_marks_known_and_unknown_tokens(glove):
    view = glove.explain("Apple unveils blorptastic iPhone")
    assert [t for t, _ in view.tokens] == ["apple", "unveils", "blorptastic", "iphone"]
    assert view.unknown == ["blorptastic"]


def tiny_text_dataset(extra: str = "") -> Dataset:
    titles = ["stocks fall on rate fears", "new iphone unveiled", "actress wins award", "flu vaccine works" + extra]
    y = np.array([0, 1, 2, 3])
    return Dataset("tiny", "text", "classification", ["b", "t", "e", "m"], Split(titles, y), Split(titles[:2], y[:2]),
                   Split(titles[2:], y[2:]))


def test_word2vec_features_are_reproducible_and_travel_in_the_state():
    data = tiny_text_dataset()
    a, b = MeanVectors("w2v", seed=3), MeanVectors("w2v", seed=3)
    a.fit(data)
    b.fit(data)
    assert torch.equal(a.transform(data.train.x), b.transform(data.train.x))
    rebuilt = featurizer_from_state(a.state())
    assert torch.equal(rebuilt.transform(["stocks unveiled"]), a.transform(["stocks unveiled"]))


def test_feature_cache_is_hit_then_invalidated_by_new_data(home, glove, monkeypatch):
    data = tiny_text_dataset()
    first = featurize_splits(glove, data, home)
    files = list((home / "cache" / "features").glob("*.pt"))
    assert len(files) == 1
    calls = []
    monkeypatch.setattr(MeanVectors, "transform", lambda self, raw: calls.append(raw) or torch.zeros(len(raw), 50))
    again = featurize_splits(glove, data, home)  # from the cache: transform is not called
    assert calls == [] and all(torch.equal(first[k], again[k]) for k in first)
    featurize_splits(glove, tiny_text_dataset(" again"), home)  # changed content: recomputed, new file
    assert len(calls) == 3 and len(list((home / "cache" / "features").glob("*.pt"))) == 2


def test_prediction_rebuilds_the_featurizer_that_training_used(home, glove):
    from engine.config.run_config import make_config
    from engine.models import build_model
    from engine.predict.predictor import Predictor

    data = tiny_text_dataset()
    trained = featurize_splits(glove, data, home)["train"]
    spec = {"input_dim": 50, "num_outputs": 4, "classes": data.classes, "kind": "text"}
    cfg = make_config(dataset="news", model="linear")
    ckpt = {"config": cfg.to_dict(), "spec": spec, "featurizer": glove.state(),
            "model": build_model("linear", cfg.model_args, spec).state_dict()}
    predictor = Predictor(ckpt, home)
    assert torch.equal(predictor.featurizer.transform(data.train.x), trained)  # same tokens, same vectors
    assert [t for t, _ in predictor.featurizer.explain("Stocks FALL!").tokens] == ["stocks", "fall"]
