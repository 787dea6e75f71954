"""requirements.txt (runtime: direct, then indirect pins) and requirements-dev.txt (test-only) say what is installed."""

from __future__ import annotations

import re
from importlib import metadata

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s#]+)")


def pins(name: str) -> dict[str, str]:
    out = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{name}: {line!r} is not pinned with =="
        assert match[1].lower() not in out, f"{name}: {match[1]} twice"
        out[match[1].lower()] = match[2]
    return out


def test_every_pin_is_what_is_installed_and_runtime_and_test_only_are_apart():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert not set(runtime) & set(dev)
    assert runtime["torch"] == "2.13.0"
    assert {"onnx", "onnxscript", "onnxruntime", "tensorboard"} <= set(runtime)
    assert {"pytest", "playwright", "ruff"} <= set(dev)
    for name, version in {**runtime, **dev}.items():
        assert metadata.version(name).split("+")[0] == version, name  # torch 2.13.0+cpu is 2.13.0


def test_the_indirect_section_follows_the_direct_one():
    text = (ROOT / "requirements.txt").read_text()
    direct, indirect = text.split("# --- indirect")
    assert "scipy==" in indirect and "scipy==" not in direct  # scikit-learn's and gensim's, not ours
    assert "torch==" in direct
