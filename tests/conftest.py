"""Shared fixtures: every test gets its own data home; real data comes from ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NNLAB_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh, empty data home (NNLAB_HOME) for this test."""
    path = tmp_path / "nnlab_home"
    path.mkdir()
    monkeypatch.setenv("NNLAB_HOME", str(path))
    return path


def shared(name: str) -> Path:
    """A folder of ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (tests read it from ../shared/data)")
    return path


@pytest.fixture
def news_home(home) -> Path:
    """A data home with the real news split fetched from ../shared/data/news_aggregator."""
    from engine.data import news

    news.fetch(home, from_dir=shared("news_aggregator"))
    return home
