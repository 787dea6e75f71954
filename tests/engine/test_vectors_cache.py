"""The word-vector cache: built once, memory-mapped after, safe when two runs build it at once."""

from __future__ import annotations

import numpy as np

from engine.features import vectors

WORDS = ["oil", "stocks", "fall"]
MATRIX = np.arange(6 * len(WORDS), dtype=np.float32).reshape(len(WORDS), 6)


def _build():
    return vectors.keyed_vectors_from(WORDS, MATRIX)


def test_cache_is_built_once_then_loaded(tmp_path):
    calls = []
    first = vectors._load_or_build("toy", lambda: calls.append(1) or _build(), home=tmp_path)
    again = vectors._load_or_build("toy", lambda: calls.append(1) or _build(), home=tmp_path)
    assert calls == [1]
    np.testing.assert_array_equal(again["stocks"], MATRIX[1])
    np.testing.assert_array_equal(first["fall"], MATRIX[2])


def test_two_runs_building_the_same_cache_at_once_both_succeed(tmp_path, monkeypatch):
    """Another run (the nested call) writes the same cache while ours is in the middle of its own
    write: with one shared temp name it renamed our files away (FileNotFoundError in a real
    textcnn + rnn pair started together). Both must finish and leave one good cache, no temp files."""
    path = vectors._cache_path("toy", tmp_path)
    kv = _build()
    save = type(kv).save
    other_done = []

    def save_then_other_writer(self, fname, *args, **kwargs):
        save(self, fname, *args, **kwargs)
        if not other_done:
            other_done.append(1)
            vectors._save_kv(_build(), path)  # the other run, start to finish, before ours renames

    monkeypatch.setattr(type(kv), "save", save_then_other_writer)
    vectors._save_kv(kv, path)
    assert other_done
    monkeypatch.undo()
    loaded = vectors._load_or_build("toy", lambda: (_ for _ in ()).throw(AssertionError("rebuilt")), tmp_path)
    np.testing.assert_array_equal(loaded.vectors, MATRIX)
    names = sorted(p.name for p in path.parent.iterdir())
    assert "toy.kv" in names and not [n for n in names if n.endswith(".tmp")], names
