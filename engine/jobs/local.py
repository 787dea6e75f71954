"""JobRunner: runs training in worker *processes*, never in the caller's thread.

The RunStore is the queue. `submit` writes a `queued` run and makes sure a supervisor is alive;
the supervisor (one per data home, guarded by a file lock, started on demand as its own process
session so it outlives the Streamlit server or CLI that started it) starts one worker process per
run up to `max_concurrent`, watches them, and marks a run whose worker died `interrupted` — never
left `running`. Cancel is a flag in the store that the worker checks between batches.

The interface (`submit`, `cancel`, `status`, `resume`) is backend-agnostic: engine/jobs picks
this local backend or the Ray one (engine/jobs/ray/backend.py) from `settings()["backend"]`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from engine import atomic
from engine.config.run_config import RunConfig
from engine.jobs.procs import (
    cmdline,
    detached_kwargs,
    end_process,
    file_lock,
    pid_alive,
    runs_engine,
    scrubbed_env,
    started_at,
)
from engine.jobs.queue import describe, fair_order, queue_info
from engine.jobs.settings import settings
from engine.jobs.store import FINISHED, RunStore
from engine.paths import data_home
from engine.training.threads import thread_env

IDLE_EXIT_SECONDS = 60.0
POLL_SECONDS = 0.25
TERM_GRACE_SECONDS = 10.0  # after SIGTERM at the time limit, a worker still there is killed


def supervisor_pid(home=None) -> int | None:
    """The pid the supervisor of `home` wrote when it took the lock (None if there is none)."""
    path = data_home(home) / "supervisor.pid"
    text = path.read_text().strip() if path.exists() else ""
    return int(text) if text.isdigit() else None


def stop_supervisor(home=None) -> bool:
    """Ask the supervisor of `home` to end (it finishes its tick and exits; its workers live on). Only that very
    process: the recorded pid must still run `engine --home HOME supervise`, not a reused pid."""
    home = data_home(home)
    pid = supervisor_pid(home)
    if not runs_engine(pid, "supervise", str(home)):
        return False
    end_process(pid)
    return True


class JobRunner:
    """Local process backend."""

    backend = "local"

    def __init__(self, home=None, python: str | None = None):
        self.home = data_home(home)
        self.store = RunStore(self.home)
        self.python = python or sys.executable

    def submit(self, config: RunConfig, owner: str | None = None, parent: str | None = None,
               teacher: bool = False) -> str:
        """Queue a run. An `owner` (a browser session, `submit --owner`) may have `max_active_per_owner` runs
        queued or running (QuotaExceeded beyond); the teacher and runs without an owner are not capped."""
        run_id = self.store.create_run(config, owner=owner, status="queued", parent=parent, backend=self.backend,
                                       max_active=self._cap(owner, teacher))
        self.ensure_supervisor()
        return run_id

    def _cap(self, owner: str | None, teacher: bool) -> int | None:
        return None if owner is None or teacher else settings(self.home)["max_active_per_owner"]

    def cancel(self, run_id: str) -> str:
        return self.store.request_cancel(run_id)

    def status(self, run_id: str) -> dict:
        run = self.store.get_run(run_id)
        out = {k: run[k] for k in ("id", "status", "epoch", "max_epochs", "worker_pid", "error", "device", "node")}
        info = self.queue_info(run_id) if run["status"] == "queued" else None
        out.update(queue_position=info and info["position"], wait_seconds=info and info["wait_seconds"],
                   queue=describe(info))
        return out

    def queue_info(self, run_id: str) -> dict | None:
        """A queued run's place in line (1: next) and estimated wait in seconds; None if it is not queued."""
        return queue_info(self.store, run_id, settings(self.home)["max_concurrent"])

    def resume(self, run_id: str, owner: str | None = None, teacher: bool = False) -> str:
        """Queue an interrupted (or stopped) run to continue from its last.pt at the next epoch. Asked by an
        `owner` (a browser session), the run's owner's quota applies as in `submit`."""
        run = self.store.get_run(run_id)
        if not (self.store.run_dir(run_id) / "last.pt").exists():
            raise ValueError(f"run {run_id} has no last.pt to resume from (it stopped before its first epoch "
                             "ended). Fix: start it again as a new run.")
        if not self.store.requeue(run_id, ["interrupted", "stopped", "failed"], max_active=self._cap(owner, teacher),
                                  resume=1, error=None, cancel_requested=0, finished=None, backend=self.backend):
            raise ValueError(f"run {run_id} is {run['status']}; only interrupted, stopped or failed runs resume")
        self.ensure_supervisor()
        return run_id

    def ensure_supervisor(self) -> None:
        from filelock import Timeout

        try:
            with file_lock(self.home / "supervisor.lock"):
                pass
        except Timeout:
            return  # a supervisor holds the lock
        log = open(self.home / "supervisor.log", "ab")  # noqa: SIM115 (handed to the child)
        subprocess.Popen(
            [self.python, "-m", "engine", "--home", str(self.home), "supervise"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=scrubbed_env({"NNLAB_HOME": str(self.home)}),
            **detached_kwargs(),
        )
        log.close()

    def wait(self, run_id: str, timeout: float = 600.0, statuses=FINISHED) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.store.get_run(run_id)
            if run["status"] in statuses:
                return run
            time.sleep(0.2)
        raise TimeoutError(f"run {run_id} still {run['status']} after {timeout:.0f}s")


class Supervisor:
    """Starts queued runs as worker processes, owners in turn (`fair_order`), watches them and ends a run that
    passes `max_run_minutes`. One per data home."""

    def __init__(self, home=None, python: str | None = None):
        self.home = data_home(home)
        self.store = RunStore(self.home)
        self.python = python or sys.executable
        self.children: dict[str, subprocess.Popen] = {}
        self.adopted: dict[str, int] = {}  # runs whose worker outlived an earlier supervisor
        self.limited: dict[str, tuple[float, float]] = {}  # run id -> (limit in minutes, monotonic kill time)
        self._stop = False

    def run_forever(self, idle_exit: float = IDLE_EXIT_SECONDS) -> int:
        from filelock import Timeout

        lock = file_lock(self.home / "supervisor.lock")
        try:
            lock.acquire()
        except Timeout:
            return 0  # another supervisor serves this home
        atomic.write_text(self.home / "supervisor.pid", str(os.getpid()))
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "_stop", True))
        self.recover()
        idle_since = time.monotonic()
        while not self._stop:
            busy = self.tick()
            if busy:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_exit:
                break
            time.sleep(POLL_SECONDS)
        (self.home / "supervisor.pid").unlink(missing_ok=True)
        lock.release()  # release first, then look once more: a run queued meanwhile gets a new supervisor
        if not self._stop and self.store.list_runs(["queued"]):
            JobRunner(self.home, self.python).ensure_supervisor()
        return 0

    def recover(self) -> None:
        """After a restart: re-attach to live workers, mark dead ones interrupted."""
        for run in self.store.list_runs(["running"]):
            if not _local(run):
                continue  # a Ray task: the Ray backend's Hub watches it
            if pid_alive(run["worker_pid"]) and _is_worker_of(run["worker_pid"], run["id"]):
                self.adopted[run["id"]] = run["worker_pid"]
            else:
                self._interrupted(run["id"], "the worker process was gone when the supervisor restarted")

    def tick(self) -> bool:
        """One pass: reap finished workers, end those past the time limit, start queued runs owners in turn.
        Returns whether anything is active."""
        for run_id, proc in list(self.children.items()):
            code = proc.poll()
            if code is not None:
                del self.children[run_id]
                if code < 0:
                    reason = f"the worker was killed by signal {-code} ({signal.Signals(-code).name})"
                else:
                    reason = f"the worker exited with code {code} before finishing"
                self._ended(run_id, reason)
        for run_id, pid in list(self.adopted.items()):
            if not pid_alive(pid):
                del self.adopted[run_id]
                self._ended(run_id, "the worker process died")
        # a run marked running whose worker is unknown to us and dead (e.g. a CLI `train` killed)
        running = self.store.list_runs(["running"])
        for run in running:
            if run["id"] not in self.children and run["id"] not in self.adopted and run["worker_pid"] \
                    and _local(run) and not pid_alive(run["worker_pid"]):
                self._interrupted(run["id"], "the worker process died")
        jobs = settings(self.home)
        self._enforce_time_limit(jobs["max_run_minutes"])
        queued = fair_order(self.store.list_runs(["queued"]), running)
        for run in queued:
            if len(self.children) + len(self.adopted) >= jobs["max_concurrent"]:
                break
            self._start(run["id"], jobs["max_concurrent"])
        return bool(self.children or self.adopted or queued)

    def _enforce_time_limit(self, minutes: float) -> None:
        """A worker that has run `minutes` gets SIGTERM, and SIGKILL TERM_GRACE_SECONDS later if it is still
        there; each signal only after checking that the pid still is that run's worker."""
        workers = {run_id: proc.pid for run_id, proc in self.children.items()} | self.adopted
        for run_id, pid in workers.items():
            if run_id in self.limited:
                if time.monotonic() > self.limited[run_id][1] and runs_engine(pid, "worker", run_id):
                    end_process(pid, force=True)
                continue
            began = started_at(pid)
            if not minutes or began is None or time.time() - began < minutes * 60:
                continue
            if runs_engine(pid, "worker", run_id):
                self.limited[run_id] = (minutes, time.monotonic() + TERM_GRACE_SECONDS)
                end_process(pid)

    def _start(self, run_id: str, concurrent: int) -> None:
        if not self.store.transition(run_id, ["queued"], status="running", started=time.time()):
            return  # cancelled meanwhile
        folder = self.store.run_dir(run_id)
        log = open(folder / "worker.log", "ab")  # noqa: SIM115 (handed to the child)
        proc = subprocess.Popen(
            [self.python, "-m", "engine", "--home", str(self.home), "worker", run_id, "--concurrent", str(concurrent)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env=scrubbed_env({"NNLAB_HOME": str(self.home), **thread_env(concurrent)}),
        )
        log.close()
        self.store.update(run_id, worker_pid=proc.pid)
        self.children[run_id] = proc

    def _ended(self, run_id: str, reason: str) -> None:
        """A worker is gone: a run it left `running` was stopped at the time limit, or is interrupted."""
        if run_id not in self.limited:
            self._interrupted(run_id, reason)
            return
        minutes, _ = self.limited.pop(run_id)
        epoch = self.store.get_run(run_id)["epoch"]
        kept = f"its last checkpoint (epoch {epoch}) is kept: resume it to go on" if epoch else \
            "it ended before its first epoch"
        self.store.transition(run_id, ["running"], status="stopped", worker_pid=None, finished=time.time(),
                              error=f"stopped after the {minutes:g}-minute limit (max_run_minutes); {kept}")

    def _interrupted(self, run_id: str, reason: str) -> None:
        self.store.transition(run_id, ["running"], status="interrupted", worker_pid=None, finished=time.time(),
                              error=f"{reason}. Resume it to continue from its last checkpoint.")


def _local(run: dict) -> bool:
    return run.get("backend") != "ray"


def _is_worker_of(pid: int, run_id: str) -> bool:
    """Whether `pid` trains `run_id`: its worker (the run id on the command line), or an in-process
    `python -m engine train|tune` (whose runs are created inside the process, so not on its command line)."""
    args = cmdline(pid)
    if args is None:
        return True  # alive but unreadable (another user's process on macOS): trust the pid, never signal it
    in_process = "engine" in args and any(c in args for c in ("train", "tune"))
    return run_id in args or in_process
