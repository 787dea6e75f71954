"""Exports round-trip: the standalone script (run in a fresh process), torch.export + featurizer JSON,
weights as JSON, the checkpoint; and predicting from a checkpoint copied elsewhere (safely)."""

from __future__ import annotations

import ast
import json
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import shared

from engine.cli import main
from engine.config.run_config import make_config
from engine.features import MeanVectors, featurizer_from_state, text
from engine.jobs.store import RunStore
from engine.models import build_model
from engine.predict.export import (
    ExportError,
    ExportSource,
    export,
    featurizer_files,
    portable,
    source_from_checkpoint,
    source_from_run,
)
from engine.predict.predictor import Predictor
from engine.training import checkpoint
from engine.training.run import execute

SCRIPT_IMPORTS = {"__future__", "argparse", "json", "pathlib", "numpy", "torch", "re", "unicodedata"}
TRICKY = [
    "Obama\u2019s COVID-19 plan \u2014 \u201cdon\u2019t panic\u201d",
    "\ufb01x the na\u00efve caf\u00e9",  # ligature fi (NFKC), accents
    "\uff21\uff30\uff30\uff2c\uff25 unveils iPhone",  # full-width letters
    "snake_case and__double underscores",
    "e-mail re-tweet --dash-- 'quoted' '' -",
    "\u00dcn\u00efc\u00f6d\u00e9 \u0130stanbul stra\u00dfe STRASSE",
    "\u0661\u0662\u0663 digits and emoji \U0001f600\U0001f34e apple",
    "apple's stocks fall; oil's up: U.S. economy",
    "x" * 2500 + " apple",  # past MAX_CHARS
]
WORDS = ["apple", "unveils", "iphone", "stocks", "fall", "oil", "obama", "'s", "covid", "19", "naïve", "café",
         "don't", "fix", "the", "e", "mail", "tweet", "plan", "panic", "u", "economy", "straße", "123", "digits"]


def run_script(folder: Path, *args: str) -> list[dict]:
    proc = subprocess.run([sys.executable, "-I", str(folder / "predict.py"), *args], capture_output=True,
                          text=True, timeout=300, cwd=folder.parent)  # -I: no NN Lab on the path
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def script_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return {n.split(".")[0] for n in names}


def assert_same_probs(results: list[dict], expected: torch.Tensor, classes: list[str]) -> None:
    got = torch.tensor([[r["probs"][c] for c in classes] for r in results])
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=0), (got - expected).abs().max()
    assert [r["label"] for r in results] == [classes[i] for i in expected.argmax(1)]


def text_checkpoint(model: str = "mlp", dim: int = 8, seed: int = 0) -> dict:
    """A small text model with its own (w2v-style) vectors, as NN Lab checkpoints it."""
    torch.manual_seed(seed)
    args = {"layers": 1, "width": 16, "input_norm": False} if model == "mlp" else {}
    cfg = make_config(dataset="news", model=model, features="w2v", model_args=args)
    spec = {"input_dim": dim, "num_outputs": 4, "classes": ["business", "science/tech", "entertainment", "health"],
            "task": "classification", "dataset": "news", "kind": "text"}
    matrix = np.random.default_rng(seed).normal(size=(len(WORDS), dim)).astype(np.float32)
    feat = MeanVectors("w2v", 1, words=WORDS, matrix=matrix)
    net = build_model(cfg.model, cfg.model_args, spec)
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
    return {"model": net.state_dict(), "config": cfg.to_dict(), "featurizer": feat.state(), "spec": spec, "epoch": 1}


