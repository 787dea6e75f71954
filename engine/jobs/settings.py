"""Job settings of a data home: <home>/settings.json, overridden by NNLAB_* environment variables."""

from __future__ import annotations

import contextlib
import json
import os

from engine.paths import data_home

KEYS = ("max_concurrent", "backend", "ray_address", "max_active_per_owner", "max_run_minutes",
        "max_tables_per_owner")
DEFAULT_MAX_ACTIVE_PER_OWNER = 2
DEFAULT_MAX_RUN_MINUTES = 60.0


def settings(home=None) -> dict:
    """Job settings: <home>/settings.json, overridden by NNLAB_* environment variables
    (`max_concurrent`, `backend` = local | ray, `ray_address` = HEAD:6379, `max_active_per_owner`: queued +
    running runs one person may have, `max_run_minutes`: a run's wall-clock limit; 0 turns either off)."""
    path = data_home(home) / "settings.json"
    values = {}
    if path.exists():
        with contextlib.suppress(ValueError, OSError):
            values = json.loads(path.read_text())
    for key in KEYS:
        if os.environ.get(f"NNLAB_{key.upper()}"):
            values[key] = os.environ[f"NNLAB_{key.upper()}"]
    values["backend"] = str(values.get("backend") or "local").lower()
    # local: one worker at a time unless raised; ray: as many as the cluster has room for unless capped
    default = 1 if values["backend"] == "local" else 10_000
    values["max_concurrent"] = max(1, _number(values.get("max_concurrent"), int, default))
    values["max_active_per_owner"] = max(0, _number(values.get("max_active_per_owner"), int,
                                                    DEFAULT_MAX_ACTIVE_PER_OWNER))
    values["max_run_minutes"] = max(0.0, _number(values.get("max_run_minutes"), float, DEFAULT_MAX_RUN_MINUTES))
    return values


def _number(value, kind, default):
    """`value` as `kind`, or `default` when it is missing or not a number (a typo never stops the queue)."""
    if value is None:
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        return default
