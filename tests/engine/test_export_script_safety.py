"""Issue 26: nothing from a checkpoint or its file name becomes code in the exported predict.py."""

from __future__ import annotations

import ast
import subprocess
import sys

import torch

from engine.cli import main
from engine.config.run_config import make_config
from engine.models import build_model
from engine.training import checkpoint

EVIL = 'best"+str(open("X","w"))+"'


def digits_checkpoint(title_arg: str = "") -> dict:
    """An untrained linear digits model as NN Lab checkpoints it (enough to export a script)."""
    torch.manual_seed(0)
    cfg = make_config(dataset="digits", model="linear", device="cpu")
    spec = {"input_dim": 64, "image_shape": (8, 8), "num_outputs": 10, "classes": [str(i) for i in range(10)],
            "task": "classification", "dataset": "digits", "kind": "image"}
    net = build_model(cfg.model, cfg.model_args, spec)
    return {"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": {"kind": "flat_pixels", "shape": [8, 8]},
            "spec": spec, "epoch": 1}


def test_an_injected_checkpoint_name_stays_a_name_in_predict_py(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / f"{EVIL}.pt"
    checkpoint.save(path, digits_checkpoint())
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    assert main(["export", "--checkpoint", str(path), "--format", "script", "--out", str(out)]) == 0
    assert not (tmp_path / "X").exists()
    proc = subprocess.run([sys.executable, "-I", str(out / "predict.py"), "--help"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "X").exists() and not (out / "X").exists()
    assert EVIL in proc.stdout.replace("\n", "")  # argparse may wrap the description; the name is shown as it is
    # the name is a string literal only: not in the docstring, never part of an expression
    tree = ast.parse((out / "predict.py").read_text())
    assert EVIL not in ast.get_docstring(tree)
    literals = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert EVIL in literals
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "open"]


def test_settings_that_look_like_code_are_literals_too(tmp_path):
    from engine.predict.export import ExportSource, export

    ckpt = digits_checkpoint()
    ckpt["config"]["model_args"]["bias"] = True
    src = ExportSource(ckpt, run_id='r"""\nimport os; os.system("touch Y")\n"""')
    export(src, "script", tmp_path)
    proc = subprocess.run([sys.executable, "-I", str(tmp_path / "predict.py"), "--help"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "Y").exists()
    tree = ast.parse((tmp_path / "predict.py").read_text())
    assert "os.system" not in ast.get_docstring(tree)
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import) and any(a.name == "os" for a in n.names)]