@pytest.fixture(scope="module")
def digits_runs(tmp_path_factory):
    """A trained linear and MLP run on the embedded digits."""
    home = tmp_path_factory.mktemp("digits_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        store = RunStore(home)
        runs = {}
        for model, args in (("linear", {}), ("mlp", {"layers": 2, "width": 32})):
            run_id = store.create_run(make_config(dataset="digits", model=model, device="cpu", epochs=2,
                                                  model_args=args), status="running")
            assert execute(store, run_id)["status"] == "done"
            runs[model] = run_id
        yield home, runs


@pytest.fixture(scope="module")
def news_run(tmp_path_factory):
    """A news MLP on GloVe trained briefly on the real split."""
    from engine.data import news

    src = shared("news_aggregator")
    home = tmp_path_factory.mktemp("news_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNLAB_HOME", str(home))
        news.fetch(home, from_dir=src)
        store = RunStore(home)
        run_id = store.create_run(make_config(dataset="news", model="mlp", device="cpu", epochs=1,
                                              model_args={"layers": 1, "width": 64}), status="running")
        assert execute(store, run_id)["status"] == "done"
        yield home, run_id


# --- script ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_script_digits_predicts_like_the_engine(digits_runs, model, tmp_path):
    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs[model])
    files = export(src, "script", tmp_path / "out")
    assert {f.name for f in files} == {"predict.py", "model.pt"}
    assert script_imports(tmp_path / "out" / "predict.py") <= SCRIPT_IMPORTS
    from engine.data.digits import load

    images = load(home).test.x[:25]
    np.save(tmp_path / "digits.npy", images)
    results = run_script(tmp_path / "out", "--npy", str(tmp_path / "digits.npy"))
    assert_same_probs(results, src.predictor.probabilities(images), src.predictor.classes)


def test_script_text_with_run_vectors_matches_engine_and_tokenizer(tmp_path):
    src = ExportSource(text_checkpoint(), run_id="w2v-run")
    out = tmp_path / "out"
    files = export(src, "script", out)
    assert {f.name for f in files} == {"predict.py", "model.pt", "vectors.npz"}
    assert script_imports(out / "predict.py") <= SCRIPT_IMPORTS
    # the script's tokenizer is the engine's: identical tokens and words on tricky inputs
    ns = runpy.run_path(str(out / "predict.py"), run_name="exported")
    known = src.predictor.featurizer.kv.key_to_index
    for item in [*TRICKY, "", "  \t\n  ", "a\nb"]:
        assert ns["normalize"](item) == text.normalize(item)
        assert ns["tokenize"](item) == text.tokenize(item)
        assert ns["words_of"](item, known) == src.predictor.featurizer._words(item)
    # and a fresh process predicts the same probabilities
    (tmp_path / "in.txt").write_text("\n".join(TRICKY), encoding="utf-8")
    results = run_script(out, "--input-file", str(tmp_path / "in.txt"), "--tokens")
    assert_same_probs(results, src.predictor.probabilities(TRICKY), src.predictor.classes)
    assert [r["tokens"] for r in results] == [text.tokenize(t) for t in TRICKY]
    assert any(r["words"] for r in results) and any(set(r["words"]) < set(r["tokens"]) for r in results)


def test_script_top_words_keeps_the_most_frequent_vectors(tmp_path):
    src = ExportSource(text_checkpoint(model="linear"), run_id="w2v-run")
    export(src, "script", tmp_path, top_words=5)
    with np.load(tmp_path / "vectors.npz") as data:
        assert data["words"].tobytes().decode().split("\n") == WORDS[:5]
        assert data["matrix"].shape == (5, 8)
    with pytest.raises(ExportError, match="positive"):
        export(src, "script", tmp_path / "bad", top_words=-1)


def test_script_models_without_an_entry_are_built_by_parameter_names(digits_runs, tmp_path, monkeypatch):
    from engine.predict.export import templates

    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs["mlp"])
    with_entry = export(src, "script", tmp_path / "a")[0].read_text()
    monkeypatch.delitem(templates.SCRIPT_MODELS, "mlp")
    assert export(src, "script", tmp_path / "b")[0].read_text() == with_entry


def test_script_refuses_a_model_call_that_does_not_reproduce_the_model(digits_runs, tmp_path, monkeypatch):
    from engine.predict.export import templates

    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs["mlp"])
    monkeypatch.setitem(templates.SCRIPT_MODELS, "mlp", lambda args, spec: (
        "MLP", {"input_dim": spec["input_dim"], "num_outputs": spec["num_outputs"], **args, "activation": "tanh"}))
    with pytest.raises(ExportError, match="computes something else"):
        export(src, "script", tmp_path)
    monkeypatch.setitem(templates.SCRIPT_MODELS, "mlp", lambda args, spec: (
        "MLP", {"input_dim": spec["input_dim"], "num_outputs": spec["num_outputs"], **args, "width": 7}))
    with pytest.raises(ExportError, match="does not take the trained weights"):
        export(src, "script", tmp_path)
    assert not (tmp_path / "predict.py").exists()


