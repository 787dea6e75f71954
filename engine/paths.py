"""Where NN Lab keeps its data: one data home, overridable with NNLAB_HOME."""

from __future__ import annotations

import os
import re
from pathlib import Path

# new_run_id() in engine/jobs/store.py: YYMMDD-HHMMSS-xxxx
RUN_ID = re.compile(r"^[0-9]{6}-[0-9]{6}-[0-9a-f]{4}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


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


def check_run_id(run_id) -> str:
    """`run_id` if it has the form new_run_id() gives (YYMMDD-HHMMSS-xxxx), else ValueError."""
    if not isinstance(run_id, str) or not RUN_ID.fullmatch(run_id):
        raise ValueError(f"{str(run_id)[:40]!r} is not a run id. Fix: give an id as `python -m engine runs` "
                         "lists them, e.g. 250101-120000-ab12")
    return run_id


def check_name(kind: str, value) -> str:
    """A name from outside that becomes part of a file name (a study, a table): letters, digits, _ . -,
    at most 64 characters, starting with a letter or digit, no "..". Else ValueError naming the rule."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise ValueError(f"{kind} name {str(value)[:40]!r} is not allowed. Fix: use letters, digits, _ . and - "
                         "only (at most 64, starting with a letter or digit)")
    return value


def run_dir(run_id: str, home=None) -> Path:
    check_run_id(run_id)
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
