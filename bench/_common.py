"""Shared set-up for the benchmarks: real features when the data is there, digits otherwise."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "tests"))  # the tests' helpers (browserhelpers) serve benchmarks too
SHARED = Path(os.environ.get("NNLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


def news_home() -> Path:
    """A fresh data home holding the news split from ../shared/data (or NNLAB_SHARED_DATA)."""
    from engine.data import news

    home = Path(tempfile.mkdtemp(prefix="nnlab-bench-"))
    news.fetch(home, from_dir=SHARED / "news_aggregator")
    return home


def features(home: Path):
    """(name, x_train, y_train, x_valid, y_valid): news mean-GloVe features if ../shared/data has the
    split, else the 8x8 digits."""
    from engine.config.run_config import make_config
    from engine.data import news
    from engine.training.pipeline import prepare_data

    if (SHARED / "news_aggregator" / "train.txt").exists():
        news.fetch(home, from_dir=SHARED / "news_aggregator")
        cfg = make_config(dataset="news", model="mlp")
    else:
        cfg = make_config(dataset="digits", model="mlp")
    prep = prepare_data(cfg, home)
    return (cfg.dataset, prep.tensors["train"], prep.targets["train"], prep.tensors["valid"], prep.targets["valid"],
            prep.spec)