@pytest.mark.slow
def test_script_news_glove_predicts_like_the_engine(news_run, tmp_path):
    home, run_id = news_run
    src = source_from_run(RunStore(home), run_id)
    out = tmp_path / "out"
    export(src, "script", out)  # all 400k GloVe words
    with np.load(out / "vectors.npz") as data:
        assert data["matrix"].shape == (400_000, 50)
    (tmp_path / "in.txt").write_text("\n".join(TRICKY + ["Fed raises interest rates again"]), encoding="utf-8")
    results = run_script(out, "--input-file", str(tmp_path / "in.txt"))
    assert_same_probs(results, src.predictor.probabilities(TRICKY + ["Fed raises interest rates again"]),
                      src.predictor.classes)


# --- torch-export (replaces TorchScript) + the featurizer description ------------------------------
def _torch_export_roundtrip(src: ExportSource, raw, folder: Path, home=None) -> None:
    files = export(src, "torch-export", folder)
    assert folder / "model.pt2" in files and folder / featurizer_files.FEATURIZER_FILE in files
    loaded = torch.export.load(str(folder / "model.pt2")).module()
    featurizer = featurizer_from_state(featurizer_files.read_featurizer_state(folder), home)
    x = featurizer.transform(raw)
    assert torch.equal(x, src.predictor.featurizer.transform(raw))
    with torch.no_grad():
        assert torch.allclose(loaded(x), src.model(x), atol=1e-5)
    doc = json.loads((folder / featurizer_files.FEATURIZER_FILE).read_text())
    assert doc["classes"] == src.predictor.classes
    assert doc["inputs"] == [{"name": "x", "shape": ["batch", *x.shape[1:]], "dtype": "float32"}]


def test_torch_export_roundtrip_digits(digits_runs, tmp_path):
    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs["mlp"])
    from engine.data.digits import load

    _torch_export_roundtrip(src, load(home).test.x[:37], tmp_path)  # another batch size than traced


def test_torch_export_roundtrip_text_with_vectors_in_npz(tmp_path):
    src = ExportSource(text_checkpoint(), run_id="w2v-run")
    _torch_export_roundtrip(src, TRICKY, tmp_path)
    assert (tmp_path / featurizer_files.FEATURIZER_ARRAYS).exists()


@pytest.mark.slow
def test_torch_export_roundtrip_news_glove(news_run, tmp_path):
    home, run_id = news_run
    _torch_export_roundtrip(source_from_run(RunStore(home), run_id), TRICKY, tmp_path, home)


def test_the_torchscript_path_and_its_warning_filter_are_gone():
    from engine.predict.export import FORMATS

    assert "torchscript" not in FORMATS and {"onnx", "torch-export"} <= set(FORMATS)
    folder = Path(portable.__file__).parent
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert "torch.jit" not in text and 'simplefilter("ignore", DeprecationWarning)' not in text, path.name


# --- weights as JSON --------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_weights_json_roundtrips_exactly(digits_runs, model, tmp_path):
    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs[model])
    export(src, "weights-json", tmp_path)
    back = portable.read_weights_json(tmp_path / "weights.json")
    state = src.state_dict
    assert list(back) == list(state)
    for name, tensor in state.items():
        assert back[name].dtype == tensor.dtype and torch.equal(back[name], tensor), name
    doc = json.loads((tmp_path / "weights.json").read_text())
    assert doc["total_numbers"] == sum(t.numel() for t in state.values())
    assert doc["tensors"][0]["shape"] == list(state[next(iter(state))].shape)


def test_weights_json_refuses_big_models(digits_runs, tmp_path, monkeypatch):
    home, runs = digits_runs
    monkeypatch.setattr(portable, "WEIGHTS_JSON_LIMIT", 1000)
    with pytest.raises(ExportError, match="limit is 1,000"):
        export(source_from_run(RunStore(home), runs["mlp"]), "weights-json", tmp_path)
    assert not (tmp_path / "weights.json").exists()


