"""`python -m engine` starts with what its command needs: a command is parsed by its own module only, and
`--help` and `predict` import none of the heavy libraries other commands use (transformers, captum, onnx,
pandas...), so the 4000x4000-pixel digit of issue 26 is predicted within seconds. Checked in fresh processes."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

from PIL import Image, ImageDraw

from engine.cli import COMMAND_MODULES, COMMANDS

HEAVY = {"transformers", "captum", "onnx", "onnxruntime", "onnxscript", "tokenizers", "pandas", "sklearn",
         "matplotlib", "gensim", "optuna", "ray", "plotly", "streamlit"}
PROBE = """
import json, runpy, sys
sys.argv, code = ["engine", *sys.argv[1:]], 0
try:
    runpy.run_module("engine", run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code
print("MODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
sys.exit(code)
"""


def engine_modules(*args: str, cwd=None, env=None) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `python -m engine ARGS` in a fresh process: (the process, the top-level modules it imported)."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, **(env or {}), "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                          env=env, cwd=cwd or root)
    line = [x for x in proc.stdout.splitlines() if x.startswith("MODULES ")]
    assert line, proc.stderr[-2000:]
    return proc, set(json.loads(line[-1][len("MODULES "):]))


def test_every_command_is_parsed_by_the_module_that_registers_it():
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        for command in sub.choices:
            assert COMMANDS.get(command) == module, f"add {command!r}: {module!r} to engine.cli.COMMANDS"


def test_help_imports_none_of_the_heavy_libraries():
    proc, modules = engine_modules("--help")
    assert proc.returncode == 0 and "predict" in proc.stdout and not modules & HEAVY, modules & HEAVY


def test_predicting_a_big_picture_imports_none_of_them_and_takes_the_picture_itself(digits_run, tmp_path):
    home, run_id = digits_run
    picture = Image.new("L", (4000, 4000), 255)
    ImageDraw.Draw(picture).line([(1200, 800), (2800, 800), (1800, 3300)], fill=0, width=300)  # a 7
    picture.save(tmp_path / "seven.png")
    proc, modules = engine_modules("predict", run_id, "--input-file", str(tmp_path / "seven.png"), "--json",
                                   env={"NNLAB_HOME": str(home)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.splitlines()[0])["label"] in range(10)
    assert not modules & HEAVY, modules & HEAVY
    (tmp_path / "weights.bin").write_bytes(bytes(range(256)) * 4)  # neither a picture nor text
    proc, _ = engine_modules("predict", run_id, "--input-file", str(tmp_path / "weights.bin"),
                             env={"NNLAB_HOME": str(home)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is not a UTF-8 text file. Fix: give a picture (PNG" in proc.stderr
