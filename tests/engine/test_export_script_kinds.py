"""The standalone predict.py for the runs whose inputs are word ids, subword ids (the transformer) or table rows: it runs the ONNX export through
onnxruntime in a fresh process (no NN Lab on the path) and predicts what the engine predicts."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch
from exporthelpers import HEADLINES, source

from engine.cli import main
from engine.predict.export import export


def run_script(folder, *args) -> list[dict]:
    proc = subprocess.run([sys.executable, "-I", str(folder / "predict.py"), *args], capture_output=True, text=True,
                          timeout=300, cwd=folder.parent)  # -I: no NN Lab on the path
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def assert_same(results, expected: torch.Tensor, classes) -> None:
    got = torch.tensor([[r["probs"][c] for c in classes] for r in results])
    assert torch.allclose(got, expected.double().float(), atol=1e-4), (got - expected).abs().max()
    assert [r["label"] for r in results] == [classes[i] for i in expected.argmax(1)]


@pytest.mark.parametrize("kind", ["textcnn", "rnn-gru-bi-last"])
def test_script_of_a_word_id_model_predicts_like_the_engine(kind, tmp_path):
    src = source(kind)
    out = tmp_path / "out"
    files = export(src, "script", out)
    assert {f.name for f in files} >= {"predict.py", "model.onnx", "featurizer.json", "MODEL_CARD.md"}
    (tmp_path / "in.txt").write_text("\n".join(HEADLINES), encoding="utf-8")
    results = run_script(out, "--input-file", str(tmp_path / "in.txt"))
    assert_same(results, src.predictor.probabilities(HEADLINES), src.spec["classes"])
    assert run_script(out, "--text", HEADLINES[0])[0] == results[0]


def test_script_of_a_table_model_reads_json_rows_and_csv(tmp_path):
    src = source("table-mlp")
    out = tmp_path / "out"
    export(src, "script", out)
    rows = [{"hp": 10.0, "attack": 5.0, "type": "fire"}, {"hp": 90.0, "attack": 100.0, "type": "grass"},
            {"attack": 70.0, "type": "water"}]  # an unseen category; a missing number (the training mean)
    expected = src.predictor.probabilities(pd.DataFrame(rows, columns=["hp", "attack", "type"]))
    assert_same(run_script(out, *[a for r in rows for a in ("--row", json.dumps(r))]), expected,
                src.spec["classes"])
    (tmp_path / "rows.csv").write_text("hp,attack,type\n10,5,fire\n90,100,grass\n,70,water\n", encoding="utf-8")
    assert_same(run_script(out, "--csv", str(tmp_path / "rows.csv")), expected, src.spec["classes"])
    proc = subprocess.run([sys.executable, "-I", str(out / "predict.py"), "--row", '{"speed": 3}'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "unknown column" in proc.stderr


def test_script_of_a_cnn_and_of_the_closed_form_gaussian(tmp_path):
    import numpy as np

    cnn = source("cnn")  # the torch script: the CNN class and its pixel featurizer copied from the engine
    export(cnn, "script", tmp_path / "cnn")
    images = np.random.default_rng(2).random((4, 8, 8), dtype=np.float32)
    np.save(tmp_path / "in.npy", images)
    assert_same(run_script(tmp_path / "cnn", "--npy", str(tmp_path / "in.npy")), cnn.predictor.probabilities(images),
                cnn.spec["classes"])
    gaussian = source("generative")  # a table run: through onnxruntime
    export(gaussian, "script", tmp_path / "gauss")
    rows = [{"hp": 10.0, "attack": 5.0, "type": "fire"}, {"hp": 90.0, "attack": 100.0, "type": "grass"}]
    assert_same(run_script(tmp_path / "gauss", *[a for r in rows for a in ("--row", json.dumps(r))]),
                gaussian.predictor.probabilities(pd.DataFrame(rows)), gaussian.spec["classes"])


TRICKY = ["Fed raises interest rates as inflation climbs", "\u00dcn\u00efc\u00f6d\u00e9 \u0130stanbul stra\u00dfe \ufb01x caf\u00e9",
          "x" * 2500 + " apple", "Apple unveils a new iPhone " * 20, "\U0001f600"]


@pytest.mark.slow  # MiniLM: a 90 MB ONNX graph (~35 s to convert)
def test_script_of_the_transformer_tokenizes_with_its_tokenizer_and_predicts_like_the_engine(tmp_path):
    src = source("transformer")
    ckpt = tmp_path / "best.pt"
    torch.save({"format": 1, **src.ckpt}, ckpt)
    out = tmp_path / "out"
    assert main(["--home", str(tmp_path / "home"), "export", "--checkpoint", str(ckpt), "--format", "script",
                 "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"predict.py", "model.onnx", "tokenizer.json", "featurizer.json"}
    (tmp_path / "in.txt").write_text("\n".join(TRICKY), encoding="utf-8")
    results = run_script(out, "--input-file", str(tmp_path / "in.txt"))  # past max_tokens, past MAX_CHARS, emoji
    assert_same(results, src.predictor.probabilities(TRICKY), src.spec["classes"])
    cli = subprocess.run([sys.executable, "-m", "engine", "--home", str(tmp_path / "home"), "predict", "--checkpoint",
                          str(ckpt), "--text", TRICKY[0], "--json"], capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    assert run_script(out, "--text", TRICKY[0])[0]["label"] == json.loads(cli.stdout)["label"] == results[0]["label"]
