"""Faults a classroom server meets: a supervisor killed mid-lesson, hostile file names, odd headlines.
(The worker kill -9 / resume, disk-full, lr=100 and store-concurrency rows live in test_jobs.py,
test_checkpoint.py, test_trainer.py and test_store.py.)"""

from __future__ import annotations

import os
import signal
import time

import pytest
from jobhelpers import LONG, running_worker, supervisor_pid, wait_for

from engine.config.run_config import make_config
from engine.jobs.procs import pid_alive
from engine.jobs.store import RunStore
from engine.paths import safe_child
from engine.predict.predictor import InputError, Predictor
from engine.training.run import execute


def test_supervisor_killed_mid_run_is_replaced_and_reattaches_to_the_live_worker(runner, home):
    first = runner.submit(make_config(**LONG))
    worker = running_worker(runner, first)
    old = supervisor_pid(home)
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: not pid_alive(old), 10, "the old supervisor to die")
    second = runner.submit(make_config(**{**LONG, "epochs": 2}))  # starts a new supervisor
    wait_for(lambda: supervisor_pid(home) not in (None, old), 120, "a new supervisor")
    time.sleep(2)  # a few supervisor ticks
    run = runner.store.get_run(first)
    assert run["status"] == "running" and run["worker_pid"] == worker and pid_alive(worker)  # re-attached
    assert runner.store.get_run(second)["status"] == "queued"  # the queue (1 slot) is still honoured
    runner.cancel(first)
    assert runner.wait(first, timeout=30)["status"] == "stopped"
    assert runner.wait(second, timeout=120)["status"] == "done"  # the queued run still ran


def test_supervisor_and_worker_killed_marks_the_run_interrupted_on_restart(runner, home):
    run_id = runner.submit(make_config(**LONG))
    worker = running_worker(runner, run_id)
    old = supervisor_pid(home)
    os.kill(old, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)
    wait_for(lambda: not pid_alive(worker) and not pid_alive(old), 10, "the worker and supervisor to die")
    t0 = time.monotonic()
    runner.ensure_supervisor()
    run = wait_for(lambda: (r := runner.store.get_run(run_id))["status"] == "interrupted" and r, 120,
                   "the run to be marked interrupted")
    print(f"interrupted {time.monotonic() - t0:.1f}s after the supervisor restart")
    assert "Resume" in run["error"] and run["worker_pid"] is None


def test_a_starting_supervisor_leaves_an_in_process_cli_run_alone(runner, home):
    """`python -m engine train` trains in its own process (no worker); a supervisor started meanwhile (anyone
    queueing a run) must not call that run interrupted, and marks it so only once that process is gone."""
    import subprocess
    import sys

    from engine.jobs.local import Supervisor

    cmd = [sys.executable, "-m", "engine", "--home", str(home), "train", "--dataset", "digits", "--model", "mlp",
           "--epochs", "500", "--no-early-stopping", "--width", "16", "--layers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        run = wait_for(lambda: next((r for r in runner.store.list_runs(["running"]) if r["epoch"] >= 1), None), 120,
                       "the CLI run to finish an epoch")
        supervisor = Supervisor(home)
        supervisor.recover()
        supervisor.tick()
        assert runner.store.get_run(run["id"])["status"] == "running"
        assert supervisor.adopted == {run["id"]: proc.pid}
        proc.kill()
        proc.wait()
        supervisor.tick()
        after = runner.store.get_run(run["id"])
        assert after["status"] == "interrupted" and "Resume" in after["error"]
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..\\..\\evil.pt", "....", ".hidden.pt",
                                  "a/b/../../c.pt", ""])
def test_uploaded_file_names_stay_under_the_data_home(home, name):
    root = home / "uploads"
    root.mkdir()
    path = safe_child(root, name)
    assert path.parent == root.resolve()
    assert ".." not in path.name and not path.name.startswith(".")


@pytest.fixture(scope="module")
def news_predictor(tmp_path_factory):
    """A single-layer news model trained for one epoch on the real split (skipped without it)."""
    from conftest import shared

    from engine.data import news

    home = tmp_path_factory.mktemp("faults_home")
    news.fetch(home, from_dir=shared("news_aggregator"))
    store = RunStore(home)
    run_id = store.create_run(make_config(dataset="news", model="linear", epochs=1), status="running")
    assert execute(store, run_id)["status"] == "done"
    return Predictor.from_run(store, run_id)


@pytest.mark.parametrize("text", ["", "   \t\n ", "x" * 10_000])
def test_bad_headlines_get_a_message_naming_the_fix(news_predictor, text):
    with pytest.raises(InputError) as err:
        news_predictor.predict_texts([text])
    assert "headline" in str(err.value)


@pytest.mark.parametrize("text", ["🚀🔥 Stocks soar 📈", "البنك المركزي يرفع أسعار الفائدة", "zxqv blorptastic quibbleworth",
                                  "Apple\u200b unveils\u00a0iPhone"])
def test_odd_headlines_are_predicted_with_unknown_words_shown(news_predictor, text):
    item = news_predictor.predict_texts([text])[0]
    assert item["label"] in news_predictor.classes
    assert abs(sum(item["probs"].values()) - 1) < 1e-4
    assert all(isinstance(t["known"], bool) for t in item["tokens"])
    if text.startswith("zxqv"):
        assert item["unknown"] == ["zxqv", "blorptastic", "quibbleworth"]
