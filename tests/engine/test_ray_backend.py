"""The Ray backend on a local two-node cluster (127.0.0.1): four runs through the dashboard's JobRunner,
one cancelled mid-run, one whose node is removed mid-run (interrupted, then resumed on another node),
and the CLI's `submit` with NNLAB_BACKEND=ray. The JobRunner suite itself runs against both backends
in tests/test_jobrunner.py.

The runs train on a CSV table that exists only in the head's data home, and every node has its own
data home: a worker could only have the data through Ray, and only the head's folders may hold files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from jobhelpers import LONG, wait_for
from rayhelpers import NODE_SECRETS, add_worker, worker_node

from engine.config.run_config import make_config
from engine.data import csvdata
from engine.jobs.local import TERM_GRACE_SECONDS
from engine.training.checkpoint import load
from ui.tables import runs_frame

TABLE = "height,weight,colour,label\n" + "".join(
    f"{150 + i % 50},{50 + (i * 7) % 30},{'red' if i % 3 else 'blue'},{'a' if (i * 13) % 7 > 3 else 'b'}\n"
    for i in range(1500))


def table_config(epochs: int):
    return make_config(**{**LONG, "dataset": "csv", "data_args": {"table": "people", "target": "label"},
                          "epochs": epochs})


def test_four_runs_one_cancelled_one_node_lost_and_resumed(ray_cluster, ray_runner, tmp_path):
    runner = ray_runner
    (tmp_path / "people.csv").write_text(TABLE)
    csvdata.fetch(runner.home, from_dir=tmp_path / "people.csv")
    first, second = runner.submit(table_config(40)), runner.submit(table_config(40))

    def both_training():
        runs = [runner.store.get_run(r) for r in (first, second)]
        return all(r["status"] == "running" and r["epoch"] >= 1 for r in runs) and runs

    runs = wait_for(both_training, 120, "both runs to train an epoch")
    assert len({r["node"] for r in runs}) == 2  # one run per node: each asks for the node's only CPU
    on_worker = [r for r in runs if worker_node(ray_cluster, r["node"])]
    assert len(on_worker) == 1
    victim, node = on_worker[0]["id"], worker_node(ray_cluster, on_worker[0]["node"])
    cancelled = first if victim == second else second
    short = [runner.submit(table_config(3)), runner.submit(make_config(**{**LONG, "epochs": 3}))]

    t0 = time.monotonic()
    runner.cancel(cancelled)
    stopped = runner.wait(cancelled, timeout=30)
    took = time.monotonic() - t0
    print(f"cancelled run stopped (test metrics stored) {took:.2f}s after cancel")
    assert stopped["status"] == "stopped" and took < 10  # on a loaded 2-core machine; ~2 s when idle

    t0 = time.monotonic()
    ray_cluster.remove_node(node)
    lost = runner.wait(victim, timeout=60)
    print(f"node loss seen in {time.monotonic() - t0:.2f}s: {lost['error']}")
    assert lost["status"] == "interrupted" and "Resume it" in lost["error"]
    saved = load(runner.store.run_dir(victim) / "last.pt")["epoch"]
    assert saved >= 1  # its checkpoints reached the head while it ran

    for run_id in short:
        run = runner.wait(run_id, timeout=120)
        assert run["status"] == "done", (run["status"], run["node"], run["error"])
    add_worker(ray_cluster, ray_cluster.nnlab_root, "worker-2")
    runner.resume(victim)
    resumed = runner.wait(victim, timeout=180)
    assert resumed["status"] == "done" and resumed["epoch"] == 40
    assert resumed["node"] != lost["node"]  # resumed elsewhere
    epochs = runner.store.metrics(victim).query("split == 'valid' and name == 'loss'")["epoch"].tolist()
    assert epochs == list(range(0, 41))  # every epoch once across the two nodes

    for run_id in (cancelled, victim, *short):
        run, folder = runner.store.get_run(run_id), runner.store.run_dir(run_id)
        assert "(ray " in run["node"]
        assert not runner.store.metrics(run_id).empty
        assert load(folder / "last.pt")["epoch"] >= 1
        if run["status"] == "done":
            assert load(folder / "best.pt")["config"]["dataset"] in ("csv", "digits")
            assert runner.store.result(run_id)["test_acc"] is not None
            assert list((folder / "tensorboard").iterdir())  # the run's other files came home too
    table = runs_frame([runner.store.get_run(r) for r in (cancelled, victim, *short)], {})
    assert table["node"].str.contains("(ray ", regex=False).all()  # the Runs page shows where each ran
    for node_home in ray_cluster.nnlab_root.iterdir():  # nodes kept nothing: no table, no run folders
        assert not list(node_home.rglob("people.csv")) and not list(node_home.glob("runs/*"))


def test_cli_submit_with_the_ray_backend_finishes_with_a_loadable_best_pt(ray_cluster, ray_runner):
    env = {**os.environ, "NNLAB_BACKEND": "ray", "NNLAB_RAY_ADDRESS": ray_cluster.address,
           "NNLAB_HOME": str(ray_runner.home)}
    out = subprocess.run([sys.executable, "-m", "engine", "submit", "--dataset", "digits", "--model", "mlp",
                          "--epochs", "3", "--wait"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    assert lines[-1]["status"] == "done", lines
    status = subprocess.run([sys.executable, "-m", "engine", "status", lines[-1]["run_id"], "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert json.loads(status.stdout)["status"] == "done"
    best = load(ray_runner.store.run_dir(lines[-1]["run_id"]) / "best.pt")
    assert best["epoch"] >= 1 and best["config"]["epochs"] == 3


def test_the_dashboard_trains_through_ray_and_shows_the_node(ray_runner, monkeypatch):
    """NNLAB_BACKEND=ray: the Train page's Start queues the run for the Ray Hub (no local supervisor), its
    live view shows the epochs the remote task reports, and the Runs table names the Ray node."""
    from pagehelpers import open_page, progress_texts

    from engine.jobs.local import JobRunner

    monkeypatch.setenv("NNLAB_BACKEND", "ray")
    local = []
    monkeypatch.setattr(JobRunner, "ensure_supervisor", lambda self: local.append(self.home))
    at = open_page("1_Train.py")
    at.number_input(key="train_epochs").set_value(3).run()
    at.button(key="train_start").click().run()
    assert not at.exception
    run_id = at.session_state["train_run_id"]
    done = ray_runner.wait(run_id, timeout=120)
    assert done["status"] == "done" and "(ray " in done["node"] and not local
    at.run()
    [text] = progress_texts(at)
    assert text.startswith("Epoch 3 of 3 finished")  # then the kept epoch, which the valid loss picks
    frame = runs_frame(ray_runner.store.list_runs(), {run_id: ray_runner.store.result(run_id)})
    assert frame.loc[frame["run"] == run_id, "node"].str.contains(r"\(ray ").all()


def test_a_run_past_its_time_limit_is_interrupted_and_stopped_and_ray_tasks_see_no_secret(ray_cluster, ray_runner):
    import ray

    from engine.jobs.procs import scrub_environ
    from engine.jobs.ray.worker import RAY_OWN

    # a runtime_env of its own gives the probe a new worker process, started with the node's environment: a pooled
    # worker that ran an earlier test's run_task has scrubbed its os.environ already
    @ray.remote(num_cpus=1, runtime_env={"env_vars": {"NNLAB_ENV_PROBE": "1"}})
    def environment() -> tuple[dict, dict]:
        before = dict(os.environ)
        scrub_environ(RAY_OWN)  # what run_task does first
        return before, dict(os.environ)

    before, after = ray.get(environment.remote(), timeout=120)
    assert before["NNLAB_TEACHER_PASSWORD"] == NODE_SECRETS["NNLAB_TEACHER_PASSWORD"]  # the node has them
    assert not set(NODE_SECRETS) & set(after) and after["NNLAB_HOME"] == before["NNLAB_HOME"]

    (ray_runner.home / "settings.json").write_text(json.dumps({"max_run_minutes": 0.1}))  # 6 s
    run_id = ray_runner.submit(make_config(**LONG))
    run = ray_runner.wait(run_id, timeout=120)
    took = run["finished"] - run["started"]
    print(f"time-limited Ray run stopped {took:.1f}s after it started (limit 6 s)")
    assert run["status"] == "stopped" and "0.1-minute limit (max_run_minutes)" in run["error"], run["error"]
    assert took < 6 + TERM_GRACE_SECONDS  # interrupted, not killed after the grace period
