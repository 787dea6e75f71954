"""CLI conventions: --version, internal commands hidden from --help, --wait exits non-zero when the run failed,
--json keeps stdout for JSON and the progress on a terminal's stderr."""

from __future__ import annotations

import io
import json
import sys

import pytest
from jobhelpers import stop_runs_and_supervisor

from engine import __version__
from engine.cli import main


def test_version_and_the_internal_commands_hidden_from_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"python -m engine {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    commands = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert "submit" in commands and "worker" not in commands and "supervise" not in commands
    with pytest.raises(SystemExit) as done:
        main(["worker", "--help"])  # still there for the JobRunner
    assert done.value.code == 0 and "train one queued run" in capsys.readouterr().out


def test_submit_wait_exits_non_zero_with_the_error_when_the_run_fails(home, capsys):
    try:
        code = main(["submit", "--dataset", "mnist", "--model", "mlp", "--epochs", "1", "--wait"])
    finally:
        stop_runs_and_supervisor(home)
    captured = capsys.readouterr()
    final = json.loads(captured.out.splitlines()[-1])
    assert code == 1 and final["status"] == "failed"
    assert "python -m engine fetch mnist" in captured.err and captured.err.startswith("error: run ")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_keeps_the_progress_on_a_terminals_stderr(home, capsys, monkeypatch):
    argv = ["train", "--dataset", "digits", "--model", "mlp", "--epochs", "2", "--width", "16", "--layers", "1",
            "--json"]
    assert main(argv) == 0
    quiet = capsys.readouterr()
    assert "epoch" not in quiet.err  # stderr is not a terminal: nothing but JSON anywhere
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["done"]  # stdout: one JSON object
    assert "epoch   2" in terminal.getvalue() and "run " in terminal.getvalue()
