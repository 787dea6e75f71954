"""Made-up headlines in the news split's format (title TAB category), of varying length, for tests that need a
sequence model to read titles without the real data."""

from __future__ import annotations

import random
from pathlib import Path

CLASS_WORDS = {"b": ["fed", "stocks", "bank", "rates", "shares"], "t": ["apple", "google", "phone", "chip", "app"],
               "e": ["film", "star", "music", "show", "award"], "m": ["health", "study", "virus", "drug", "cancer"]}
FILLER = ["the", "a", "of", "to", "in", "on", "for", "says", "new"]


def write_split(folder: Path, per_class=(10, 4, 4), seed: int = 0, words=(3, 10)) -> Path:
    """train/valid/test.txt with `per_class` titles of each class: `words` filler words, then one class word."""
    from engine.data import news

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in zip(news.SPLIT_FILES, per_class, strict=True):
        lines = [" ".join(rng.choices(FILLER, k=rng.randint(*words)) + [rng.choice(ws)]) + f"\t{code}"
                 for code, ws in CLASS_WORDS.items() for _ in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n")
    return folder
