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

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.config.run_config import RunConfig
from engine.jobs.settings import settings
from engine.jobs.store import FINISHED, RunStore
from engine.paths import data_home

IDLE_EXIT_SECONDS = 60.0
POLL_SECONDS = 0.25


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) is not alive
    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as fh:
        if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def supervisor_pid(home=None) -> int | None:
    """The pid the supervisor of `home` wrote into the lock file it holds (None if there is none)."""
    lock = data_home(home) / "supervisor.lock"
    text = lock.read_text().strip() if lock.exists() else ""
    return int(text) if text.isdigit() else None


def stop_supervisor(home=None) -> bool:
    """SIGTERM the supervisor of `home` (it finishes its tick and exits; its workers live on). Only that very
    process: the pid in the lock file must still run `engine --home HOME supervise`, not a reused pid."""
    home = data_home(home)
    pid = supervisor_pid(home)
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if b"supervise" not in cmdline or str(home).encode() not in cmdline:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    return True


class JobRunner:
    """Local process backend."""

    backend = "local"

    def __init__(self, home=None, python: str | None = None):
        self.home = data_home(home)
        self.store = RunStore(self.home)
        self.python = python or sys.executable

    def submit(self, config: RunConfig, owner: str | None = None, parent: str | None = None) -> str:
        run_id = self.store.create_run(config, owner=owner, status="queued", parent=parent, backend=self.backend)
        self.ensure_supervisor()
        return run_id

    def cancel(self, run_id: str) -> str:
        return self.store.request_cancel(run_id)

    def status(self, run_id: str) -> dict:
        run = self.store.get_run(run_id)
        return {k: run[k] for k in ("id", "status", "epoch", "max_epochs", "worker_pid", "error", "device", "node")}

    def resume(self, run_id: str) -> str:
        """Queue an interrupted (or stopped) run to continue from its last.pt at the next epoch."""
        run = self.store.get_run(run_id)
        if not (self.store.run_dir(run_id) / "last.pt").exists():
            raise ValueError(f"run {run_id} has no last.pt to resume from (it stopped before its first epoch "
                             "ended). Fix: start it again as a new run.")
        if not self.store.transition(run_id, ["interrupted", "stopped", "failed"], status="queued", resume=1,
                                     error=None, cancel_requested=0, finished=None, backend=self.backend):
            raise ValueError(f"run {run_id} is {run['status']}; only interrupted, stopped or failed runs resume")
        self.ensure_supervisor()
        return run_id

    def ensure_supervisor(self) -> None:
        lock = self.home / "supervisor.lock"
        with open(lock, "a+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a supervisor holds the lock
            fcntl.flock(fh, fcntl.LOCK_UN)
        log = open(self.home / "supervisor.log", "ab")  # noqa: SIM115 (handed to the child)
        subprocess.Popen(
            [self.python, "-m", "engine", "--home", str(self.home), "supervise"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, "NNLAB_HOME": str(self.home)},
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
    """Starts queued runs as worker processes and watches them. One per data home."""

    def __init__(self, home=None, python: str | None = None):
        self.home = data_home(home)
        self.store = RunStore(self.home)
        self.python = python or sys.executable
        self.children: dict[str, subprocess.Popen] = {}
        self.adopted: dict[str, int] = {}  # runs whose worker outlived an earlier supervisor
        self._stop = False

    def run_forever(self, idle_exit: float = IDLE_EXIT_SECONDS) -> int:
        lock = open(self.home / "supervisor.lock", "a+")  # noqa: SIM115 (held for the process life)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another supervisor serves this home
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
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
        lock.close()  # release first, then look once more: a run queued meanwhile gets a new supervisor
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
        """One pass: reap finished workers, start queued runs. Returns whether anything is active."""
        for run_id, proc in list(self.children.items()):
            code = proc.poll()
            if code is not None:
                del self.children[run_id]
                if code < 0:
                    reason = f"the worker was killed by signal {-code} ({signal.Signals(-code).name})"
                else:
                    reason = f"the worker exited with code {code} before finishing"
                self._interrupted(run_id, reason)
        for run_id, pid in list(self.adopted.items()):
            if not pid_alive(pid):
                del self.adopted[run_id]
                self._interrupted(run_id, "the worker process died")
        # a run marked running whose worker is unknown to us and dead (e.g. a CLI `train` killed)
        for run in self.store.list_runs(["running"]):
            if run["id"] not in self.children and run["id"] not in self.adopted and run["worker_pid"] \
                    and _local(run) and not pid_alive(run["worker_pid"]):
                self._interrupted(run["id"], "the worker process died")
        limit = settings(self.home)["max_concurrent"]
        queued = sorted(self.store.list_runs(["queued"]), key=lambda r: r["created"])
        for run in queued:
            if len(self.children) + len(self.adopted) >= limit:
                break
            self._start(run["id"], limit)
        return bool(self.children or self.adopted or queued)

    def _start(self, run_id: str, concurrent: int) -> None:
        if not self.store.transition(run_id, ["queued"], status="running", started=time.time()):
            return  # cancelled meanwhile
        folder = self.store.run_dir(run_id)
        log = open(folder / "worker.log", "ab")  # noqa: SIM115 (handed to the child)
        proc = subprocess.Popen(
            [self.python, "-m", "engine", "--home", str(self.home), "worker", run_id, "--concurrent", str(concurrent)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            env={**os.environ, "NNLAB_HOME": str(self.home)},
        )
        log.close()
        self.store.update(run_id, worker_pid=proc.pid)
        self.children[run_id] = proc

    def _interrupted(self, run_id: str, reason: str) -> None:
        self.store.transition(run_id, ["running"], status="interrupted", worker_pid=None, finished=time.time(),
                              error=f"{reason}. Resume it to continue from its last checkpoint.")


def _local(run: dict) -> bool:
    return run.get("backend") != "ray"


def _is_worker_of(pid: int, run_id: str) -> bool:
    """Whether `pid` trains `run_id`: its worker (the run id on the command line), or an in-process
    `python -m engine train|tune` (whose runs are created inside the process, so not on its command line)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True  # cannot tell (not Linux): trust the pid
    in_process = b"engine" in cmdline and any(c in cmdline for c in (b"train", b"tune"))
    return run_id.encode() in cmdline or in_process
