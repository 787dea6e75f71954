"""The Runs page as an experiment tracker: pure functions from flattened runs (engine.jobs.tracker rows)
to the table, the short labels, the parallel-coordinates figure and the selection held in the URL."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from engine.jobs.tracker import varying_settings

MAX_LABEL_SETTINGS = 3  # a legend label names at most this many differing settings
DEFAULT_OVERLAY = 5  # runs overlaid by default
FILTERS = ("dataset", "model", "status", "tag")


def format_setting(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "on" if value else "off"
    return "–" if value is None else str(value)


def tracker_frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    """One row per run: id, status, dataset, model, a column per setting that varies among `rows`, test
    accuracy, epochs done, tags, created."""
    varying = [k for k in varying_settings(rows) if k not in ("dataset", "model")]
    records = []
    for row in rows:
        record = {"run": row["run_id"], "status": row["status"], "dataset": row.get("dataset", ""),
                  "model": row.get("model", "")}
        record.update({k: format_setting(row.get(k)) for k in varying})
        record.update({"test_acc": row.get("test_acc"), "epochs done": f"{row.get('epoch') or 0}/{row.get('max_epochs')}",
                       "tags": " ".join(row.get("tags") or ()), "note": row.get("note", ""),
                       "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(row["created"]))
                       if row.get("created") else ""})
        records.append(record)
    columns = ["run", "status", "dataset", "model", *varying, "test_acc", "epochs done", "tags", "note", "created"]
    return pd.DataFrame(records, columns=columns)


def short_labels(rows: Sequence[Mapping]) -> dict[str, str]:
    """run id -> a legend label made only of the settings that differ among `rows` ("lr=0.01 · width=64");
    the run id where nothing differs or two labels would be the same."""
    varying = varying_settings(rows)[:MAX_LABEL_SETTINGS]
    labels = {r["run_id"]: " · ".join(f"{k}={format_setting(r.get(k))}" for k in varying) for r in rows}
    counts = pd.Series(list(labels.values())).value_counts()
    return {rid: label if label and counts[label] == 1 else (f"{label} · {rid}" if label else rid)
            for rid, label in labels.items()}

def default_overlay(rows: Sequence[Mapping]) -> list[str]:
    """The newest runs (with at least one epoch) of the newest such run's dataset."""
    trained = [r for r in rows if (r.get("epoch") or 0) > 0]
    if not trained:
        return []
    dataset = max(trained, key=lambda r: r.get("created") or 0).get("dataset")
    same = sorted((r for r in trained if r.get("dataset") == dataset), key=lambda r: -(r.get("created") or 0))
    return [r["run_id"] for r in same[:DEFAULT_OVERLAY]]


def parallel_figure(rows: Sequence[Mapping], metric: str = "test_acc") -> go.Figure | None:
    """Parallel coordinates: one axis per setting that varies among the runs with a `metric`, the
    metric last and as the line colour. None when fewer than two runs have it or nothing varies."""
    done = [r for r in rows if r.get(metric) is not None]
    settings = varying_settings(done)
    if len(done) < 2 or not settings:
        return None
    dimensions = [_dimension(k, [r.get(k) for r in done]) for k in settings]
    scores = [float(r[metric]) for r in done]
    dimensions.append({"label": metric.replace("_", " "), "values": scores})
    fig = go.Figure(go.Parcoords(line={"color": scores, "colorscale": "Viridis", "showscale": True,
                                       "colorbar": {"title": {"text": metric.replace("_", " ")}}},
                                 dimensions=dimensions))
    fig.update_layout(height=420, margin={"l": 60, "r": 60, "t": 60, "b": 30}, font={"size": 14})
    return fig


def _dimension(name: str, values: list) -> dict:
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return {"label": name, "values": [float(v) for v in values]}
    names = sorted({format_setting(v) for v in values})  # categories become evenly spaced ticks
    codes = {n: i for i, n in enumerate(names)}
    return {"label": name, "values": [codes[format_setting(v)] for v in values], "tickvals": list(range(len(names))),
            "ticktext": names}


def diff_frame(rows: Sequence[Mapping]) -> pd.DataFrame:
    """Only the settings that differ: one row per setting, one column per run (its short label)."""
    labels = short_labels(rows)
    varying = varying_settings(rows)
    data = {labels[r["run_id"]] + f" [{r['run_id']}]": [format_setting(r.get(k)) for k in varying] for r in rows}
    return pd.DataFrame(data, index=pd.Index(varying, name="setting")).reset_index()


def parse_ids(text: str | None, known: Sequence[str]) -> tuple[list[str], list[str]]:
    """Run ids from a comma-separated URL value: (the known ones in order, the unknown ones)."""
    ids = [p.strip() for p in (text or "").split(",") if p.strip()][:50]
    known_set = set(known)
    return [i for i in ids if i in known_set], [i for i in ids if i not in known_set]
