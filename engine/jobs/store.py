"""RunStore: runs, their metrics and results in SQLite (WAL) at <home>/runs.db.

Every browser session, the CLI and the worker processes share it. Each call opens a short-lived
connection (connections are not shared across threads), transactions are short, and a busy
timeout absorbs the rare writer overlap, so readers never see "database is locked".
"""

from __future__ import annotations

import contextlib
import json
import math
import secrets
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from engine.jobs.quota import ACTIVE as ACTIVE  # queued + running (re-exported)
from engine.jobs.quota import check_quota
from engine.jobs.schema import RUN_FIELDS, SCHEMA, migrate
from engine.jobs.tracker import clean_note, clean_tag, clean_tags
from engine.paths import data_home, runs_dir

RESUMABLE = ("interrupted", "stopped", "failed")
STATUSES = ("queued", "running", "done", "stopped", "diverged", "failed", "interrupted")
FINISHED = ("done", "stopped", "diverged", "failed", "interrupted")
ETA_WINDOW = 5  # finished epochs whose median time per epoch the ETA uses

class RunNotFound(KeyError):
    def __str__(self) -> str:
        return f"no run {self.args[0]!r}. Fix: list runs with `python -m engine runs`."


def new_run_id() -> str:
    return time.strftime("%y%m%d-%H%M%S-") + secrets.token_hex(2)


