"""The Hub's dispatcher, without a cluster: a task lost before its run started is started again only
after a growing pause (a node leaving the cluster can take tasks for seconds before Ray marks it dead),
and after MAX_START_ATTEMPTS losses the run fails with the reason."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest

ray = pytest.importorskip("ray")
from engine.backends import ray_hub  # noqa: E402
from engine.config import make_config  # noqa: E402
from engine.store import RunStore  # noqa: E402


class LostTask:
    """Stands for the ObjectRef of a task whose node died before the task claimed its run."""


def bare_hub(home, monkeypatch, clock):
    hub = ray_hub.Hub.__new__(ray_hub.Hub)  # no dispatcher thread, no actor: tick() is driven by the test
    hub.home, hub.store = home, RunStore(home)
    hub.tasks, hub.cancel_seen, hub.forced, hub.attempts, hub.retry_at = {}, {}, set(), {}, {}
    hub.data_refs, hub._wake = OrderedDict(), threading.Event()
    starts = []

    def start(run):
        starts.append(clock[0])
        hub.tasks[run["id"]] = LostTask()

    def get(ref):
        raise ray.exceptions.NodeDiedError("node 127.0.0.1 died")

    monkeypatch.setattr(hub, "_start", start)
    monkeypatch.setattr(ray_hub.ray, "wait", lambda refs, **kw: (list(refs), []))
    monkeypatch.setattr(ray_hub.ray, "get", get)
    monkeypatch.setattr(ray_hub.time, "monotonic", lambda: clock[0])
    return hub, starts


def test_a_task_lost_before_it_starts_is_retried_after_a_pause_then_the_run_fails(home, monkeypatch):
    clock = [1000.0]
    hub, starts = bare_hub(home, monkeypatch, clock)
    run_id = hub.store.create_run(make_config(dataset="digits", model="mlp", epochs=1))
    while hub.store.get_run(run_id)["status"] == "queued" and clock[0] < 1100:
        hub.tick()
        clock[0] += ray_hub.POLL_SECONDS
    pause = ray_hub.START_RETRY_SECONDS
    assert len(starts) == ray_hub.MAX_START_ATTEMPTS == 3
    assert starts[1] - starts[0] >= pause and starts[2] - starts[1] >= 2 * pause  # not three tries in a second
    run = hub.store.get_run(run_id)
    assert run["status"] == "failed"
    assert "failed 3 times before starting: the node it ran on left the Ray cluster" in run["error"]
