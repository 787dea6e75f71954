"""`python -m engine ...`: everything the dashboard does, headless.

Each command lives in a module with `register(subparsers)`; add a module to COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from engine.checkpoint import CheckpointError
from engine.download import DataMissingError
from engine.options import ConfigError
from engine.store import RunNotFound

COMMAND_MODULES = ("engine.cli.data_cmds", "engine.cli.train_cmds", "engine.cli.jobs_cmds",
                   "engine.cli.predict_cmd", "engine.cli.labs_cmds",
                   "engine.cli.export_cmd")

USER_ERRORS = (ConfigError, DataMissingError, CheckpointError, RunNotFound, FileNotFoundError, ValueError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="NN Lab engine")
    parser.add_argument("--home", help="data home (default $NNLAB_HOME or ~/.nnlab)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as exc:
        message = str(exc) if not isinstance(exc, RunNotFound) else str(exc)
        if getattr(args, "json", False):
            print(json.dumps({"error": message}))
        print(f"error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def emit(obj, as_json: bool) -> None:
    """Print one result: a JSON line, or readable key: value lines."""
    if as_json:
        print(json.dumps(obj, default=str), flush=True)
    else:
        for key, value in obj.items():
            if isinstance(value, float):
                value = f"{value:.4f}"
            print(f"{key:>12}: {value}")
