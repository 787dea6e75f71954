"""Job settings of a data home: <home>/settings.json, overridden by NNLAB_* environment variables."""

from __future__ import annotations

import contextlib
import json
import os

from engine.paths import data_home


def settings(home=None) -> dict:
    """Job settings: <home>/settings.json, overridden by NNLAB_* environment variables
    (`max_concurrent`, `backend` = local | ray, `ray_address` = HEAD:6379)."""
    path = data_home(home) / "settings.json"
    values = {}
    if path.exists():
        with contextlib.suppress(ValueError, OSError):
            values = json.loads(path.read_text())
    for key in ("max_concurrent", "backend", "ray_address"):
        if os.environ.get(f"NNLAB_{key.upper()}"):
            values[key] = os.environ[f"NNLAB_{key.upper()}"]
    values["backend"] = str(values.get("backend") or "local").lower()
    # local: one worker at a time unless raised; ray: as many as the cluster has room for unless capped
    default = 1 if values["backend"] == "local" else 10_000
    try:
        values["max_concurrent"] = max(1, int(values.get("max_concurrent", default)))
    except (TypeError, ValueError):
        values["max_concurrent"] = default
    return values
