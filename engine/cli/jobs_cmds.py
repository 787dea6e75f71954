"""Run control: submit, status, cancel, resume."""

from __future__ import annotations

import sys

from engine.cli import emit
from engine.cli.flags import add_run_flags, config_from_args, init_source


def register(sub) -> None:
    p = sub.add_parser("submit", help="queue a run; it trains in a worker process (a Ray task with NNLAB_BACKEND=ray) "
                       "that outlives this command")
    add_run_flags(p)
    p.add_argument("--owner", default=None)
    p.add_argument("--wait", action="store_true", help="wait until the run ends and print its status")
    p.set_defaults(func=run_submit)

    for name, helptext in (("status", "a run's status"), ("cancel", "stop a run at its next batch"),
                           ("resume", "continue an interrupted run from last.pt")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("run_id")
        q.add_argument("--json", action="store_true")
        if name == "resume":
            q.add_argument("--wait", action="store_true")
            q.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default=None,
                           help="continue on this device instead of the run's own (e.g. cpu for a cuda run "
                                "on a machine without a GPU)")
        q.set_defaults(func=run_control)


def run_submit(args) -> int:
    from engine.jobs.backends import make_runner

    parent, base = init_source(args, args.home)
    cfg = config_from_args(args, base)
    runner = make_runner(args.home)
    run_id = runner.submit(cfg, owner=args.owner, parent=parent)
    emit({"run_id": run_id}, True)
    if args.wait:
        run = runner.wait(run_id, timeout=24 * 3600)
        emit({"run_id": run_id, "status": run["status"], "error": run["error"]}, True)
        return ended(run)
    return 0


def ended(run: dict) -> int:
    """The exit status of a waited-for run: 0 when it is done or stopped, else 1 with its error on stderr."""
    if run["status"] in ("done", "stopped"):
        return 0
    print(f"error: run {run['id']} {run['status']}: {run.get('error') or 'no reason recorded'}", file=sys.stderr)
    return 1


def run_control(args) -> int:
    from engine.jobs.backends import make_runner

    runner = make_runner(args.home)
    if args.command == "cancel":
        runner.cancel(args.run_id)
    elif args.command == "resume":
        if args.device:
            runner.store.set_device(args.run_id, args.device)
        runner.resume(args.run_id)
        if args.wait:
            run = runner.wait(args.run_id, timeout=24 * 3600)
            emit(runner.status(args.run_id), args.json)
            return ended(run)
    emit(runner.status(args.run_id), args.json)
    return 0
