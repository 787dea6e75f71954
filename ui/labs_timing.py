"""Batch-size timing page helpers: the timing runs in a background process (`python -m engine timing ... --out
FILE`, the same command and thread count as the CLI; the page never trains), the page reads its rows from FILE;
what a timing will cost before it starts (seconds from this machine's measured step times, else steps); the
log-log figure (a pure function) and the CSV."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from engine.jobs.procs import detached_kwargs, pid_alive, scrubbed_env
from engine.labs import timing
from engine.labs.timing_estimate import folder, read_rows
from ui.live import format_seconds

COLUMNS = ["device", "batch_size", "seconds", "examples_per_s", "threads", "precision", "repeats", "examples_timed",
           "examples_per_epoch", "dataset", "model"]


QUICK_SIZES = (16, 64, 256, 1024)  # the page's default: seconds, not minutes, on a CPU
QUICK_EXAMPLES = 10_000


def work_estimate(sizes: list[int], devices: int, repeats: int, max_examples: int) -> str:
    """What pressing the button costs, before it is pressed: optimizer steps per device (pure)."""
    if not sizes or not devices:
        return "Pick at least one batch size and one device."
    if not max_examples:
        return (f"Each of the {len(sizes) * devices} epochs timed ({repeats} repeats each) reads every training "
                f"example: with B={min(sizes)} on a big dataset that can take minutes. Set examples timed to "
                "scale a part of an epoch instead.")
    steps = repeats * sum(-(-max_examples // b) for b in sizes)
    return (f"About {steps:,} training steps per device ({repeats} repeats of {max_examples:,} examples at each "
            f"of {len(sizes)} batch sizes): seconds at B >= 16, a minute or more once B=1 is added.")


def seconds_estimate(per_device: dict[str, float | None]) -> str | None:
    """The planned timing's duration in words (pure), or None while some device has no measured step time."""
    if not per_device or any(v is None for v in per_device.values()):
        return None
    total = sum(per_device.values())
    each = " + ".join(f"{format_seconds(v)} on {d}" for d, v in per_device.items()) if len(per_device) > 1 else ""
    return ((f"About {format_seconds(total)}" if total >= 1 else "Under a second") + (f" ({each})" if each else "")
            + ", from the step times measured by earlier timings on this machine, plus a few seconds to start.")


def timing_command(home: str, dataset: str, model: str, sizes: list[int], devices: list[str], repeats: int,
                   max_examples: int | None, out: str) -> list[str]:
    """The `python -m engine timing` command line the page starts (pure); threads: the CLI's default."""
    argv = [sys.executable, "-m", "engine", "--home", home, "timing", "--dataset", dataset, "--model", model,
            "--batch-sizes", ",".join(str(int(b)) for b in sorted(sizes)), "--device", ",".join(devices),
            "--repeats", str(int(repeats)), "--out", out]
    return argv + (["--max-examples", str(int(max_examples))] if max_examples else [])


def launch(home: str, owner: str, args: dict) -> dict:
    """Start the timing in its own process (server-chosen output and log paths under the data home); returns
    what the page keeps to follow it: {"pid", "out", "log", "expected"}."""
    rows_folder = folder(home)
    rows_folder.mkdir(parents=True, exist_ok=True)
    stem = f"{owner}-{time.time_ns()}"
    out, log_path = rows_folder / f"{stem}.jsonl", rows_folder / f"{stem}.log"
    argv = timing_command(home, out=str(out), **args)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                env=scrubbed_env({"NNLAB_HOME": home}), **detached_kwargs())
    return {"pid": proc.pid, "out": str(out), "log": str(log_path), "expected": len(args["sizes"]) * len(args["devices"]),
            "proc": proc}


def progress(job: dict) -> tuple[list[dict], bool, str | None]:
    """(rows so far, still running, error): the error is the log's last line when the process ended short."""
    rows = read_rows(job["out"])
    proc = job.get("proc")
    running = proc.poll() is None if proc is not None else pid_alive(job["pid"])
    error = None
    if not running and len(rows) < job["expected"]:
        lines = Path(job["log"]).read_text(errors="replace").strip().splitlines() if Path(job["log"]).exists() else []
        error = lines[-1][:300] if lines else "the timing process ended without output"
    return rows, running, error


def rows_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def reference_frame() -> pd.DataFrame:
    return pd.DataFrame({"batch_size": list(timing.REFERENCE_GPU), "seconds": list(timing.REFERENCE_GPU.values())})


def timing_figure(df: pd.DataFrame, metric: str = "seconds", reference: bool = True) -> go.Figure:
    """Seconds per epoch (or examples per second) against batch size, log-log, one line per device,
    with the exercise's reported GPU times as a dashed reference."""
    fig = go.Figure()
    for device, part in df.groupby("device", sort=False):
        fig.add_trace(go.Scatter(x=part["batch_size"], y=part[metric], mode="lines+markers", name=f"measured · {device}"))
    if reference and metric == "seconds":
        ref = reference_frame()
        fig.add_trace(go.Scatter(x=ref["batch_size"], y=ref["seconds"], mode="lines+markers", name="exercise · GPU",
                                 line={"dash": "dash"}))
    fig.update_layout(xaxis={"type": "log", "title": "batch size B", "dtick": 0.30103, "tickformat": "d"},
                      yaxis={"type": "log", "dtick": 1, "tickformat": "~g",  # one labelled tick per decade
                             "title": "seconds per epoch" if metric == "seconds" else "examples per second"},
                      height=420, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return fig


def to_csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")