# --- CLI ----------------------------------------------------------------------------------------
def test_cli_export_lists_files_with_sizes(digits_runs, tmp_path, capsys, monkeypatch):
    home, runs = digits_runs
    monkeypatch.setenv("NNLAB_HOME", str(home))
    assert main(["export", runs["linear"], "--format", "weights-json", "--out", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["format"] == "weights-json"
    assert [(Path(f["path"]).name, f["bytes"]) for f in out["files"]] == \
        [("weights.json", (tmp_path / "weights.json").stat().st_size)]
    assert main(["export", runs["linear"], "--format", "script", "--out", str(tmp_path / "s")]) == 0
    listing = capsys.readouterr().out
    assert "predict.py" in listing and "model.pt" in listing and "KB" in listing
    assert main(["export", "no-such-run", "--format", "script", "--out", str(tmp_path)]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


# --- checkpoints: export, copy elsewhere, predict; tampered files refused -------------------------
def test_predict_from_a_checkpoint_copied_elsewhere(tmp_path, capsys):
    ckpt = text_checkpoint()
    store_dir = tmp_path / "elsewhere"
    store_dir.mkdir()
    path = store_dir / "best.pt"
    checkpoint.save(path, ckpt)
    expected = Predictor(ckpt).probabilities(["Apple unveils a new iPhone"])[0]
    exported = export(source_from_checkpoint(path), "checkpoint", tmp_path / "exported")[0]
    slim = torch.load(exported, weights_only=True)
    assert "optimizer" not in slim and set(slim) >= {"model", "config", "featurizer", "spec"}
    for file in (path, exported):
        assert main(["predict", "--checkpoint", str(file), "--text", "Apple unveils a new iPhone", "--json"]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["probs"] == {c: round(float(p), 6) for c, p in zip(ckpt["spec"]["classes"], expected, strict=True)}


@pytest.mark.slow
def test_predict_from_a_real_best_pt_copied_elsewhere(news_run, tmp_path, capsys):
    home, run_id = news_run
    copy = tmp_path / "model.pt"
    shutil.copy(RunStore(home).run_dir(run_id) / "best.pt", copy)
    headline = "Fed raises interest rates again"
    assert main(["--home", str(home), "predict", "--checkpoint", str(copy), "--text", headline, "--json"]) == 0
    from_copy = json.loads(capsys.readouterr().out)
    assert main(["--home", str(home), "predict", run_id, "--text", headline, "--json"]) == 0
    assert from_copy == json.loads(capsys.readouterr().out)


class _Evil:
    def __reduce__(self):
        import os

        return os.system, (f"touch {_Evil.marker}",)


def test_a_tampered_checkpoint_is_refused_and_runs_nothing(tmp_path, capsys):
    _Evil.marker = tmp_path / "pwned"
    ckpt = text_checkpoint()
    ckpt["featurizer"]["extra"] = _Evil()
    path = tmp_path / "best.pt"
    torch.save({"format": 1, **ckpt}, path)
    assert main(["predict", "--checkpoint", str(path), "--text", "Apple unveils a new iPhone"]) == 2
    assert "refused" in capsys.readouterr().err
    assert main(["export", "--checkpoint", str(path), "--format", "script", "--out", str(tmp_path / "o")]) == 2
    assert not _Evil.marker.exists()


def test_script_image_featurizer_without_an_entry_is_copied_from_the_engine(digits_runs, tmp_path, monkeypatch):
    from engine.data.digits import load
    from engine.predict.export import templates

    home, runs = digits_runs
    src = source_from_run(RunStore(home), runs["mlp"])
    monkeypatch.delitem(templates.SCRIPT_INPUTS, "flat_pixels")
    export(src, "script", tmp_path / "out")
    script = (tmp_path / "out" / "predict.py").read_text()
    assert "class FlatPixels" in script and "FlatPixels.from_state(" in script
    assert script_imports(tmp_path / "out" / "predict.py") <= SCRIPT_IMPORTS | {"dataclasses", "collections"}
    images = load(home).test.x[:9]
    np.save(tmp_path / "d.npy", images)
    results = run_script(tmp_path / "out", "--npy", str(tmp_path / "d.npy"))
    assert_same_probs(results, src.predictor.probabilities(images), src.predictor.classes)
