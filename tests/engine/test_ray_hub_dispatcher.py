"""The Hub's dispatcher, without a cluster, driven tick by tick:
- a task lost before its run started is started again only after a growing pause (a node leaving the
  cluster can take tasks for seconds before Ray marks it dead), and after MAX_START_ATTEMPTS losses the
  run fails with the reason;
- a run that has ended while its task still writes its result is left alone, and a run stopped while its
  task waits for room has that task cancelled;
- owners are served in turn, and a run past `max_run_minutes` has its task interrupted, killed after a grace
  period if it is still there, and is stopped with the reason."""

from __future__ import annotations

import threading
from collections import OrderedDict

import pytest

ray = pytest.importorskip("ray")
from engine.config.run_config import make_config  # noqa: E402
from engine.jobs.ray import hub as ray_hub  # noqa: E402
from engine.jobs.store import RunStore  # noqa: E402


class LostTask:
    """Stands for the ObjectRef of a task whose node died before the task claimed its run."""


def new_hub(home):
    hub = ray_hub.Hub.__new__(ray_hub.Hub)  # no dispatcher thread, no actor: tick() is driven by the test
    hub.home, hub.store = home, RunStore(home)
    hub.tasks, hub.cancel_seen, hub.forced, hub.claimed, hub.attempts, hub.retry_at = {}, {}, set(), set(), {}, {}
    hub.limited, hub.terminating = {}, {}
    hub.data_refs, hub._wake = OrderedDict(), threading.Event()
    return hub


def bare_hub(home, monkeypatch, clock):
    hub = new_hub(home)
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


def hub_with_live_tasks(home, monkeypatch):
    """A bare Hub whose tasks are all still running, and the list of the tasks it cancels."""
    hub = new_hub(home)
    cancelled = []
    monkeypatch.setattr(hub, "_start", lambda run: hub.tasks.setdefault(run["id"], f"task of {run['id']}"))
    monkeypatch.setattr(ray_hub.ray, "wait", lambda refs, **kw: ([], list(refs)))
    monkeypatch.setattr(ray_hub.ray, "cancel", lambda ref, force=False: cancelled.append((ref, force)))
    return hub, cancelled


def test_a_run_that_ended_is_not_cancelled_while_its_task_writes_its_result(home, monkeypatch):
    hub, cancelled = hub_with_live_tasks(home, monkeypatch)
    run_id = hub.store.create_run(make_config(dataset="digits", model="mlp", epochs=1))
    hub.tick()  # the task starts...
    assert hub.claim(run_id, "node-a", 123)  # ...and claims its run
    hub.store.request_cancel(run_id)
    hub.store.update(run_id, status="stopped")  # the run answered: stopped, its test metrics still to be saved
    hub.tick()
    assert cancelled == [] and run_id not in hub.forced
    hub.store.save_result(run_id, {"status": "stopped", "test_acc": 0.5})  # the task's last write goes through
    assert hub.store.get_run(run_id)["status"] == "stopped" and hub.store.result(run_id)["test_acc"] == 0.5


def test_a_run_stopped_while_its_task_waits_for_room_has_the_task_cancelled(home, monkeypatch):
    hub, cancelled = hub_with_live_tasks(home, monkeypatch)
    run_id = hub.store.create_run(make_config(dataset="digits", model="mlp", epochs=1))
    hub.tick()  # a task is made, but waits for a free CPU: it has not claimed the run
    assert hub.store.request_cancel(run_id) == "stopped"
    hub.tick()
    assert cancelled == [(f"task of {run_id}", False)] and run_id in hub.forced
    assert not hub.claim(run_id, "node-a", 123)  # were the task to start after all, it would not run it


