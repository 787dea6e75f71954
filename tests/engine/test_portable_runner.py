"""The job runner without POSIX-only calls (no fcntl, no /proc: psutil and filelock), and the scrubbed
environment its children get (no teacher password, no other secrets)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from jobhelpers import LONG, running_worker, stop_runs_and_supervisor, supervisor_pid

from engine.config.run_config import make_config
from engine.jobs import local, procs
from engine.jobs.local import JobRunner, Supervisor
from engine.jobs.store import RunStore

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {"NNLAB_TEACHER_PASSWORD": "hunter2", "GITHUB_TOKEN": "ghp_x", "AWS_SECRET_ACCESS_KEY": "aws",
           "OPENAI_API_KEY": "sk-x", "SOME_UNRELATED_VARIABLE": "x"}
NO_FCNTL = '''import sys, os
class _NoFcntl:
    def find_spec(self, name, path=None, target=None):
        if name == "fcntl":
            raise ImportError("fcntl is blocked: a simulated platform without it")
sys.meta_path.insert(0, _NoFcntl())
sys.modules.pop("fcntl", None)
with open(os.path.join(os.path.dirname(__file__), "started.txt"), "a") as fh:
    fh.write(" ".join(sys.argv[1:4]) + "\\n")
'''


def test_the_scrubbed_environment_keeps_what_a_worker_needs_and_no_secret():
    environ = {**SECRETS, "PATH": "/bin", "HOME": "/home/t", "NNLAB_HOME": "/h", "PYTHONPATH": "/p",
               "OMP_NUM_THREADS": "1", "LC_ALL": "C.UTF-8", "HF_HUB_OFFLINE": "1", "HF_TOKEN": "hf_x",
               "CUDA_VISIBLE_DEVICES": "0", "SystemRoot": r"C:\Windows"}
    env = procs.scrubbed_env({"NNLAB_HOME": "/mine"}, environ=environ)
    assert env == {"PATH": "/bin", "HOME": "/home/t", "NNLAB_HOME": "/mine", "PYTHONPATH": "/p", "OMP_NUM_THREADS": "1",
                   "LC_ALL": "C.UTF-8", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "0", "SystemRoot": r"C:\Windows"}


def test_scrubbing_a_running_process_environment_removes_the_secrets_and_keeps_what_is_asked():
    environ = {**SECRETS, "PATH": "/bin", "NNLAB_HOME": "/h", "HF_TOKEN": "hf_x", "RAY_ADDRESS": "10.0.0.1:6379",
               "RAY_AUTH_TOKEN": "ray_t", "EDITOR": "vi"}
    removed = procs.scrub_environ(("RAY_",), environ=environ)
    assert environ == {"PATH": "/bin", "NNLAB_HOME": "/h", "RAY_ADDRESS": "10.0.0.1:6379", "RAY_AUTH_TOKEN": "ray_t"}
    assert set(removed) == {*SECRETS, "HF_TOKEN", "EDITOR"}


def test_live_workers_and_the_supervisor_run_without_the_servers_secrets(home, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    runner = JobRunner(home)
    try:
        run_id = runner.submit(make_config(**LONG))
        worker = running_worker(runner, run_id)
        for pid in (worker, supervisor_pid(home)):
            env = psutil.Process(pid).environ()
            assert not set(SECRETS) & set(env) and "hunter2" not in env.values()
            assert env["NNLAB_HOME"] == str(home) and env["PATH"]
    finally:
        stop_runs_and_supervisor(home)


def test_the_tuning_page_starts_a_study_without_the_servers_secrets(home, monkeypatch):
    from ui import tuning

    monkeypatch.setenv("NNLAB_TEACHER_PASSWORD", "hunter2")
    seen = {}

    class Proc:
        pid = 4242

    monkeypatch.setattr(tuning.subprocess, "Popen", lambda argv, **kw: seen.update(kw) or Proc())
    tuning.launch(str(home), ["python", "-m", "engine"], "s1")
    assert "NNLAB_TEACHER_PASSWORD" not in seen["env"] and seen["env"]["NNLAB_HOME"] == str(home)
    assert seen.get("start_new_session") or seen.get("creationflags")


def test_submit_wait_runs_to_done_where_fcntl_does_not_exist(tmp_path):
    blocker = tmp_path / "nofcntl"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(NO_FCNTL)
    home = tmp_path / "home"
    env = {**procs.scrubbed_env(), "PYTHONPATH": str(blocker), "NNLAB_HOME": str(home)}
    check = subprocess.run([sys.executable, "-c", "import fcntl"], env=env, capture_output=True, text=True)
    assert check.returncode != 0 and "fcntl is blocked" in check.stderr
    try:
        done = subprocess.run([sys.executable, "-m", "engine", "submit", "--dataset", "digits", "--model", "mlp",
                               "--epochs", "2", "--wait"], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.splitlines()[-1])["status"] == "done"
        started = (blocker / "started.txt").read_text()
        assert "supervise" in started and "worker" in started  # the supervisor and the worker ran without fcntl too
    finally:
        stop_runs_and_supervisor(home)


class FakeProcess:
    """psutil.Process on a platform whose process table psutil reads without /proc (macOS, Windows)."""
    table: dict[int, dict] = {}
    signals: list[tuple[int, str]] = []

    def __init__(self, pid):
        if pid not in self.table:
            raise psutil.NoSuchProcess(pid)
        self.pid, self.info = pid, self.table[pid]

    def status(self):
        if self.info.get("denied"):
            raise psutil.AccessDenied(self.pid)
        return self.info.get("status", psutil.STATUS_RUNNING)

    def cmdline(self):
        if self.info.get("denied"):
            raise psutil.AccessDenied(self.pid)
        return self.info["cmdline"]

    def create_time(self):
        return self.info["created"]

    def terminate(self):
        self.signals.append((self.pid, "terminate"))

    def kill(self):
        self.signals.append((self.pid, "kill"))


@pytest.fixture
def fake_platform(monkeypatch):
    """No /proc: reading it fails; process facts come only through psutil.Process (faked)."""
    import builtins

    real_open = builtins.open

    def no_proc_open(file, *args, **kwargs):
        if str(file).startswith("/proc"):
            raise FileNotFoundError(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", no_proc_open)
    monkeypatch.setattr(procs.psutil, "Process", FakeProcess)
    FakeProcess.table, FakeProcess.signals = {}, []
    return FakeProcess


def test_process_checks_on_a_platform_without_proc(fake_platform):
    fake_platform.table.update({
        10: {"cmdline": ["python", "-m", "engine", "--home", "/h", "supervise"], "created": 0.0},
        11: {"cmdline": ["python", "-m", "engine", "worker", "R1"], "status": psutil.STATUS_ZOMBIE, "created": 0.0},
        12: {"denied": True, "created": 0.0},  # another user's process (macOS)
    })
    assert procs.pid_alive(10) and not procs.pid_alive(11) and procs.pid_alive(12) and not procs.pid_alive(99)
    assert procs.runs_engine(10, "supervise", "/h") and not procs.runs_engine(10, "supervise", "/other")
    assert not procs.runs_engine(12, "worker")  # unreadable: never taken for ours
    assert local._is_worker_of(11, "R1") and not local._is_worker_of(10, "R1") and local._is_worker_of(12, "R1")
    assert procs.detached_kwargs("win32")["creationflags"] & 0x8 and procs.detached_kwargs("linux") == {
        "start_new_session": True}


def test_the_time_limit_signals_only_the_runs_own_worker(home, fake_platform, monkeypatch):
    monkeypatch.setenv("NNLAB_MAX_RUN_MINUTES", "1")
    store = RunStore(home)
    ours, reused = (store.create_run(make_config(dataset="digits"), status="running") for _ in range(2))
    fake_platform.table.update({
        20: {"cmdline": ["python", "-m", "engine", "--home", str(home), "worker", ours], "created": 0.0},
        21: {"cmdline": ["vim", "notes.txt"], "created": 0.0},  # the other run's pid, reused by another program
    })
    supervisor = Supervisor(home)
    supervisor.adopted = {ours: 20, reused: 21}
    monkeypatch.setattr(local, "pid_alive", lambda pid: pid in fake_platform.table)
    supervisor.tick()
    assert fake_platform.signals == [(20, "terminate")]
    supervisor.limited[ours] = (1.0, 0.0)  # the grace period is over
    supervisor.tick()
    assert fake_platform.signals == [(20, "terminate"), (20, "kill")]
    del fake_platform.table[20]  # the worker is gone
    supervisor.tick()
    run = store.get_run(ours)
    assert run["status"] == "stopped" and run["error"].startswith("stopped after the 1-minute limit")
    assert store.get_run(reused)["status"] == "running"  # never signalled, still watched


def test_stop_supervisor_leaves_a_reused_pid_alone(home, fake_platform):
    (home / "supervisor.pid").write_text("30")
    fake_platform.table[30] = {"cmdline": ["bash"], "created": 0.0}
    assert not local.stop_supervisor(home) and fake_platform.signals == []
    fake_platform.table[30] = {"cmdline": ["python", "-m", "engine", "--home", str(home), "supervise"], "created": 0.0}
    assert local.stop_supervisor(home) and fake_platform.signals == [(30, "terminate")]


def test_the_jobs_package_uses_neither_fcntl_nor_proc():
    for path in (ROOT / "engine" / "jobs").rglob("*.py"):
        text = path.read_text()
        assert "import fcntl" not in text and '"/proc' not in text and "f\"/proc" not in text, path
