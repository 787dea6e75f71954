"""The Hub: one detached Ray actor per data home, pinned to the node that holds that home (the head).

It is the Ray backend's supervisor and the only writer of the RunStore and run folders for Ray runs:

- a dispatcher thread starts each queued run as a Ray task (CPUs, a GPU for cuda and for `auto` on a cluster
  with a GPU node; a run no node can take fails at once, engine/jobs/ray/placement.py), with the
  prepared data in the object store and the checkpoint bytes it resumes from, and watches the tasks:
  a task lost with its node or worker marks the run `interrupted`; a cancel that the run does not
  answer within CANCEL_GRACE seconds is enforced with `ray.cancel`;
- the remote runs call its store methods (metrics rows, status, results, checkpoint files), which it
  writes into the real RunStore and run folder atomically.

The dispatcher outlives the dashboard or CLI that created it (`lifetime="detached"`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from collections import OrderedDict
from pathlib import Path

import ray

from engine import atomic
from engine.config.run_config import RunConfig
from engine.jobs.local import POLL_SECONDS, TERM_GRACE_SECONDS
from engine.jobs.queue import fair_order
from engine.jobs.ray.placement import place_run
from engine.jobs.settings import settings
from engine.jobs.store import RunStore

CANCEL_GRACE = 20.0  # a run stops at its next batch, then evaluates its best weights: give it time
MAX_START_ATTEMPTS = 3  # a task that dies before it claims its run is retried this often
# ... after START_RETRY_SECONDS x the attempts so far: a node that is leaving the cluster can take tasks
# for seconds before Ray marks it dead, and the dispatcher polls every POLL_SECONDS
START_RETRY_SECONDS = 5.0
DATA_REFS_KEPT = 4
DATA_FRESH_SECONDS = 120.0
# settings that do not change the prepared data (prepare_data reads dataset, data_args, model, model_args, features, seed)
TRAINING_ONLY = {"optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size", "epochs", "early_stopping",
                 "patience", "device"}


class Hub:
    def __init__(self, home: str):
        self.home = Path(home)  # the driver's data home: this actor runs on that node, whatever $NNLAB_HOME says
        os.environ["NNLAB_BACKEND"] = "ray"  # this process serves the Ray backend: settings() give its defaults
        self.store = RunStore(self.home)
        self.tasks: dict[str, ray.ObjectRef] = {}
        self.cancel_seen: dict[str, float] = {}
        self.forced: set[str] = set()
        self.limited: dict[str, float] = {}  # run id -> the wall-clock limit (minutes) it was stopped at
        self.terminating: dict[str, float] = {}  # run id -> monotonic time its interrupted task is killed at
        self.claimed: set[str] = set()  # runs whose current task has started them (claim)
        self.attempts: dict[str, int] = {}
        self.retry_at: dict[str, float] = {}  # run id -> monotonic time before which it is not started again
        self.data_refs: OrderedDict[str, tuple[float, ray.ObjectRef]] = OrderedDict()
        self._wake = threading.Event()
        self.recover()
        threading.Thread(target=self._loop, name="nnlab-dispatcher", daemon=True).start()

    # --- the store, for remote runs -----------------------------------------------------------
    def claim(self, run_id: str, node: str, pid: int) -> bool:
        if not self.store.transition(run_id, ["queued"], status="running", started=time.time(), node=node,
                                     worker_pid=pid):
            return False
        self.claimed.add(run_id)
        return True

    def get_run(self, run_id: str) -> dict:
        return self.store.get_run(run_id)

    def update(self, run_id: str, fields: dict) -> None:
        self.store.update(run_id, **fields)

    def log_metrics(self, run_id: str, rows: list) -> None:
        self.store.log_metrics(run_id, rows)

    def drop_metrics_after(self, run_id: str, epoch: int) -> int:
        return self.store.drop_metrics_after(run_id, epoch)

    def log_layers(self, run_id: str, rows: list) -> None:
        self.store.log_layers(run_id, rows)

    def log_boundary(self, run_id: str, record: dict) -> None:
        self.store.log_boundary(run_id, record)

    def save_result(self, run_id: str, data: dict) -> None:
        self.store.save_result(run_id, data)

    def result(self, run_id: str) -> dict | None:
        return self.store.result(run_id)

    def cancel_requested(self, run_id: str) -> bool:
        return self.store.cancel_requested(run_id)

    def put_file(self, rel: str, data: bytes) -> None:
        atomic.write_bytes(self._path(rel), data)

    def link_file(self, src: str, dest: str) -> None:
        """`dest` becomes the file `src` (best.pt of last.pt): a hard link renamed into place, atomic."""
        source, target = self._path(src), self._path(dest)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:
            atomic.write_bytes(target, source.read_bytes())
            return
        os.replace(tmp, target)

    def _path(self, rel: str) -> Path:
        run_id, _, name = rel.partition("/")
        folder = self.store.run_dir(run_id)
        path = (folder / name).resolve()
        if not name or folder.resolve() not in path.parents:
            raise ValueError(f"refusing to write outside the run folder: {rel!r}")
        return path

    # --- the dispatcher -------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def active(self) -> list[str]:
        return list(self.tasks)

    def recover(self) -> None:
        """At start: a Ray run still marked running has lost its task (tasks die with their owner)."""
        for run in self.store.list_runs(["running"]):
            if run["backend"] == "ray":
                self._interrupted(run["id"], "the Ray dispatcher restarted while it ran")

    def _loop(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # the dispatcher lives on; the next pass retries
                traceback.print_exc()
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def tick(self) -> None:
        self._reap()
        self._enforce_cancels()
        limit = settings(self.home)["max_concurrent"]
        for run in fair_order(self.store.list_runs(["queued"]), self.store.list_runs(["running"])):
            if run["id"] in self.tasks or self.retry_at.get(run["id"], 0.0) > time.monotonic():
                continue
            if len(self.tasks) >= limit:
                break
            self._start(run)

    def _start(self, run: dict) -> None:
        from engine.jobs.ray.worker import run_task
        from engine.training.run import _explain

        run_id = run["id"]
        cfg = RunConfig.from_dict(run["config"])
        cpus = max(1, int(settings(self.home).get("ray_cpus_per_run", 1)))
        try:
            where = place_run(cfg.device, cpus, ray.nodes())  # no node can take it: it fails now, not never starts
            data, files = self._data(cfg), self._files(run)
        except Exception as exc:  # e.g. the dataset is not fetched: the run fails with the fix, as locally
            self.store.transition(run_id, ["queued"], status="failed", error=_explain(exc), finished=time.time())
            return
        device, max_calls = where.pop("device"), where.pop("max_calls")
        self._remotes = getattr(self, "_remotes", None) or {}  # one remote function per max_calls (not an option)
        if max_calls not in self._remotes:
            self._remotes[max_calls] = ray.remote(max_calls=max_calls)(run_task)
        task = self._remotes[max_calls].options(**where, max_retries=0, name=f"nnlab-run-{run_id}",
                                                scheduling_strategy="SPREAD")
        me = ray.get_runtime_context().current_actor
        self.tasks[run_id] = task.remote(me, run_id, data, files, cpus, device)

    def _data(self, cfg: RunConfig) -> ray.ObjectRef:
        """The prepared data (features, targets, spec) in the object store, prepared here from this data home.
        Runs that differ only in training settings share one copy while it is fresh (a class's burst of
        submissions prepares and ships the data once)."""
        from engine.training.pipeline import prepare_data

        data_fields = {k: v for k, v in cfg.to_dict().items() if k not in TRAINING_ONLY}
        key = json.dumps(data_fields, sort_keys=True, default=str)
        made, ref = self.data_refs.get(key, (0.0, None))
        if ref is None or time.monotonic() - made > DATA_FRESH_SECONDS:
            made, ref = time.monotonic(), ray.put(prepare_data(cfg, self.home))
        self.data_refs[key] = (made, ref)
        self.data_refs.move_to_end(key)
        while len(self.data_refs) > DATA_REFS_KEPT:
            self.data_refs.popitem(last=False)
        return ref

    def _files(self, run: dict) -> dict[str, bytes]:
        """What the remote run reads from its folder: last.pt/best.pt to resume, a parent's init.pt."""
        wanted = [(run["id"], "last.pt"), (run["id"], "best.pt")] if run["resume"] else []
        if run.get("parent") and not run["resume"]:
            wanted.append((run["parent"], "init.pt"))
        files = {}
        for run_id, name in wanted:
            path = self.store.run_dir(run_id) / name
            if path.exists():
                files[f"{run_id}/{name}"] = path.read_bytes()
        return files

    def _reap(self) -> None:
        if not self.tasks:
            return
        ready, _ = ray.wait(list(self.tasks.values()), num_returns=len(self.tasks), timeout=0)
        done = set(ready)
        for run_id, ref in list(self.tasks.items()):
            if ref not in done:
                continue
            del self.tasks[run_id]
            self.cancel_seen.pop(run_id, None)
            self.terminating.pop(run_id, None)
            self.claimed.discard(run_id)
            try:
                ray.get(ref)
                reason = "its Ray task ended without finishing it"
            except ray.exceptions.RayError as exc:
                reason = describe(exc)
            if run_id in self.forced or self.store.cancel_requested(run_id):
                self.forced.discard(run_id)
                minutes = self.limited.pop(run_id, None)
                why = "stopped by the user" if minutes is None else \
                    f"stopped after the {minutes:g}-minute limit (max_run_minutes); resume it to go on"
                # an interrupt at the limit can reach the run inside a call it reports as its failure
                ended = ["running"] if minutes is None else ["running", "failed"]
                self.store.transition(run_id, ended, status="stopped", worker_pid=None, finished=time.time(),
                                      error=why)
            elif self.store.get_run(run_id)["status"] == "queued":  # died before it started: try again
                self.attempts[run_id] = self.attempts.get(run_id, 0) + 1
                self.retry_at[run_id] = time.monotonic() + START_RETRY_SECONDS * self.attempts[run_id]
                if self.attempts[run_id] >= MAX_START_ATTEMPTS:
                    self.store.transition(run_id, ["queued"], status="failed", finished=time.time(),
                                          error=f"its Ray task failed {MAX_START_ATTEMPTS} times before starting: "
                                                f"{reason}")
            else:
                self._interrupted(run_id, reason)

    def _enforce_cancels(self) -> None:
        """A run stopped while its task waits for room: drop the task. A running run that has not
        answered its cancel within CANCEL_GRACE seconds: kill its task. A run past `max_run_minutes`: interrupt
        its task (KeyboardInterrupt in the run, as SIGTERM ends a local worker), kill it TERM_GRACE_SECONDS later
        if it is still there. A run
        that its task started and that has ended (done, stopped, failed) is left alone: its task is still writing its result and files,
        and a cancel would interrupt those writes and turn the run into a failure."""
        now = time.monotonic()
        minutes = settings(self.home)["max_run_minutes"]
        for run_id, ref in list(self.tasks.items()):
            run = self.store.get_run(run_id)
            if run_id in self.terminating:
                if now > self.terminating[run_id]:  # it did not end within the grace period: kill its worker
                    del self.terminating[run_id]
                    ray.cancel(ref, force=True)
                continue
            if run_id in self.forced or run["status"] == "queued":
                continue
            if run["status"] == "running" and minutes and time.time() - (run["started"] or time.time()) > minutes * 60:
                self.forced.add(run_id)  # past the wall-clock limit: interrupt its task, kill it after a grace
                self.limited[run_id] = minutes
                self.terminating[run_id] = now + TERM_GRACE_SECONDS
                ray.cancel(ref)
                continue
            if run["status"] != "running":
                if run_id in self.claimed:
                    continue
                self.forced.add(run_id)
                ray.cancel(ref)
            elif run["cancel_requested"] and now - self.cancel_seen.setdefault(run_id, now) > CANCEL_GRACE:
                self.forced.add(run_id)
                ray.cancel(ref, force=True)

    def _interrupted(self, run_id: str, reason: str) -> None:
        self.store.transition(run_id, ["running"], status="interrupted", worker_pid=None, finished=time.time(),
                              error=f"{reason}. Resume it to continue from its last checkpoint.")


def describe(exc: BaseException) -> str:
    """Why a Ray task ended, in a sentence."""
    if isinstance(exc, ray.exceptions.NodeDiedError):
        return "the node it ran on left the Ray cluster"
    if isinstance(exc, ray.exceptions.WorkerCrashedError | ray.exceptions.LocalRayletDiedError):
        return f"its Ray worker process died ({_first_line(exc)})"
    if isinstance(exc, ray.exceptions.TaskCancelledError):
        return "its Ray task was cancelled"
    return f"its Ray task failed ({type(exc).__name__}: {_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
