"""The fair queue: a per-owner cap on active runs (atomic), owners served in turn, a wall-clock limit per run,
and a queued run's place in line with an estimated wait."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest
from jobhelpers import LONG, logs, wait_for

from engine.cli import main
from engine.config.run_config import make_config
from engine.jobs.local import JobRunner, Supervisor
from engine.jobs.procs import pid_alive
from engine.jobs.queue import describe, estimate_wait, fair_order, queue_info
from engine.jobs.quota import QuotaExceeded
from engine.jobs.settings import settings
from engine.jobs.store import RunStore

SUBMIT = ["submit", "--dataset", "digits", "--model", "mlp", "--epochs", "1"]


def runs(*owners):
    return [{"id": f"{o}{i}", "owner": o or None, "created": float(i)} for i, o in enumerate(owners)]


def test_owners_take_turns_first_come_first_served_within_a_round():
    queued = runs("alice", "alice", "alice", "bob", "", "carol")
    order = [r["id"] for r in fair_order(queued)]
    assert order == ["alice0", "bob3", "4", "carol5", "alice1", "alice2"]
    # an owner with a run already running waits for the others' first runs
    busy = [r["id"] for r in fair_order(queued, running=[{"owner": "bob"}, {"owner": "alice"}])]
    assert busy == ["4", "carol5", "alice0", "bob3", "alice1", "alice2"]
    assert fair_order([]) == []


def test_the_wait_counts_the_running_runs_and_those_ahead():
    assert estimate_wait([], [], slots=1) == 0.0
    assert estimate_wait([30.0], [], slots=1) == 30.0
    assert estimate_wait([30.0], [100.0, 50.0], slots=1) == 180.0
    assert estimate_wait([30.0, 10.0], [100.0], slots=2) == 30.0  # the run ahead takes the first free worker
    assert estimate_wait([30.0], [], slots=2) == 0.0  # a free worker
    assert describe({"position": 2, "wait_seconds": 61.0}) == "2nd in line, about 1 min"
    assert describe({"position": 1, "wait_seconds": 5.0}) == "next in line, starting soon"
    assert describe({"position": 11, "wait_seconds": 600.0}) == "11th in line, about 10 min"
    assert describe(None) == ""


def test_settings_read_the_caps_from_file_and_environment(home, monkeypatch):
    assert (settings(home)["max_active_per_owner"], settings(home)["max_run_minutes"]) == (2, 60.0)
    (home / "settings.json").write_text('{"max_active_per_owner": 5, "max_run_minutes": "oops"}')
    assert (settings(home)["max_active_per_owner"], settings(home)["max_run_minutes"]) == (5, 60.0)
    monkeypatch.setenv("NNLAB_MAX_ACTIVE_PER_OWNER", "3")
    monkeypatch.setenv("NNLAB_MAX_RUN_MINUTES", "0.5")
    assert (settings(home)["max_active_per_owner"], settings(home)["max_run_minutes"]) == (3, 0.5)


def test_concurrent_submits_never_pass_the_cap_together(home):
    store = RunStore(home)
    cfg = make_config(dataset="digits", epochs=1)
    store.create_run(cfg, owner="alice", max_active=3)
    barrier, outcome = threading.Barrier(8), []

    def submit():
        mine = RunStore(home)
        barrier.wait()
        try:
            outcome.append(mine.create_run(cfg, owner="alice", max_active=3))
        except QuotaExceeded as exc:
            outcome.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(isinstance(o, str) for o in outcome) == 2 and len(store.list_runs(["queued"])) == 3
    refused = next(o for o in outcome if isinstance(o, QuotaExceeded))
    assert "limit is 3 per person" in str(refused) and "cancel" in str(refused)
    store.create_run(cfg, owner="bob", max_active=3)  # others are not held back
    store.create_run(cfg, max_active=3)  # nor runs without an owner


def test_cli_submit_beyond_the_cap_exits_non_zero_and_others_still_queue(home, monkeypatch, no_workers, capsys):
    monkeypatch.setenv("NNLAB_MAX_ACTIVE_PER_OWNER", "2")
    for _ in range(2):
        assert main([*SUBMIT, "--owner", "alice"]) == 0
    third = subprocess.run([sys.executable, "-m", "engine", *SUBMIT, "--owner", "alice"], capture_output=True,
                           text=True, timeout=120)
    assert third.returncode != 0 and "Traceback" not in third.stderr
    assert "already has 2 runs queued or running" in third.stderr and "limit is 2 per person" in third.stderr
    assert main([*SUBMIT, "--owner", "bob"]) == 0
    assert main(SUBMIT) == 0 and main(SUBMIT) == 0  # no owner: the command line is not capped
    owners = sorted(r["owner"] or "-" for r in RunStore(home).list_runs(["queued"]))
    assert owners == ["-", "-", "alice", "alice", "bob"]


def test_the_teacher_is_not_capped_and_resume_counts_against_the_cap(home, no_workers, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_ACTIVE_PER_OWNER", "1")
    runner = JobRunner(home)
    cfg = make_config(dataset="digits", epochs=1)
    first = runner.submit(cfg, owner="alice")
    with pytest.raises(QuotaExceeded):
        runner.submit(cfg, owner="alice")
    assert runner.submit(cfg, owner="alice", teacher=True)
    stopped = runner.store.create_run(cfg, owner="alice", status="stopped")
    (runner.store.run_dir(stopped) / "last.pt").write_bytes(b"x")
    with pytest.raises(QuotaExceeded):
        runner.resume(stopped, owner="alice")
    assert runner.store.get_run(stopped)["status"] == "stopped"  # nothing changed
    runner.cancel(first)
    assert runner.resume(stopped, owner="teacher", teacher=True) == stopped


def test_the_supervisor_starts_owners_in_turn(home, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_CONCURRENT", "4")
    store = RunStore(home)
    cfg = make_config(dataset="digits", epochs=1)
    ids = [store.create_run(cfg, owner=o) for o in ("alice", "alice", "alice", "bob", "carol")]
    started = []
    supervisor = Supervisor(home)
    monkeypatch.setattr(supervisor, "_start", lambda run_id, n: started.append(run_id) or
                        supervisor.adopted.update({run_id: 0}))
    supervisor.tick()
    assert started == [ids[0], ids[3], ids[4], ids[1]]


def test_queue_position_and_wait_from_the_running_runs(home, monkeypatch, capsys):
    store = RunStore(home)
    cfg = make_config(dataset="digits", epochs=10)
    running = store.create_run(cfg, owner="alice", status="running")
    store.update(running, epoch=4)
    store.log_metrics(running, [(e, e, "train", "epoch_seconds", 6.0) for e in (1, 2, 3, 4)])
    a2, b1 = store.create_run(cfg, owner="alice"), store.create_run(cfg, owner="bob")
    assert queue_info(store, b1, slots=1) == {"position": 1, "wait_seconds": 36.0}
    assert queue_info(store, a2, slots=1) == {"position": 2, "wait_seconds": 96.0}
    assert queue_info(store, running, slots=1) is None
    assert main(["status", a2, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["queue_position"] == 2 and out["queue"] == "2nd in line, about 2 min"


def test_a_run_past_the_time_limit_is_stopped_with_the_reason(local_runner):
    (local_runner.home / "settings.json").write_text('{"max_run_minutes": 0.1}')
    run_id = local_runner.submit(make_config(**LONG))
    worker = wait_for(lambda: local_runner.store.get_run(run_id)["worker_pid"], 60, "the worker")
    run = local_runner.wait(run_id, timeout=120)
    assert run["status"] == "stopped", logs(local_runner, run_id)
    assert run["error"].startswith("stopped after the 0.1-minute limit") and run["worker_pid"] is None
    assert not pid_alive(worker) and run["epoch"] < LONG["epochs"]


def test_train_page_shows_the_place_in_line_and_refuses_a_run_beyond_the_cap(home, no_workers, monkeypatch):
    from pagehelpers import open_page, progress_texts

    monkeypatch.setenv("NNLAB_MAX_ACTIVE_PER_OWNER", "2")
    store = RunStore(home)
    other = store.create_run(make_config(dataset="digits", epochs=10), owner="someone", status="running")
    store.update(other, epoch=5)
    store.log_metrics(other, [(5, 50, "train", "epoch_seconds", 40.0)])
    at = open_page("1_Train.py")
    at.number_input(key="train_epochs").set_value(4).run()
    at.button(key="train_start").click().run()
    assert progress_texts(at) == ["Epoch 0 of 4 finished · next in line, about 3 min"]  # 5 epochs x 40 s left
    at.button(key="train_start").click().run()
    assert progress_texts(at) == ["Epoch 0 of 4 finished · 2nd in line, about 6 min"]  # + 4 x 40 s ahead
    at.button(key="train_start").click().run()
    assert any("limit is 2 per person" in e.value for e in at.error) and not at.exception
    mine = [r for r in store.list_runs(["queued"]) if r["owner"] == at.session_state["nnlab_owner"]]
    assert len(mine) == 2


def test_runs_page_shows_a_queued_runs_place_in_line(home, no_workers):
    from pagehelpers import open_page

    store = RunStore(home)
    cfg = make_config(dataset="digits", epochs=3)
    store.create_run(cfg, owner="alice")
    queued = store.create_run(cfg, owner="alice")
    at = open_page("2_Runs.py", run=queued)
    assert not at.exception
    assert any(i.value.startswith("This run is queued: 2nd in line") for i in at.info)
