"""Exports prepared in the background (the Runs page): a worker process per export, never the server's thread.

`start` launches `python -m engine export-job RUN --format F --out FOLDER` detached, the way the JobRunner
starts its supervisor, with a scrubbed environment. FOLDER is `<home>/exports/<owner>/<job id>`: the worker
writes the download there (one file, or a zip of several) and then `status.json`, atomically. One export per
owner at a time and MAX_AT_ONCE in all (ExportBusy beyond); a new one replaces the owner's previous files; folders
nobody asked about for KEEP_SECONDS are swept. The worker ends itself at its time limit, and `poll` kills a
worker still there after the limit and a grace period (after checking the pid is that export's worker).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import atomic
from engine.jobs.procs import detached_kwargs, end_process, pid_alive, runs_engine, scrubbed_env
from engine.paths import check_name, check_run_id, data_home

TIME_LIMIT_S = 600.0
MAX_AT_ONCE = 2  # exports being prepared on the server, all owners together (one can take a GB and both cores)
GRACE_S = 15.0  # past the limit, a worker that did not end itself is killed
KEEP_SECONDS = 3600.0
STATUS = "status.json"
LOG = "export.log"


class ExportBusy(ValueError):
    """This owner already has an export under way."""


def exports_root(home=None) -> Path:
    return data_home(home) / "exports"


def start(home, owner: str, run_id: str, fmt: str, options: dict | None = None, limit_s: float = TIME_LIMIT_S,
          python: str | None = None) -> dict:
    """Launch the export of `run_id` as `fmt` for `owner`; returns the job description `poll` reads."""
    home = data_home(home)
    check_run_id(run_id)
    check_name("owner", owner)
    check_name("format", fmt)
    owner_dir = exports_root(home) / owner
    sweep(home)
    busy = [job for job in _jobs(owner_dir) if poll(job)["state"] == "running"]
    if busy:
        raise ExportBusy(f"an export ({busy[0]['format']} of run {busy[0]['run_id']}) is still being prepared. "
                         "Fix: wait for it to finish or cancel it, then ask again.")
    running = [job for folder in _owner_dirs(home) for job in _jobs(folder) if poll(job)["state"] == "running"]
    if len(running) >= MAX_AT_ONCE:
        raise ExportBusy(f"the server is preparing {len(running)} exports for others (at most {MAX_AT_ONCE} at once). "
                         "Fix: ask again in a minute.")
    shutil.rmtree(owner_dir, ignore_errors=True)  # one prepared export per owner: the new one replaces it
    folder = owner_dir / f"{time.time_ns():x}"
    folder.mkdir(parents=True)
    argv = [python or sys.executable, "-m", "engine", "--home", str(home), "export-job", run_id, "--format", fmt,
            "--out", str(folder), "--limit", f"{limit_s:g}"]
    if (options or {}).get("top_words"):
        argv += ["--top-words", str(int(options["top_words"]))]
    with open(folder / LOG, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                env=scrubbed_env({"NNLAB_HOME": str(home)}), **detached_kwargs())
    job = {"folder": str(folder), "pid": proc.pid, "run_id": run_id, "format": fmt, "options": dict(options or {}),
           "started": time.time(), "limit_s": limit_s}
    atomic.write_json(folder / "job.json", job)
    _reap_later(proc)
    return job


def poll(job: dict) -> dict:
    """{"state": "running" | "done" | "failed", "elapsed": s} plus, when done, "path", "name", "size", "listing",
    and when failed, "error". Kills a worker past its time limit and grace period."""
    folder = Path(job["folder"])
    elapsed = time.time() - job["started"]
    status = _read_status(folder)
    if not folder.exists() or (status is not None and status["state"] == "done" and not Path(status["path"]).exists()):
        return {"state": "failed", "elapsed": elapsed, "error": "the prepared file was cleaned up. Fix: prepare the "
                                                                 "export again."}
    if status is not None:
        return {**status, "elapsed": elapsed}
    if _is_worker(job):
        if elapsed <= job["limit_s"] + GRACE_S:
            return {"state": "running", "elapsed": elapsed}
        end_process(job["pid"], force=True)
        return {"state": "failed", "elapsed": elapsed, "error": time_limit_error(job["limit_s"])}
    return {"state": "failed", "elapsed": elapsed,
            "error": "the export process ended without a result. Fix: try again; if it fails again, export from "
                     "a terminal (`python -m engine export RUN --format FORMAT --out DIR`) to see why."}


def cancel(job: dict) -> None:
    """End the job's worker (if it still is that export's worker) and remove its files."""
    if _is_worker(job):
        end_process(job["pid"], force=True)
    shutil.rmtree(job["folder"], ignore_errors=True)


def sweep(home=None, keep_s: float = KEEP_SECONDS) -> None:
    """Remove export folders untouched for `keep_s` seconds whose worker has finished (sessions that ended)."""
    for owner_dir in _owner_dirs(home):
        for job in _jobs(owner_dir):
            folder = Path(job["folder"])
            if time.time() - folder.stat().st_mtime > keep_s and poll(job)["state"] != "running":
                shutil.rmtree(folder, ignore_errors=True)
        if owner_dir.is_dir() and not any(owner_dir.iterdir()):
            owner_dir.rmdir()


def time_limit_error(limit_s: float) -> str:
    return (f"the export took longer than its {limit_s:g}-second limit and was stopped. Fix: for a text run, keep "
            "fewer word vectors; or export from a terminal (`python -m engine export RUN --format FORMAT --out DIR`), "
            "which has no limit.")


def run(home, run_id: str, fmt: str, out: str | Path, options: dict, limit_s: float) -> int:
    """The worker's body: bundle the export into `out`, then write status.json (done, or failed with the reason).
    Ends itself at `limit_s` seconds, removing what it wrote."""
    from engine.jobs.store import RunStore
    from engine.predict.export import bundle, source_from_run

    out = Path(out)
    timer = threading.Timer(limit_s, _give_up, (out, limit_s))
    timer.daemon = True
    timer.start()
    try:
        path, listing = bundle(source_from_run(RunStore(home), run_id), fmt, out, **options)
    except Exception as exc:  # noqa: BLE001 (any failure is reported to the page, which has no traceback)
        _clear_outputs(out)
        atomic.write_json(out / STATUS, {"state": "failed", "error": _reason(exc)})
        return 1
    finally:
        timer.cancel()
    atomic.write_json(out / STATUS, {"state": "done", "path": str(path), "name": path.name,
                                     "size": path.stat().st_size, "listing": listing})
    return 0


def _give_up(out: Path, limit_s: float) -> None:
    _clear_outputs(out)
    atomic.write_json(out / STATUS, {"state": "failed", "error": time_limit_error(limit_s)})
    os._exit(3)


def _clear_outputs(out: Path) -> None:
    """Remove what a failed export left, keeping the job's own files (its description and log)."""
    for path in out.iterdir():
        if path.name not in ("job.json", LOG):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _reason(exc: Exception) -> str:
    from engine.jobs.store import RunNotFound

    if isinstance(exc, (ValueError, RunNotFound)):  # ExportError, CheckpointError: messages that name the fix
        return str(exc).strip("'\"")
    return f"the export failed ({type(exc).__name__}). Fix: export from a terminal to see the details."


def _read_status(folder: Path) -> dict | None:
    import json

    try:
        return json.loads((folder / STATUS).read_text())
    except (FileNotFoundError, ValueError):
        return None


def _owner_dirs(home) -> list[Path]:
    root = exports_root(home)
    return [d for d in root.iterdir() if d.is_dir()] if root.exists() else []


def _jobs(owner_dir: Path) -> list[dict]:
    import json

    jobs = []
    for path in owner_dir.glob("*/job.json") if owner_dir.is_dir() else ():
        try:
            jobs.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            shutil.rmtree(path.parent, ignore_errors=True)
    return jobs


def _is_worker(job: dict) -> bool:
    return pid_alive(job["pid"]) and runs_engine(job["pid"], "export-job", job["folder"])


def _reap_later(proc: subprocess.Popen) -> None:
    """Wait for the child in a daemon thread, so an ended export leaves no zombie in the server."""
    threading.Thread(target=proc.wait, daemon=True).start()