class RunStore:
    def __init__(self, home=None, timeout: float = 30.0):
        self.home = data_home(home)
        self.path = self.home / "runs.db"
        self.timeout = timeout
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            migrate(db)
        # An idle connection held as long as this store: SQLite checkpoints (and fsyncs) the WAL whenever
        # the *last* connection to the database closes, so without it every short-lived write would pay
        # a checkpoint.
        self._keeper = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                       check_same_thread=False)
        self._keeper.execute("SELECT 1 FROM runs LIMIT 1").fetchall()

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        db.execute("PRAGMA synchronous=NORMAL")
        try:
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    # --- runs -------------------------------------------------------------------------------
    def create_run(self, config, owner: str | None = None, status: str = "queued", parent: str | None = None,
                   run_id: str | None = None, backend: str = "local", max_active: int | None = None) -> str:
        """Write a new run. With `max_active`, refuse (QuotaExceeded) when `owner` already has that many
        queued or running runs: checked in the insert's own transaction, so two submits cannot both pass."""
        run_id = run_id or new_run_id()
        now = time.time()
        with self._tx() as db:
            check_quota(db, owner, max_active)
            db.execute(
                "INSERT INTO runs (id, name, owner, status, config, created, updated, max_epochs, parent, backend) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, config.short_name(), owner, status, config.to_json(), now, now, config.epochs, parent,
                 backend),
            )
        return run_id

    def get_run(self, run_id: str) -> dict:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return _run_dict(row)

    def list_runs(self, statuses: Iterable[str] | None = None, limit: int | None = None) -> list[dict]:
        query, args = "SELECT * FROM runs", []
        if statuses:
            statuses = list(statuses)
            query += f" WHERE status IN ({','.join('?' * len(statuses))})"
            args += statuses
        query += " ORDER BY created DESC"
        if limit:
            query += f" LIMIT {int(limit)}"
        with self._connect() as db:
            return [_run_dict(r) for r in db.execute(query, args).fetchall()]

    def update(self, run_id: str, **fields) -> None:
        bad = set(fields) - set(RUN_FIELDS)
        if bad:
            raise ValueError(f"unknown run fields {bad}")
        if "status" in fields and fields["status"] not in STATUSES:
            raise ValueError(f"unknown status {fields['status']!r}")
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            cur = db.execute(f"UPDATE runs SET {cols} WHERE id = ?", (*fields.values(), run_id))
        if cur.rowcount == 0:
            raise RunNotFound(run_id)

    def transition(self, run_id: str, from_statuses: Iterable[str], **fields) -> bool:
        """Update only if the run's status is one of `from_statuses` (atomic compare-and-set)."""
        from_statuses = list(from_statuses)
        fields["updated"] = time.time()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            cur = db.execute(
                f"UPDATE runs SET {cols} WHERE id = ? AND status IN ({','.join('?' * len(from_statuses))})",
                (*fields.values(), run_id, *from_statuses),
            )
        return cur.rowcount == 1

    def requeue(self, run_id: str, from_statuses: Iterable[str], max_active: int | None = None, **fields) -> bool:
        """`transition(run_id, from_statuses, status="queued", **fields)` within the run's owner's quota
        (QuotaExceeded when `max_active` is given and reached), in one transaction."""
        from_statuses = list(from_statuses)
        fields.update(status="queued", updated=time.time())
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._tx() as db:
            row = db.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(run_id)
            check_quota(db, row[0], max_active)
            cur = db.execute(
                f"UPDATE runs SET {cols} WHERE id = ? AND status IN ({','.join('?' * len(from_statuses))})",
                (*fields.values(), run_id, *from_statuses),
            )
        return cur.rowcount == 1

    def request_cancel(self, run_id: str) -> str:
        """Stop a run: a queued one stops at once, a running one at its next batch."""
        self.get_run(run_id)
        if self.transition(run_id, ["queued"], status="stopped", finished=time.time(),
                           error="stopped before it started"):
            return "stopped"
        self.transition(run_id, ["running"], cancel_requested=1)
        return self.get_run(run_id)["status"]

    def set_device(self, run_id: str, device: str) -> None:
        """Resume a run on another device (e.g. a cuda run on a server without a GPU): changes the device in
        the config of an interrupted, stopped or failed run."""
        from engine.config.run_config import RunConfig

        run = self.get_run(run_id)
        config = RunConfig.from_dict(run["config"]).with_changes(device=device)  # validates the name
        with self._tx() as db:
            cur = db.execute("UPDATE runs SET config = ?, updated = ? WHERE id = ? AND status IN (?, ?, ?)",
                             (config.to_json(), time.time(), run_id, *RESUMABLE))
        if cur.rowcount == 0:
            raise ValueError(f"run {run_id} is {run['status']}; only {', '.join(RESUMABLE)} runs change device")

    def cancel_requested(self, run_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def delete_run(self, run_id: str) -> None:
        with self._tx() as db:
            for table, col in (("metrics", "run_id"), ("layer_stats", "run_id"), ("boundaries", "run_id"),
                               ("results", "run_id"),
                               ("annotations", "run_id"), ("runs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {col} = ?", (run_id,))
        shutil.rmtree(runs_dir(self.home) / run_id, ignore_errors=True)

    def run_dir(self, run_id: str) -> Path:
        from engine.paths import run_dir

        return run_dir(run_id, self.home)

    # --- metrics ----------------------------------------------------------------------------
    def log_metrics(self, run_id: str, rows: Iterable[tuple[int, int, str, str, float]]) -> None:
        """rows: (epoch, step, split, name, value)."""
        now = time.time()
        data = [(run_id, int(e), int(s), sp, n, None if v != v else float(v), now) for e, s, sp, n, v in rows]
        if not data:
            return
        with self._tx() as db:
            db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)", data)

    def drop_metrics_after(self, run_id: str, epoch: int) -> int:
        """Remove rows of epochs > `epoch` (a partial epoch cut short before a resume)."""
        with self._tx() as db:
            db.execute("DELETE FROM layer_stats WHERE run_id = ? AND epoch > ?", (run_id, epoch))
            db.execute("DELETE FROM boundaries WHERE run_id = ? AND epoch > ?", (run_id, epoch))
            return db.execute("DELETE FROM metrics WHERE run_id = ? AND epoch > ?", (run_id, epoch)).rowcount

    def log_layers(self, run_id: str, rows: Iterable[dict]) -> None:
        """Layer health rows (engine/training/layer_health.py), each a dict with at least epoch and layer."""
        data = [(run_id, int(r["epoch"]), str(r["layer"]), json.dumps(
            {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in r.items()}))
            for r in rows]  # a diverged run's NaN is stored as null (valid JSON)
        if data:
            with self._tx() as db:
                db.executemany("INSERT INTO layer_stats VALUES (?, ?, ?, ?)", data)

    def layers(self, run_id: str) -> list[dict]:
        """The run's layer health rows, by epoch, each epoch's layers in the model's order."""
        with self._connect() as db:
            rows = db.execute("SELECT data FROM layer_stats WHERE run_id = ? ORDER BY epoch, rowid",
                              (run_id,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def log_boundary(self, run_id: str, record: dict) -> None:
        """One epoch's decision-boundary grid (engine/training/boundary.py), replacing one stored for that epoch."""
        with self._tx() as db:
            db.execute("DELETE FROM boundaries WHERE run_id = ? AND epoch = ?", (run_id, int(record["epoch"])))
            db.execute("INSERT INTO boundaries VALUES (?, ?, ?)", (run_id, int(record["epoch"]), json.dumps(record)))

    def boundary_epochs(self, run_id: str) -> list[int]:
        """The epochs whose decision-boundary grid the run stored, in order."""
        with self._connect() as db:
            return [int(r[0]) for r in db.execute("SELECT DISTINCT epoch FROM boundaries WHERE run_id = ? "
                                                  "ORDER BY epoch", (run_id,))]

    def boundary(self, run_id: str, epoch: int | None = None) -> dict | None:
        """The stored grid of `epoch` (the newest when None), or None when there is none."""
        query = "SELECT data FROM boundaries WHERE run_id = ?" + (" AND epoch = ?" if epoch is not None else "")
        with self._connect() as db:
            row = db.execute(query + " ORDER BY epoch DESC, rowid DESC LIMIT 1",
                             (run_id,) if epoch is None else (run_id, int(epoch))).fetchone()
        return json.loads(row[0]) if row else None

    def metrics(self, run_ids: str | Iterable[str]):
        """A pandas DataFrame with columns run_id, epoch, step, split, name, value, time."""
        import pandas as pd

        ids = [run_ids] if isinstance(run_ids, str) else list(run_ids)
        cols = ["run_id", "epoch", "step", "split", "name", "value", "time"]
        if not ids:
            return pd.DataFrame(columns=cols)
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {', '.join(cols)} FROM metrics WHERE run_id IN ({','.join('?' * len(ids))}) "
                "ORDER BY run_id, step, rowid", ids,
            ).fetchall()
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    def progress(self, run_id: str) -> dict:
        """What a progress bar needs, in short queries instead of every metric row: the seconds per epoch
        (median of the last ETA_WINDOW finished epochs, so one slow epoch does not swing the ETA) and the
        batches per epoch (both None before the first epoch ends), and the newest step logged (0 before any)."""
        with self._connect() as db:
            (last_step,) = db.execute("SELECT MAX(step) FROM metrics WHERE run_id = ?", (run_id,)).fetchone()
            recent = [r[0] for r in db.execute(
                "SELECT value FROM metrics WHERE run_id = ? AND name = 'epoch_seconds' AND epoch > 0 "
                "AND value IS NOT NULL ORDER BY epoch DESC, rowid DESC LIMIT ?", (run_id, ETA_WINDOW))]
            seconds = statistics.median(recent) if recent else None
            first = db.execute(
                "SELECT epoch, step FROM metrics WHERE run_id = ? AND split = 'train' AND name = 'loss' AND epoch > 0 "
                "ORDER BY epoch, rowid LIMIT 1", (run_id,)).fetchone()
        per_epoch = first[1] / first[0] if first and first[1] > 0 else None
        return {"epoch_seconds": seconds, "steps_per_epoch": per_epoch, "last_step": last_step or 0}

    def metrics_version(self, run_id: str) -> tuple[int, float]:
        """Changes whenever a row of the run's metrics is added or dropped: (row count, newest row's time)."""
        with self._connect() as db:
            count, newest = db.execute("SELECT COUNT(*), MAX(time) FROM metrics WHERE run_id = ?", (run_id,)).fetchone()
        return int(count), float(newest or 0.0)

    # --- results ----------------------------------------------------------------------------
    def save_result(self, run_id: str, data: dict) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO results VALUES (?, ?)", (run_id, json.dumps(data)))

    def result(self, run_id: str) -> dict | None:
        with self._connect() as db:
            row = db.execute("SELECT data FROM results WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- tags and notes (checked by engine.jobs.tracker) --------------------------------------------
    def annotations(self, run_ids: Iterable[str] | None = None) -> dict[str, dict]:
        """run id -> {"tags": [...], "note": "..."} for the runs that have either (all runs when None)."""
        query, args = "SELECT run_id, tags, note FROM annotations", []
        if run_ids is not None:
            args = list(run_ids)
            query += f" WHERE run_id IN ({','.join('?' * len(args))})"
        with self._connect() as db:
            rows = db.execute(query, args).fetchall()
        return {r[0]: {"tags": json.loads(r[1]), "note": r[2]} for r in rows}

    def change_tags(self, run_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
        """Add and remove tags of a run; returns its tags after the change."""
        add, remove = [clean_tag(t) for t in add], {clean_tag(t) for t in remove}
        with self._tx() as db:
            tags = json.loads(self._annotation(db, run_id)[0])
            tags = clean_tags([t for t in tags if t not in remove] + add)
            db.execute("UPDATE annotations SET tags = ? WHERE run_id = ?", (json.dumps(tags), run_id))
        return tags

    def set_note(self, run_id: str, text: str) -> str:
        text = clean_note(text)
        with self._tx() as db:
            self._annotation(db, run_id)
            db.execute("UPDATE annotations SET note = ? WHERE run_id = ?", (text, run_id))
        return text

    @staticmethod
    def _annotation(db: sqlite3.Connection, run_id: str) -> tuple[str, str]:
        if db.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is None:
            raise RunNotFound(run_id)
        db.execute("INSERT OR IGNORE INTO annotations (run_id) VALUES (?)", (run_id,))
        return tuple(db.execute("SELECT tags, note FROM annotations WHERE run_id = ?", (run_id,)).fetchone())


def _run_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    d["config"] = json.loads(d["config"])
    return d
