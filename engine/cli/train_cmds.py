"""`train`: one run in this process, with a progress bar."""

from __future__ import annotations

import argparse
import sys

from engine.cli import emit
from engine.cli.flags import add_run_flags, config_from_args, init_source
from engine.jobs.store import RunStore

SUMMARY_KEYS = ("run_id", "status", "test_acc", "valid_acc", "test_mse", "valid_mse", "valid_loss", "epochs", "seconds",
                "device", "params", "error", "message")


def register(sub) -> None:
    p = sub.add_parser("train", help="train one run here and now (the dashboard queues runs instead)")
    add_run_flags(p)
    p.add_argument("--json", action="store_true", help="last stdout line is one JSON object")
    p.add_argument("--owner", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_train)


def run_train(args) -> int:
    from engine.training.run import execute

    parent, base = init_source(args, args.home)
    cfg = config_from_args(args, base)
    store = RunStore(args.home)
    run_id = store.create_run(cfg, owner=args.owner, status="running", parent=parent)
    callbacks = []
    if not args.json or sys.stderr.isatty():  # --json: stdout is for JSON, the bar goes to a terminal's stderr
        from engine.cli.progress import TqdmProgress

        stream = sys.stderr if args.json else sys.stdout
        callbacks.append(TqdmProgress(stream))
        print(f"run {run_id}: {cfg.short_name()}", file=stream)
    summary = execute(store, run_id, extra_callbacks=callbacks)
    out = {k: summary[k] for k in SUMMARY_KEYS if k in summary and summary[k] not in (None, "")}
    emit(out, args.json)
    return 0 if summary["status"] in ("done", "stopped") else 1

