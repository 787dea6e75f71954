"""Runs as an experiment tracker: `runs` (filtered, as JSON lines or a CSV table), `tag`, `note`."""

from __future__ import annotations

from engine.cli import emit
from engine.jobs.store import STATUSES, RunStore


def register(sub) -> None:
    r = sub.add_parser("runs", help="list runs with their settings, final metrics, tags and notes")
    r.add_argument("--json", action="store_true", help="one JSON object a line per run, settings flattened")
    r.add_argument("--csv", metavar="FILE", help="write the multi-run table (one row per run) to FILE")
    r.add_argument("--tag", help="only runs with this tag")
    r.add_argument("--dataset", help="only runs on this dataset")
    r.add_argument("--model", help="only runs of this model")
    r.add_argument("--status", choices=STATUSES, help="only runs in this state")
    r.add_argument("--limit", type=int, default=None, help="the newest N runs (default all)")
    r.set_defaults(func=run_runs)

    t = sub.add_parser("tag", help="add or remove tags of a run")
    t.add_argument("run_id")
    t.add_argument("--add", action="append", default=[], metavar="NAME", help="may repeat")
    t.add_argument("--remove", action="append", default=[], metavar="NAME", help="may repeat")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_tag)

    n = sub.add_parser("note", help="set a run's free-text note (empty text clears it)")
    n.add_argument("run_id")
    n.add_argument("--text", required=True)
    n.add_argument("--json", action="store_true")
    n.set_defaults(func=run_note)


def run_runs(args) -> int:
    from engine.atomic import write_text
    from engine.jobs.tracker import filter_rows, table_csv, tracked_rows

    if args.limit is not None and args.limit < 1:
        raise ValueError("--limit must be at least 1")
    store = RunStore(args.home)
    rows = filter_rows(tracked_rows(store, args.limit), tag=args.tag, dataset=args.dataset, model=args.model,
                       status=args.status)
    add_queue_positions(store, rows)
    if args.csv:
        write_text(args.csv, table_csv(rows))
    if args.json:
        for row in rows:
            emit(row, True)
        return 0
    if args.csv:
        print(f"wrote {len(rows)} runs to {args.csv}")
        return 0
    if not rows:
        print("no runs" + (" match" if args.tag or args.dataset or args.model or args.status else " yet: start one "
                                  "with `python -m engine train` or on the Train page"))
        return 0
    print(f"{'run':<20} {'status':<11} {'epoch':>5} {'test_acc':>8}  name  [tags]")
    for row in rows:
        acc = row.get("test_acc")
        acc_text = "-" if acc is None else f"{acc:.4f}"
        tags = f"  [{' '.join(row['tags'])}]" if row["tags"] else ""
        print(f"{row['run_id']:<20} {row['status']:<11} {row['epoch']:>5} {acc_text:>8}  {row['name']}{tags}")
    return 0


def add_queue_positions(store: RunStore, rows: list[dict]) -> None:
    """A queued run's place in line (1: next) and estimated wait in seconds (None: unknown yet)."""
    from engine.jobs.queue import queue_info
    from engine.jobs.settings import settings

    slots = settings(store.home)["max_concurrent"]
    for row in rows:
        info = queue_info(store, row["run_id"], slots) if row["status"] == "queued" else None
        if info:
            row.update(queue_position=info["position"], queue_wait_seconds=info["wait_seconds"])


def run_tag(args) -> int:
    if not args.add and not args.remove:
        raise ValueError("nothing to change. Fix: --add NAME or --remove NAME")
    tags = RunStore(args.home).change_tags(args.run_id, add=args.add, remove=args.remove)
    emit({"run_id": args.run_id, "tags": tags}, args.json)
    return 0


def run_note(args) -> int:
    note = RunStore(args.home).set_note(args.run_id, args.text)
    emit({"run_id": args.run_id, "note": note}, args.json)
    return 0
