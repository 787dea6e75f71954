"""`python -m engine ...`: everything the dashboard does, headless.

Each command lives in a module with `register(subparsers)`; add a module to COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys

from engine import __version__

COMMAND_MODULES = ("engine.cli.data_cmds", "engine.cli.train_cmds", "engine.cli.jobs_cmds",
                   "engine.cli.predict_cmd", "engine.cli.labs_cmds",
                   "engine.cli.export_cmd", "engine.cli.internal_cmds", "engine.cli.tune_cmd",
                   "engine.cli.tracker_cmds", "engine.cli.inside_cmds")
# command -> the module that registers it: a command is parsed without importing the other command modules (their
# imports cost seconds: torch, pandas...). A command missing here still works, through the full parser.
COMMANDS = {"fetch": "engine.cli.data_cmds", "train": "engine.cli.train_cmds", "predict": "engine.cli.predict_cmd",
            "export": "engine.cli.export_cmd", "tune": "engine.cli.tune_cmd",
            **dict.fromkeys(("submit", "status", "cancel", "resume"), "engine.cli.jobs_cmds"),
            **dict.fromkeys(("gradcheck", "timing"), "engine.cli.labs_cmds"),
            **dict.fromkeys(("worker", "supervise", "export-job"), "engine.cli.internal_cmds"),
            **dict.fromkeys(("runs", "tag", "note"), "engine.cli.tracker_cmds"),
            **dict.fromkeys(("summary", "layers", "boundary", "explain", "projector"), "engine.cli.inside_cmds")}


def build_parser(modules=COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="NN Lab engine")
    parser.add_argument("--home", help="data home (default $NNLAB_HOME or ~/.nnlab)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def _command(argv: list[str]) -> str | None:
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--home" else 1
    return argv[i] if i < len(argv) else None


def user_errors() -> tuple[type[BaseException], ...]:
    from engine.config.options import ConfigError
    from engine.data.download import DataMissingError
    from engine.jobs.store import RunNotFound
    from engine.training.checkpoint import CheckpointError

    return ConfigError, DataMissingError, CheckpointError, RunNotFound, FileNotFoundError, ValueError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = _command(argv)
    parser = build_parser((COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if not isinstance(exc, user_errors()):
            raise
        message = str(exc)
        if getattr(args, "json", False):
            print(json.dumps({"error": message}))
        print(f"error: {message}", file=sys.stderr)
        return 2


def emit(obj, as_json: bool) -> None:
    """Print one result: a JSON line, or readable key: value lines."""
    if as_json:
        print(json.dumps(obj, default=str), flush=True)
    else:
        for key, value in obj.items():
            if isinstance(value, float):
                value = f"{value:.4f}"
            print(f"{key:>12}: {value}")
