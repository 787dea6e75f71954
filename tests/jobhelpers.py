"""Helpers for tests that drive real worker processes through the JobRunner."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from engine.jobs.local import JobRunner, supervisor_pid  # noqa: F401 (the tests import it from here


def trained_run(store, threads: int | None = None, **config) -> str:
    """A run of `config` trained in this process to `done` in `store` (NNLAB_HOME must name its home)."""
    from engine.config.run_config import make_config
    from engine.training.run import execute

    run_id = store.create_run(make_config(**config), status="running")
    kwargs = {} if threads is None else {"threads": threads}
    assert execute(store, run_id, **kwargs)["status"] == "done"
    return run_id


LONG = {"dataset": "digits", "model": "mlp", "epochs": 500, "early_stopping": False,
        "model_args": {"layers": 1, "width": 16, "batch_norm": False, "input_norm": False, "dropout": 0.0}}


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def stop_runs_and_supervisor(home: Path) -> None:
    """End the runs of `home` (cancel flag, SIGKILL to their workers) and its supervisor, which outlive a
    test's runner or server by design."""
    from engine.jobs.local import stop_supervisor
    from engine.jobs.procs import pid_alive
    from engine.jobs.store import ACTIVE, RunStore

    store = RunStore(home)
    for run in store.list_runs(ACTIVE):
        store.request_cancel(run["id"])
        if run["worker_pid"] and pid_alive(run["worker_pid"]):
            os.kill(run["worker_pid"], signal.SIGKILL)
    stop_supervisor(home)


def logs(runner: JobRunner, run_id: str) -> str:
    """The run's row and the tails of the supervisor's and the worker's logs, for a failure message."""
    parts = [f"run: {runner.store.get_run(run_id)}"]
    for path in (runner.home / "supervisor.log", runner.store.run_dir(run_id) / "worker.log"):
        text = path.read_text(errors="replace")[-2000:] if path.exists() else "(none)"
        parts.append(f"--- {path.name}:\n{text}")
    return "\n".join(parts)


def running_worker(runner: JobRunner, run_id: str) -> int:
    def has_epoch():
        run = runner.store.get_run(run_id)
        return run["worker_pid"] if run["status"] == "running" and run["epoch"] >= 1 else None

    return wait_for(has_epoch, 90, f"run {run_id} to finish an epoch")
