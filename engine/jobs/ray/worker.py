"""The body of one Ray task: the same `engine.training.run.execute` a local worker runs, on any node.

Nothing here touches the head's files. `execute` is given a `HubStore`: the few RunStore methods a
run calls, each forwarded to the Hub actor on the head (which writes the real RunStore). The run
folder is a scratch folder in this node's own data home; `HubStore.sync` ships the files that
changed (checkpoints every epoch, the rest at the end) to the head as bytes. The data arrives
prepared, through Ray's object store.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
from pathlib import Path

import ray

from engine import atomic
from engine.jobs.procs import scrub_environ
from engine.jobs.store import FINISHED
from engine.paths import data_home, run_dir
from engine.training.trainer import Callback

# Ray's own settings (its address, session, and RAY_AUTH_TOKEN with token auth): the worker process keeps talking
# to its cluster with them. runtime_env env_vars cannot unset a variable, hence the scrub inside the task.
RAY_OWN = ("RAY_",)


def node_label() -> str:
    return f"{platform.node()} (ray {ray.get_runtime_context().get_node_id()[:8]})"


class HubStore:
    """The RunStore protocol of `engine.training.run.execute` and its callbacks, backed by the Hub actor."""

    def __init__(self, hub, home: Path):
        self.hub, self.home = hub, Path(home)
        self._sent: dict[str, tuple] = {}  # file (relative to runs/) -> signature last shipped

    def _call(self, method: str, *args):
        return ray.get(getattr(self.hub, method).remote(*args))

    def get_run(self, run_id: str) -> dict:
        return self._call("get_run", run_id)

    def update(self, run_id: str, **fields) -> None:
        if fields.get("status") in FINISHED:
            self.sync(run_id)  # the files first: a run reads `done` only once its checkpoints are home
        if "node" in fields:
            fields["node"] = node_label()
        self._call("update", run_id, fields)

    def log_metrics(self, run_id: str, rows) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            self._call("log_metrics", run_id, rows)

    def drop_metrics_after(self, run_id: str, epoch: int) -> int:
        return self._call("drop_metrics_after", run_id, epoch)

    def log_layers(self, run_id: str, rows) -> None:
        if rows:
            self._call("log_layers", run_id, list(rows))

    def log_boundary(self, run_id: str, record: dict) -> None:
        self._call("log_boundary", run_id, record)

    def save_result(self, run_id: str, data: dict) -> None:
        self._call("save_result", run_id, data)

    def result(self, run_id: str) -> dict | None:
        return self._call("result", run_id)

    def cancel_requested(self, run_id: str) -> bool:
        return self._call("cancel_requested", run_id)

    def run_dir(self, run_id: str) -> Path:
        return run_dir(run_id, self.home)

    def receive(self, files: dict[str, bytes]) -> None:
        """Files from the head (last.pt to resume from, a parent's init.pt), keyed `<run_id>/<name>`."""
        for rel, blob in files.items():
            path = self.home / "runs" / rel
            atomic.write_bytes(path, blob)
            self._sent[rel] = _signature(path)

    def sync(self, run_id: str) -> None:
        """Ship the files of the run folder that changed since the last sync. A file that is a hard link
        of one shipped in the same pass (best.pt of last.pt) is linked on the head, not sent twice."""
        folder = self.run_dir(run_id)
        shipped: dict[int, str] = {}
        for path in sorted(folder.rglob("*"), key=lambda p: p.name != "last.pt"):
            if not path.is_file() or path.name.startswith("."):
                continue
            rel, sig = f"{run_id}/{path.relative_to(folder).as_posix()}", _signature(path)
            if self._sent.get(rel) == sig:
                continue
            if sig[0] in shipped:
                self._call("link_file", shipped[sig[0]], rel)
            else:
                self._call("put_file", rel, path.read_bytes())
            shipped[sig[0]] = rel
            self._sent[rel] = sig


def _signature(path: Path) -> tuple:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


class FolderSync(Callback):
    """After the checkpointer at each epoch end: the new last.pt (and best.pt) go to the head, so a
    run whose node is lost resumes from its last epoch anywhere."""

    def __init__(self, store: HubStore, run_id: str):
        self.store, self.run_id = store, run_id

    def on_epoch_end(self, trainer, state) -> None:
        self.store.sync(self.run_id)


def run_task(hub, run_id: str, data, files: dict[str, bytes], threads: int, device: str | None = None) -> dict:
    """One run on whatever node Ray picked, on `device` (what the Hub reserved for it). Returns execute's
    summary (the Hub reads the store)."""
    from engine.training.run import execute

    scrub_environ(RAY_OWN)  # Ray starts its workers with the node's whole environment: no secrets for a run
    if not ray.get(hub.claim.remote(run_id, node_label(), os.getpid())):
        return {"run_id": run_id, "status": "not started (cancelled while waiting for room)"}
    scratch_root = data_home() / "ray-scratch"
    scratch_root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{run_id}-", dir=scratch_root))
    try:
        store = HubStore(hub, scratch)
        store.receive(files)
        return execute(store, run_id, extra_callbacks=[FolderSync(store, run_id)], threads=threads, data=data,
                       device=device)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
