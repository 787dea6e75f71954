"""The process entry points the JobRunner starts: `supervise`, `worker` and `export-job`.

Kept free of heavy imports at module level: `python -m engine supervise` starts (and takes its
lock) in well under a second, without loading torch.
"""

from __future__ import annotations


def register(sub) -> None:
    # no help=: argparse leaves a sub-command without help out of `--help`'s list of commands
    w = sub.add_parser("worker", description="(internal) train one queued run")
    w.add_argument("run_id")
    w.add_argument("--concurrent", type=int, default=1)
    w.set_defaults(func=run_worker)

    s = sub.add_parser("supervise", description="(internal) start queued runs in worker processes")
    s.add_argument("--idle-exit", type=float, default=60.0)
    s.set_defaults(func=run_supervise)

    e = sub.add_parser("export-job", description="(internal) prepare one export for the Runs page")
    e.add_argument("run_id")
    e.add_argument("--format", required=True)
    e.add_argument("--out", required=True)
    e.add_argument("--limit", type=float, required=True)
    e.add_argument("--top-words", type=int, default=None)
    e.set_defaults(func=run_export_job)


def run_worker(args) -> int:
    from engine.jobs.store import RunStore
    from engine.training.run import execute
    from engine.training.threads import thread_share

    summary = execute(RunStore(args.home), args.run_id, threads=thread_share(args.concurrent))
    return 0 if summary["status"] != "failed" else 1


def run_supervise(args) -> int:
    from engine.jobs.local import Supervisor

    return Supervisor(args.home).run_forever(idle_exit=args.idle_exit)


def run_export_job(args) -> int:
    from engine.predict.export import job

    options = {"top_words": args.top_words} if args.top_words else {}
    return job.run(args.home, args.run_id, args.format, args.out, options, args.limit)
