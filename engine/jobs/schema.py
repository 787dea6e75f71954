"""The RunStore's SQLite tables (runs, metrics, results, layer health, boundaries, annotations), the run
columns a caller may update, and the migration of a store written by an older version."""

from __future__ import annotations

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    updated REAL NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0,
    max_epochs INTEGER NOT NULL DEFAULT 0,
    worker_pid INTEGER,
    error TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    resume INTEGER NOT NULL DEFAULT 0,
    device TEXT,
    node TEXT,
    params INTEGER,
    parent TEXT,
    backend TEXT NOT NULL DEFAULT 'local'
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    step INTEGER NOT NULL,
    split TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_run ON metrics(run_id, epoch);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_stats (
    run_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    layer TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS layer_stats_run ON layer_stats(run_id, epoch);
CREATE TABLE IF NOT EXISTS boundaries (run_id TEXT NOT NULL, epoch INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS boundaries_run ON boundaries(run_id, epoch);
CREATE TABLE IF NOT EXISTS annotations (
    run_id TEXT PRIMARY KEY,
    tags TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT ''
);
"""

RUN_FIELDS = ("name", "owner", "status", "started", "finished", "epoch", "max_epochs", "worker_pid", "error",
              "cancel_requested", "resume", "device", "node", "params", "parent", "backend")


def migrate(db: sqlite3.Connection) -> None:
    """Bring a store written by an older version up to SCHEMA (columns added since)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if "backend" not in columns:  # before the column, a Ray run was known by its node label
        db.execute("ALTER TABLE runs ADD COLUMN backend TEXT NOT NULL DEFAULT 'local'")
        db.execute("UPDATE runs SET backend = 'ray' WHERE node LIKE '%(ray %'")
