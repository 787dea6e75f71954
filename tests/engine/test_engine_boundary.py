"""The engine never imports streamlit: pages -> ui -> engine, one way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import importlib, pkgutil, sys
import engine
names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if m.name != "engine.__main__"]
for name in names:
    importlib.import_module(name)
bad = sorted(m for m in sys.modules if m == "streamlit" or m.startswith("streamlit."))
print(len(names), bad)
sys.exit(1 if bad else 0)
"""


def test_importing_every_engine_module_never_imports_streamlit():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    count = int(out.stdout.split()[0])
    assert count > 20  # the walk really visited the engine


ALONE = """
import importlib, pkgutil, sys
import engine
names = [m.name for m in pkgutil.walk_packages(engine.__path__, "engine.") if m.name != "engine.__main__"]
failed = []
for name in names:  # each module imported first, as a script or a worker would (no import-order luck)
    for loaded in [m for m in sys.modules if m == "engine" or m.startswith("engine.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {exc!r}")
print(len(names))
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_engine_module_imports_on_its_own():
    out = subprocess.run([sys.executable, "-c", ALONE], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert int(out.stdout.split()[0]) > 20
