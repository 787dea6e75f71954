"""Runs as an experiment tracker: each run flattened to one row of settings and final metrics, the
settings that differ among runs, tags and notes checked before they are stored. Pure functions of
RunStore rows (no store access here), shared by the CLI and the Runs page."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

MAX_TAG_LENGTH = 32
MAX_TAGS = 20
MAX_NOTE_LENGTH = 2000
TAG_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:+-]*")

# what identifies a run and how it ended, ahead of its settings in every row
RUN_KEYS = ("run_id", "name", "status", "owner", "created", "epoch", "max_epochs")
# final metrics copied from the run's result, when it has them
METRIC_KEYS = ("test_acc", "test_loss", "test_mse", "valid_acc", "valid_loss", "valid_mse", "params", "seconds")
# settings no one compares runs by (where a run trained says nothing about the model)
NOT_SETTINGS = {"device"}


class TagError(ValueError):
    pass


def clean_tag(tag: str) -> str:
    """A tag as stored: letters, digits and - _ . : + (no spaces), at most MAX_TAG_LENGTH characters."""
    tag = (tag or "").strip()
    if not tag or len(tag) > MAX_TAG_LENGTH or not TAG_PATTERN.fullmatch(tag):
        raise TagError(f"a tag is 1 to {MAX_TAG_LENGTH} letters, digits or - _ . : + starting with a letter or "
                       "digit (no spaces). Fix: e.g. `baseline` or `lr-sweep`")
    return tag


def clean_tags(tags: Iterable[str]) -> list[str]:
    out = sorted({clean_tag(t) for t in tags})
    if len(out) > MAX_TAGS:
        raise TagError(f"a run takes at most {MAX_TAGS} tags. Fix: remove one first")
    return out


def clean_note(text: str) -> str:
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise TagError(f"a note is at most {MAX_NOTE_LENGTH} characters; this one has {len(text)}. "
                       "Fix: shorten it")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise TagError("a note holds text only: no control characters. Fix: retype it as plain text")
    return text


def settings(config: Mapping) -> dict:
    """A run's settings as one flat dict: the core settings, then the model's and the dataset's own
    (a dataset setting whose name a model setting already uses is kept as `data_NAME`)."""
    flat = {k: v for k, v in config.items() if k not in ("model_args", "data_args") and k not in NOT_SETTINGS}
    for key, value in (config.get("model_args") or {}).items():
        flat[key if key not in flat else f"model_{key}"] = value
    for key, value in (config.get("data_args") or {}).items():
        flat[key if key not in flat else f"data_{key}"] = value
    return {k: _plain(v) for k, v in flat.items()}


def _plain(value):
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else value


def flatten_run(run: Mapping, result: Mapping | None = None, annotation: Mapping | None = None) -> dict:
    """One row: the run's identity, its settings, its final metrics, tags and note."""
    row = {"run_id": run["id"], **{k: run.get(k) for k in RUN_KEYS[1:]}}
    row.update(settings(run["config"]))
    result = result or {}
    row.update({k: result[k] for k in METRIC_KEYS if result.get(k) is not None})
    annotation = annotation or {}
    row["tags"] = list(annotation.get("tags") or [])
    row["note"] = annotation.get("note") or ""
    return row


def tracked_rows(store, limit: int | None = None) -> list[dict]:
    """Every run of a RunStore (newest first) flattened with its result, tags and note."""
    runs = store.list_runs(limit=limit)
    notes = store.annotations([r["id"] for r in runs])
    return [flatten_run(r, store.result(r["id"]), notes.get(r["id"])) for r in runs]


def varying_settings(rows: Sequence[Mapping]) -> list[str]:
    """The settings whose values differ among `rows` (a setting a run lacks counts as a value), in the
    order they first appear."""
    keys = _setting_keys(rows)
    return [k for k in keys if len({repr(r.get(k)) for r in rows}) > 1]


def _setting_keys(rows: Sequence[Mapping]) -> list[str]:
    skip = set(RUN_KEYS) | set(METRIC_KEYS) | {"tags", "note"}
    keys: dict[str, None] = {}
    for row in rows:
        keys.update((k, None) for k in row if k not in skip)
    return list(keys)


def config_diff(rows: Sequence[Mapping]) -> dict[str, list]:
    """setting -> its value in each of `rows` (None where a run lacks it), only for settings that differ."""
    return {k: [r.get(k) for r in rows] for k in varying_settings(rows)}


def filter_rows(rows: Iterable[Mapping], tag: str | None = None, **equal) -> list[dict]:
    """Rows carrying `tag` (if given) and equal to every given field (None or empty: any value)."""
    out = []
    for row in rows:
        if tag and tag not in row.get("tags", ()):
            continue
        if any(v not in (None, "", ()) and row.get(k) != v for k, v in equal.items()):
            continue
        out.append(dict(row))
    return out


def table_columns(rows: Sequence[Mapping]) -> list[str]:
    """Columns of the multi-run table: identity, every setting, the final metrics any run has, tags, note."""
    metrics = [k for k in METRIC_KEYS if any(k in r for r in rows)]
    return [*RUN_KEYS, *_setting_keys(rows), *metrics, "tags", "note"]


def table_csv(rows: Sequence[Mapping]) -> str:
    """The multi-run table as CSV text: one row per run, tags joined by spaces."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=table_columns(rows), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in {**row, "tags": " ".join(row.get("tags", ()))}.items()})
    return buf.getvalue()


def _cell(value):
    """A text cell a spreadsheet would run as a formula starts with a quote instead."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value
