"""Tables of runs for the pages: pure functions from RunStore rows and results to DataFrames."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pandas as pd

# The seed exercise's reported test accuracies on the news headlines (300-d word2vec features).
EXERCISE_REFERENCES: dict[str, float] = {
    "exercise: single layer (300-d word2vec)": 0.891,
    "exercise: MLP (300-d word2vec)": 0.921,
}
REFERENCE_DATASET = "news"
RUN_COLUMNS = ["run", "status", "dataset", "model", "features", "test_acc", "epochs", "node", "created"]


def _created(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


def runs_frame(runs: Sequence[Mapping], results: Mapping[str, Mapping | None]) -> pd.DataFrame:
    """One row per run: id, status, dataset, model, features (text only), test accuracy, epochs done
    / maximum, the machine it trained on (a Ray node with the Ray backend), creation time. `results` maps run id -> RunStore.result() (or None)."""
    rows = []
    for run in runs:
        cfg = run["config"]
        res = results.get(run["id"]) or {}
        rows.append({
            "run": run["id"],
            "status": run["status"],
            "dataset": cfg.get("dataset", ""),
            "model": cfg.get("model", ""),
            "features": cfg.get("features", "") if cfg.get("dataset") == REFERENCE_DATASET else "",
            "test_acc": res.get("test_acc"),
            "epochs": f"{run.get('epoch') or 0}/{run.get('max_epochs') or cfg.get('epochs', '')}",
            "node": run.get("node") or "",
            "created": _created(run.get("created")),
        })
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def comparison_frame(runs: Sequence[Mapping], results: Mapping[str, Mapping | None],
                     with_references: bool = True) -> pd.DataFrame:
    """Finished runs ranked by test accuracy, with the exercise's reported numbers as reference rows
    (marked `reference`), so a class sees where its runs stand."""
    rows = []
    for run in runs:
        res = results.get(run["id"]) or {}
        if res.get("test_acc") is None:
            continue
        cfg = run["config"]
        rows.append({"source": run["id"], "dataset": cfg.get("dataset", ""), "model": cfg.get("model", ""),
                     "features": cfg.get("features", "") if cfg.get("dataset") == REFERENCE_DATASET else "",
                     "test_acc": float(res["test_acc"]), "reference": False})
    if with_references:
        for label, value in EXERCISE_REFERENCES.items():
            model = "linear" if "single" in label else "mlp"
            rows.append({"source": label, "dataset": REFERENCE_DATASET, "model": model,
                         "features": "word2vec 300-d", "test_acc": value, "reference": True})
    frame = pd.DataFrame(rows, columns=["source", "dataset", "model", "features", "test_acc", "reference"])
    return frame.sort_values("test_acc", ascending=False).reset_index(drop=True)


def misclassified_frame(result: Mapping | None) -> pd.DataFrame:
    """The test examples the model got wrong (as stored by the engine), most confident first."""
    items = list((result or {}).get("misclassified") or [])
    frame = pd.DataFrame(items)
    if frame.empty:
        return pd.DataFrame(columns=["index", "input", "true", "pred", "confidence"])
    cols = [c for c in ("index", "input", "true", "pred", "confidence") if c in frame.columns]
    return frame[cols].sort_values("confidence", ascending=False).reset_index(drop=True)
