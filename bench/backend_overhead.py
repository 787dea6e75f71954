"""Per-run overhead of the Ray backend: 8 short runs through the local-process backend and through Ray
on this same machine, side by side.

Each backend gets a fresh data home, one run at a time (`max_concurrent` 1, so seconds per run are
comparable), and one warm-up run first (the local supervisor's and the Ray Hub's start-up are paid
once per burst, not per run). Ray: the cluster at NNLAB_RAY_ADDRESS, else one started here (2 CPUs).
Prints wall seconds per run (submit of the first to the end of the last, / 8), the training part of
each run (the run's own `seconds`: data, model, fit, test), and the difference.

What differs: a local run is a fresh worker process (Python, torch, the dataset and its features loaded
anew); a Ray run is a task in a warm worker process that receives the data prepared once on the head,
but pays the task hand-off and a store round trip per metrics flush, status change and checkpoint.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401 (puts the repo on sys.path)

from engine.config.run_config import make_config
from engine.jobs.local import JobRunner, stop_supervisor

RUNS = 8
CONFIG = {"dataset": "digits", "model": "mlp", "epochs": 2, "early_stopping": False, "seed": 1,
          "model_args": {"layers": 1, "width": 32, "batch_norm": False, "input_norm": False, "dropout": 0.0}}


def burst(runner: JobRunner) -> tuple[float, float]:
    """(wall seconds per run, median training seconds per run) for RUNS runs queued at once."""
    runner.wait(runner.submit(make_config(**CONFIG)), timeout=600)  # warm-up, not timed
    t0 = time.perf_counter()
    ids = [runner.submit(make_config(**{**CONFIG, "seed": i})) for i in range(RUNS)]
    runs = [runner.wait(run_id, timeout=600) for run_id in ids]
    wall = time.perf_counter() - t0
    bad = [r["id"] for r in runs if r["status"] != "done"]
    if bad:
        raise SystemExit(f"runs {bad} did not finish: {[runner.store.get_run(r)['error'] for r in bad]}")
    return wall / RUNS, statistics.median(runner.store.result(r)["seconds"] for r in ids)


def home(root: Path, name: str) -> Path:
    path = root / name
    path.mkdir()
    (path / "settings.json").write_text(json.dumps({"max_concurrent": 1}))
    return path


def main() -> None:
    from engine.jobs.ray.backend import RayJobRunner, connect

    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        local = burst(JobRunner(home(root, "local")))
        stop_supervisor(root / "local")
        address = os.environ.get("NNLAB_RAY_ADDRESS")
        if not address:  # a throwaway one-machine instance: no auth token written to ~/.ray for it
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        connect(address or "local", **({} if address else {"num_cpus": 2, "include_dashboard": False,
                                                            "object_store_memory": 200 * 2**20}))
        runner = RayJobRunner(home(root, "ray"), address=address)
        try:
            ray = burst(runner)
        finally:
            runner.shutdown()
    print(f"{RUNS} runs ({CONFIG['dataset']} {CONFIG['model']}, {CONFIG['epochs']} epochs), one at a time, "
          f"after one warm-up run each")
    print(f"{'backend':8} {'s per run':>10} {'training s':>11} {'overhead s':>11}")
    for name, (per_run, train) in (("local", local), ("ray", ray)):
        print(f"{name:8} {per_run:10.2f} {train:11.2f} {per_run - train:11.2f}")
    print(f"Ray - local per run = {ray[0] - local[0]:+.2f} s")


if __name__ == "__main__":
    main()
