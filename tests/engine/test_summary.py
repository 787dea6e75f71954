"""The layer table before training: built on the meta device, it allocates no weights, and its counts and
shapes are those of the real model."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from engine.cli import main
from engine.config.run_config import make_config
from engine.models import build_model, count_parameters
from engine.models.summary import summarize

IMAGE = {"input_dim": 64, "num_outputs": 10, "image_shape": (8, 8), "task": "classification", "kind": "image"}
TEXT = {"input_dim": 50, "num_outputs": 4, "vocab_size": 300, "task": "classification", "kind": "text"}


def model_args(name: str, **changes) -> dict:
    return {**make_config(model=name, dataset="news" if name in ("rnn", "textcnn", "transformer") else "digits").model_args,
            **changes}


def test_a_wide_deep_mlp_summary_allocates_almost_nothing_and_counts_like_the_real_build():
    args = model_args("mlp", layers=8, width=4096)
    summarize("mlp", model_args("mlp", layers=1, width=4), IMAGE, batch=32)  # lazy imports and meta kernels first
    tracemalloc.start()
    summary = summarize("mlp", args, IMAGE, batch=32)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2 * 2 ** 20  # the weights alone are 471 MB of float32
    real = build_model("mlp", args, IMAGE)
    assert summary["total_params"] == count_parameters(real)[0] == 117_809_290
    assert sum(r["params"] for r in summary["layers"]) == summary["total_params"]
    linears = [r for r in summary["layers"] if r["type"] == "Linear"]
    assert [r["output_shape"] for r in linears] == [[32, 4096]] * 8 + [[32, 10]]


@pytest.mark.parametrize("name,spec,changes", [
    ("linear", IMAGE, {}),
    ("cnn", IMAGE, {"layers": 3}),
    ("rnn", TEXT, {"init_vectors": "none", "unknown_vectors": False, "bidirectional": True, "pool": "attn"}),
    ("rnn", TEXT, {"init_vectors": "none", "unknown_vectors": False, "cell": "lstm", "pool": "last", "layers": 2}),
    ("textcnn", TEXT, {"init_vectors": "none", "widths": (2, 3)}),
])
def test_counts_and_output_shape_match_a_real_model(name, spec, changes):
    args = model_args(name, **changes)
    summary = summarize(name, args, spec, batch=5)
    real = build_model(name, args, dict(spec))
    assert (summary["total_params"], summary["trainable_params"]) == count_parameters(real)
    assert "note" not in summary
    assert summary["layers"][-1]["output_shape"] == [5, spec["num_outputs"]]
    assert all(p.device.type == "cpu" for p in real.parameters())  # the meta build left the registry alone


def test_embedding_from_glove_is_sized_without_reading_the_vectors(monkeypatch):
    import engine.models.embedding as embedding

    monkeypatch.setattr(embedding, "load_vectors", lambda *a, **k: pytest.fail("the summary read word vectors"))
    summary = summarize("rnn", model_args("rnn", emb_size=64), TEXT, batch=2)
    emb = summary["layers"][0]
    assert emb["type"] == "Embedding" and emb["output_shape"] == [2, 16, 64] and emb["params"] == 300 * 64


def test_transformer_skeleton_counts_like_the_pretrained_model_and_reads_no_weights(monkeypatch):
    import engine.models.transformer as transformer

    real = build_model("transformer", model_args("transformer"), TEXT)
    monkeypatch.setattr(transformer, "load_encoder", lambda: pytest.fail("the summary read pretrained weights"))
    summary = summarize("transformer", model_args("transformer"), TEXT, batch=3)
    assert (summary["total_params"], summary["trainable_params"]) == count_parameters(real)
    assert summary["layers"][-1]["output_shape"] == [3, 4]
    frozen = [r for r in summary["layers"] if r["trainable"] is False]
    assert [r["name"] for r in frozen] == ["encoder.embeddings.word_embeddings"]


def test_summary_command_prints_the_layers_of_the_train_flags(home, capsys):
    assert main(["summary", "--dataset", "digits", "--model", "mlp", "--layers", "3", "--width", "20",
                 "--batch-size", "16", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["input_shape"] == [16, 64]
    assert [r["output_shape"] for r in out["layers"] if r["type"] == "Linear"] == [[16, 20]] * 3 + [[16, 10]]
    cfg = make_config(dataset="digits", model="mlp", model_args={"layers": 3, "width": 20})
    real = build_model("mlp", cfg.model_args, IMAGE)
    assert out["total_params"] == count_parameters(real)[0]
