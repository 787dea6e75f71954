"""One normalize/tokenize for training and prediction alike.

Bump NORMALIZER_VERSION whenever the output of `tokenize` changes: cached features are keyed by it.
"""

from __future__ import annotations

import re
import unicodedata

NORMALIZER_VERSION = 1
MAX_CHARS = 2000  # longer inputs are cut (a headline is < 300 characters)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_TOKEN = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*")


def normalize(text: str) -> str:
    """NFKC, straight quotes, lower case, collapsed whitespace."""
    text = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).lower()
    return " ".join(text.split())


def tokenize(text: str) -> list[str]:
    """Words of a headline: letters/digits runs, keeping inner apostrophes and hyphens
    ("don't", "covid-19"); punctuation and symbols are dropped."""
    return _TOKEN.findall(normalize(text[:MAX_CHARS]))


def expand_unknown(token: str, known) -> list[str]:
    """Fallback for a token missing from a vocabulary: its hyphen/apostrophe parts ("obama's" ->
    "obama", "'s"), kept only where known. `known` supports `in`."""
    if token in known:
        return [token]
    parts: list[str] = []
    for piece in token.split("-"):
        if piece in known:
            parts.append(piece)
            continue
        stem, apos, rest = piece.partition("'")
        if stem in known:
            parts.append(stem)
        if apos and "'" + rest in known:
            parts.append("'" + rest)
    return parts