def test_the_hub_serves_owners_in_turn(home, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_CONCURRENT", "3")
    hub, _ = hub_with_live_tasks(home, monkeypatch)
    cfg = make_config(dataset="digits", model="mlp", epochs=1)
    ids = [hub.store.create_run(cfg, owner=owner) for owner in ("alice", "alice", "bob", "carol")]
    hub.tick()
    assert list(hub.tasks) == [ids[0], ids[2], ids[3]]


def test_a_run_past_the_time_limit_has_its_task_ended_and_is_stopped_with_the_reason(home, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_RUN_MINUTES", "1")
    hub, cancelled = hub_with_live_tasks(home, monkeypatch)
    run_id = hub.store.create_run(make_config(dataset="digits", model="mlp", epochs=1))
    hub.tick()
    assert hub.claim(run_id, "node-a", 123)
    hub.tick()
    assert cancelled == []  # within its minute
    hub.store.update(run_id, started=hub.store.get_run(run_id)["started"] - 61)
    clock = [1000.0]
    monkeypatch.setattr(ray_hub.time, "monotonic", lambda: clock[0])
    hub.tick()
    assert cancelled == [(f"task of {run_id}", False)] and run_id in hub.forced  # KeyboardInterrupt in the run
    clock[0] += ray_hub.TERM_GRACE_SECONDS - 1
    hub.tick()
    assert len(cancelled) == 1  # its grace period
    clock[0] += 2
    hub.tick()
    hub.tick()
    assert cancelled[1:] == [(f"task of {run_id}", True)]  # still there after it: killed, once
    hub.store.update(run_id, status="failed", error="interrupted")  # the interrupt reached it inside a Hub call
    monkeypatch.setattr(ray_hub.ray, "wait", lambda refs, **kw: (list(refs), []))  # the task ends
    monkeypatch.setattr(ray_hub.ray, "get", lambda ref: None)
    hub.tick()
    run = hub.store.get_run(run_id)
    assert run["status"] == "stopped" and run["error"].startswith("stopped after the 1-minute limit")


# --- where a run can go (engine/jobs/ray/placement.py) -------------------------------------------------------
def node(cpus, gpus=0, alive=True):
    return {"Alive": alive, "Resources": {"CPU": float(cpus), **({"GPU": float(gpus)} if gpus else {})}}


def test_auto_takes_a_gpu_where_the_cluster_has_one_and_gpu_tasks_get_a_fresh_worker():
    from engine.jobs.ray.placement import place_run

    assert place_run("auto", 2, [node(8), node(4, gpus=1)]) == \
        {"device": "cuda", "num_cpus": 2, "num_gpus": 1, "max_calls": 1}
    assert place_run("auto", 2, [node(8), node(4, gpus=1, alive=False)]) == \
        {"device": "cpu", "num_cpus": 2, "num_gpus": 0, "max_calls": 0}
    assert place_run("cpu", 1, [node(4, gpus=1)])["num_gpus"] == 0  # a cpu run never touches the GPU


@pytest.mark.parametrize("device, cpus, nodes, message", [
    ("cuda", 1, [node(8), node(8, gpus=1, alive=False)], "no node of the Ray cluster has a GPU"),
    ("cuda", 4, [node(8), node(2, gpus=1)], "no node of the Ray cluster has a GPU"),
    ("cpu", 16, [node(8), node(4)], "no node of the Ray cluster has 16 CPUs"),
    ("mps", 1, [node(8)], "device=mps cannot run on a Ray cluster"),
])
def test_a_run_no_node_can_take_is_refused_with_the_fix(device, cpus, nodes, message):
    from engine.config.options import ConfigError
    from engine.jobs.ray.placement import place_run

    with pytest.raises(ConfigError, match=message) as err:
        place_run(device, cpus, nodes)
    assert "Fix:" in str(err.value)


def test_the_hub_fails_a_run_no_node_can_take_at_once_and_reserves_a_gpu_for_auto(home, monkeypatch):
    hub = new_hub(home)
    store = hub.store
    options, calls = [], []

    class Remote:
        def __init__(self, max_calls):
            self.max_calls = max_calls

        def options(self, **kwargs):
            options.append({"max_calls": self.max_calls, **kwargs})
            return self

        def remote(self, *args):
            calls.append(args)
            return object()

    monkeypatch.setattr(ray_hub.ray, "remote", lambda **kw: (lambda fn: Remote(kw["max_calls"])))
    monkeypatch.setattr(ray_hub.ray, "get_runtime_context", lambda: type("C", (), {"current_actor": None})())
    monkeypatch.setattr(hub, "_data", lambda cfg: "data-ref")
    monkeypatch.setattr(ray_hub.ray, "nodes", lambda: [node(4)])
    cuda = store.create_run(make_config(dataset="digits", device="cuda"), backend="ray")
    hub._start(store.get_run(cuda))
    run = store.get_run(cuda)
    assert run["status"] == "failed" and "no node of the Ray cluster has a GPU" in run["error"] and not calls
    monkeypatch.setattr(ray_hub.ray, "nodes", lambda: [node(4), node(4, gpus=1)])
    auto = store.create_run(make_config(dataset="digits", device="auto"), backend="ray")
    hub._start(store.get_run(auto))
    assert options[-1]["num_gpus"] == 1 and options[-1]["max_calls"] == 1 and calls[-1][-1] == "cuda"
