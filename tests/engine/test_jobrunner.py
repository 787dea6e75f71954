"""JobRunner: worker processes, a killed worker marked interrupted, resume at the right epoch,
cancel, and a bounded queue — one suite, run against each backend (local processes, Ray)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from jobhelpers import LONG, logs, running_worker, wait_for

from engine.config.run_config import make_config
from engine.training.checkpoint import load

KILLED_REASON = {"local": "signal 9", "ray": "worker process died"}  # Ray does not report the signal


@pytest.fixture(params=["local", "ray"])
def runner(request):
    """The JobRunner of each backend on the test's data home (Ray: the session's two-node local cluster)."""
    return request.getfixturevalue(f"{request.param}_runner")


def test_killed_worker_is_interrupted_then_resumes_at_the_next_epoch(runner):
    epochs = 60  # ~0.15 s each: the kill lands seconds before the run could end (at 40 with a 1 s wait, a
    # quiet machine sometimes finished the run first, so the kill found no worker)
    run_id = runner.submit(make_config(**{**LONG, "epochs": epochs}))
    worker = running_worker(runner, run_id)
    wait_for(lambda: (runner.store.run_dir(run_id) / "last.pt").exists(), 30, "the first checkpoint")
    os.kill(worker, signal.SIGKILL)
    t0 = time.monotonic()
    try:
        run = wait_for(lambda: (r := runner.store.get_run(run_id))["status"] == "interrupted" and r, 10,
                       "the killed run to be marked interrupted")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{logs(runner, run_id)}") from None
    print(f"interrupted {time.monotonic() - t0:.2f}s after kill -9")
    assert KILLED_REASON[runner.backend] in run["error"] and run["worker_pid"] is None
    saved = load(runner.store.run_dir(run_id) / "last.pt")["epoch"]
    before = runner.store.metrics(run_id)
    runner.resume(run_id)
    done = runner.wait(run_id, timeout=180)
    assert done["status"] == "done" and done["epoch"] == epochs
    after = runner.store.metrics(run_id).query("split != 'test'")  # final test metrics come at the end
    seen = after.query("split == 'valid' and name == 'loss'")["epoch"].tolist()
    assert seen == list(range(0, epochs + 1))  # every epoch once: none lost, none duplicated
    kept = before[before["epoch"] <= saved].reset_index(drop=True)
    assert kept.equals(after[after["epoch"] <= saved].reset_index(drop=True))  # metrics before the kill kept


def test_cancel_stops_a_running_run_and_keeps_last_checkpoint(runner):
    run_id = runner.submit(make_config(**LONG))
    running_worker(runner, run_id)
    runner.cancel(run_id)
    run = runner.wait(run_id, timeout=30)
    assert run["status"] == "stopped" and (runner.store.run_dir(run_id) / "last.pt").exists()


def test_the_queue_runs_at_most_max_concurrent_at_once(runner):
    (runner.home / "settings.json").write_text('{"max_concurrent": 1}')  # the local default; Ray: the cluster's room
    first = runner.submit(make_config(**LONG))
    second = runner.submit(make_config(**{**LONG, "epochs": 1}))
    running_worker(runner, first)
    time.sleep(1.0)
    assert runner.status(second)["status"] == "queued"
    runner.cancel(first)
    assert runner.wait(second, timeout=120)["status"] == "done"


def test_resume_refuses_runs_without_a_checkpoint_or_still_active(runner):
    run_id = runner.store.create_run(make_config())
    with pytest.raises(ValueError, match="no last.pt"):
        runner.resume(run_id)
