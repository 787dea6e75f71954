"""How long a batch-size timing will take, in seconds, before it starts. A training step's time at batch size B
is fitted as fixed + per_example·B to the rows that earlier timings of the same dataset, model and device wrote on
this machine (`python -m engine timing --out FILE` under <home>/timing: the page's timings and its short
calibration), then summed over the steps the planned timing takes (its warm-up epoch included)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The short timing that measures a step time when none is known: a few seconds on a CPU.
CALIBRATION = {"sizes": [16, 256], "repeats": 1, "max_examples": 2048}
NEWEST_FILES = 50  # rows files read per estimate (each timing writes one): bounds the cost of a page rerun


def folder(home) -> Path:
    """Where timings started from the page write their rows."""
    return Path(home) / "timing"


def read_rows(path) -> list[dict]:
    """The complete JSON lines written so far (a line still being written is left for the next read)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines(keepends=True):
        if line.endswith("\n"):
            rows.append(json.loads(line))
    return rows


def measured_rows(home, dataset: str, model: str, device: str) -> list[dict]:
    """Rows of earlier timings of `model` on `dataset` and `device`, from the newest rows files."""
    files = sorted(folder(home).glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)[:NEWEST_FILES]
    return [row for path in files for row in read_rows(path)
            if (row.get("dataset"), row.get("model"), row.get("device")) == (dataset, model, device)]


@dataclass(frozen=True)
class StepTime:
    fixed: float  # seconds of one optimizer step, whatever its size (launches, optimizer update)
    per_example: float  # seconds added by each example in the step
    examples_per_epoch: int  # training examples of the dataset, as timed

    def epoch_seconds(self, batch_size: int, examples: int) -> float:
        return math.ceil(examples / batch_size) * (self.fixed + self.per_example * batch_size)


def fit_step_time(rows: list[dict]) -> StepTime | None:
    """fixed + per_example·B fitted to the rows' seconds per step (relative least squares, so the small steps
    that dominate a B=1 epoch count as much as the large ones); None without rows."""
    rows = [r for r in rows if r.get("seconds", 0) > 0 and r.get("examples_per_epoch", 0) > 0]
    if not rows:
        return None
    b = np.array([r["batch_size"] for r in rows], float)
    step = np.array([r["seconds"] * r["batch_size"] / r["examples_per_epoch"] for r in rows])
    n = int(rows[0]["examples_per_epoch"])
    if len(set(b)) == 1:  # one batch size: no slope to fit
        return StepTime(float(step.mean()), 0.0, n)
    design = np.c_[np.ones_like(b), b] / step[:, None]
    (fixed, per_example), *_ = np.linalg.lstsq(design, np.ones_like(step), rcond=None)
    if per_example < 0:  # noise on a tiny model: the step time does not grow with B
        fixed, per_example = float(np.median(step)), 0.0
    elif fixed < 0:
        fixed, per_example = 0.0, float(np.median(step / b))
    return StepTime(float(fixed), float(per_example), n)


def estimate_seconds(step: StepTime, sizes, repeats: int, max_examples: int | None = None) -> float:
    """Seconds `timing.time_epochs` takes on one device: one warm-up epoch at the largest size, then `repeats`
    epochs at each size, each over `max_examples` training rows (all when None)."""
    examples = min(step.examples_per_epoch, max_examples) if max_examples else step.examples_per_epoch
    return (step.epoch_seconds(max(sizes), examples)
            + repeats * sum(step.epoch_seconds(int(b), examples) for b in sizes))


def plan_seconds(home, dataset: str, model: str, devices, sizes, repeats: int,
                 max_examples: int | None = None) -> dict[str, float | None]:
    """Estimated seconds per device of a planned timing; None for a device this model was never timed on."""
    out = {}
    for device in devices:
        step = fit_step_time(measured_rows(home, dataset, model, device))
        out[device] = None if step is None or not sizes else estimate_seconds(step, sizes, repeats, max_examples)
    return out
