"""Which server files a request from outside may name, and which checkpoints the server will open.

Server paths are the administrator's: the command line may read any file (it is the administrator), a
browser session or an uploaded checkpoint only files under the folders the administrator allows
(`allowed_dirs` in `<home>/settings.json`, or NNLAB_ALLOWED_DIRS separated by os.pathsep; default none).
A checkpoint's word vectors must be ones the server knows: the embedded GloVe, vectors inside the
checkpoint (`w2v`), or a word2vec file under an allowed folder. Sizes a checkpoint declares are checked
against bounds and against its own featurizer before any model is built.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.paths import data_home

KNOWN_VECTORS = ("", "none", "glove", "w2v")
MAX_IMAGE_SIDE = 512  # pixels per side of an image run's input (MNIST: 28)
MAX_SPEC_SIZE = 2_000_000  # any other size a checkpoint declares (a vocabulary, an input width)
MAX_EMBEDDING_DIM = 4096
DEFAULT_MAX_TABLES = 5


class AccessError(PermissionError):
    """A path or checkpoint from outside that this server refuses. The message says what to do instead."""


def allowed_dirs(home=None) -> list[Path]:
    """The folders a browser session may name (resolved), from NNLAB_ALLOWED_DIRS or settings.json."""
    raw = os.environ.get("NNLAB_ALLOWED_DIRS")
    if raw:
        values = raw.split(os.pathsep)
    else:
        try:
            values = json.loads((data_home(home) / "settings.json").read_text()).get("allowed_dirs") or []
        except (OSError, ValueError, AttributeError):
            values = []
        values = [values] if isinstance(values, str) else values
    return [Path(str(v)).expanduser().resolve() for v in values if str(v).strip()]


def check_server_path(path, home=None) -> Path:
    """`path` resolved, if it lies under an allowed folder; else AccessError (which never says whether the
    file exists)."""
    dirs = allowed_dirs(home)
    resolved = Path(str(path)).expanduser().resolve()
    if any(resolved == d or d in resolved.parents for d in dirs):
        return resolved
    where = ("the administrator allows none" if not dirs
             else "it is not under a folder the administrator allows")
    raise AccessError(f"files on this server cannot be named here ({where}). Fix: upload the files instead, or "
                      "ask the teacher to add the folder to `allowed_dirs` in <home>/settings.json "
                      "(or NNLAB_ALLOWED_DIRS)")


def check_vectors_source(source, home=None) -> None:
    """A word-vector source named by a checkpoint: embedded, inside the checkpoint, or an allowed file."""
    source = "" if source is None else str(source)
    if source in KNOWN_VECTORS:
        return
    if source.startswith("word2vec:"):
        try:
            check_server_path(source.split(":", 1)[1], home)
            return
        except AccessError:
            pass
    raise AccessError("this checkpoint names word vectors this server does not offer (a file on the server). "
                      "Fix: use a checkpoint trained with the embedded GloVe or w2v vectors, or ask the teacher to "
                      "allow the vectors' folder (`allowed_dirs`)")


def check_checkpoint_sources(ckpt: dict, home=None) -> None:
    """Every word-vector source a checkpoint names (its featurizer's and its model's) is one the server knows."""
    state = ckpt.get("featurizer") or {}
    config = ckpt.get("config") or {}
    if not isinstance(state, dict) or not isinstance(config, dict):
        raise AccessError("this checkpoint's description is damaged. Fix: use a best.pt/last.pt saved by NN Lab")
    check_vectors_source(state.get("source"), home)
    check_vectors_source(state.get("vectors"), home)
    check_vectors_source((config.get("model_args") or {}).get("init_vectors"), home)
    check_vectors_source(config.get("features"), home)


def _sizes(value):
    """The integers inside a spec value (an int, or a list/tuple of ints)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    return []


def check_spec(spec: dict, featurizer_spec: dict) -> None:
    """The sizes a checkpoint declares stay within bounds and agree with what its own featurizer gives,
    so a few bytes cannot make the server allocate gigabytes. ValueError names the disagreement."""
    if not isinstance(spec, dict):
        raise ValueError("its spec is not a description of inputs")
    for side in _sizes(spec.get("image_shape")) + _sizes(featurizer_spec.get("image_shape")):
        if not 0 < side <= MAX_IMAGE_SIDE:
            raise ValueError(f"an image side of {side} pixels is outside 1..{MAX_IMAGE_SIDE}")
    for key, value in spec.items():
        for size in _sizes(value):
            bound = MAX_EMBEDDING_DIM if key == "embedding_dim" else MAX_SPEC_SIZE
            if not 0 <= size <= bound:
                raise ValueError(f"{key}={size} is outside 0..{bound:,}")
    for key, actual in featurizer_spec.items():
        if key in spec and _sizes(actual) and _sizes(spec[key]) != _sizes(actual):
            raise ValueError(f"it declares {key}={spec[key]!r}, its featurizer gives {actual!r}")


def max_tables_per_owner(home=None) -> int:
    """Tables one browser session may add (`max_tables_per_owner` in settings.json or NNLAB_MAX_TABLES_PER_OWNER;
    default 5). The command line is not capped."""
    from engine.jobs.settings import settings

    try:
        return max(0, int(settings(home).get("max_tables_per_owner", DEFAULT_MAX_TABLES)))
    except (TypeError, ValueError):
        return DEFAULT_MAX_TABLES
