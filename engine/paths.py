"""Where NN Lab keeps its data: one data home, overridable with NNLAB_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def data_home(home: str | os.PathLike | None = None) -> Path:
    """The data home: `home` if given, else $NNLAB_HOME, else ~/.nnlab. Created on first use."""
    path = Path(home or os.environ.get("NNLAB_HOME") or Path.home() / ".nnlab").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _subdir(name: str, home=None) -> Path:
    path = data_home(home) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir(home=None) -> Path:
    return _subdir("datasets", home)


def cache_dir(home=None) -> Path:
    return _subdir("cache", home)


def runs_dir(home=None) -> Path:
    return _subdir("runs", home)


def run_dir(run_id: str, home=None) -> Path:
    if not run_id or "/" in run_id or "\\" in run_id or run_id.startswith("."):
        raise ValueError(f"invalid run id {run_id!r}")
    path = runs_dir(home) / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def safe_child(root: Path, name: str) -> Path:
    """A path for a user-supplied file name that always stays inside `root`.

    Directory parts, `..` and absolute prefixes are dropped: only the base name is kept.
    """
    base = Path(str(name).replace("\\", "/")).name
    base = base.lstrip(".") or "upload"
    path = (root / base).resolve()
    if root.resolve() not in path.parents:
        raise ValueError(f"refusing to write outside {root}: {name!r}")
    return path
