"""`tune`: an Optuna study driven from this process; each trial is a run queued for a worker (see engine.tune).

The train flags given on the command line are fixed; the other searchable settings are searched.
"""

from __future__ import annotations

import argparse
import time

from engine.cli import emit
from engine.cli.flags import add_run_flags, config_from_args
from engine.config.options import ConfigError
from engine.models import MODELS


def register(sub) -> None:
    p = sub.add_parser("tune", help="search hyperparameters with Optuna; each trial is a run on the Runs page",
                       description="Search lr, batch size and the model's width/hidden size, dropout and layers. "
                                   "The run flags given are fixed settings; those are not searched.")
    add_run_flags(p)
    p.add_argument("--trials", type=int, default=20, help="number of trials (runs) (default 20)")
    p.add_argument("--study", default=None, help="study name (new; default: DATASET-MODEL-date)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="start no trial after S seconds")
    p.add_argument("--search", default=None, metavar="NAMES",
                   help="comma-separated settings to search (default: every searchable one not given as a flag)")
    p.add_argument("--models", default=None, metavar="NAMES", help="comma-separated models: search the model type too")
    p.add_argument("--pruner", choices=("median", "none"), default="median",
                   help="median: stop a trial whose valid accuracy is below the median of earlier trials at "
                        "the same epoch (default); none: every trial runs all its epochs")
    p.add_argument("--json", action="store_true", help="one JSON line per finished trial, then one for the study")
    p.add_argument("--owner", default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_tune)


def fixed_settings(args: argparse.Namespace) -> set[str]:
    """The settings given as flags (train flags default to 'not given')."""
    return {k.split("__", 1)[1] for k in vars(args) if k.startswith(("core__", "extra__"))}


def run_tune(args) -> int:
    import optuna

    from engine import tune

    if getattr(args, "init_from", None):
        raise ConfigError("--init-from does not apply to tune: every trial starts from fresh weights")
    base = config_from_args(args)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else [base.model]
    fixed = fixed_settings(args)
    wanted = [s.strip() for s in args.search.split(",") if s.strip()] if args.search else None
    clash = sorted(fixed & set(wanted or ()))
    if clash:
        raise ConfigError(f"{', '.join(clash)} given both as a fixed flag and in --search. Fix: drop one of them")
    searchable = [n for m in models if m in MODELS for n in tune.searchable(m)]
    search = [n for n in (wanted or dict.fromkeys(searchable)) if n not in fixed]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = tune.tune(base, args.trials, home=args.home, search=search, models=models, study_name=args.study,
                      timeout=args.timeout, owner=args.owner,
                      pruner=optuna.pruners.NopPruner() if args.pruner == "none" else None,
                      on_trial=lambda row: emit_trial(row, args.json))
    summary = {**tune.study_summary(study), "seconds": round(time.perf_counter() - t0, 2)}
    summary.pop("running")
    emit(summary, args.json)
    return 0 if summary["complete"] else 1


def emit_trial(row: dict, as_json: bool) -> None:
    if as_json:
        emit({"trial": row.pop("number"), **row}, True)
        return
    value = "-" if row["value"] is None else f"{row['value']:.4f}"
    params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["params"].items())
    print(f"trial {row['number']:3d} {row['state']:<8} {value}  run {row['run_id']}  {params}"
          + (f"  ({row['message']})" if row["message"] else ""), flush=True)
