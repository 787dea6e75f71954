"""ONNX and torch.export for every model kind: the exported graph reproduces the PyTorch model's logits within 1e-4
on example.npz and on other batch sizes and sequence lengths (the axes are dynamic), run by onnxruntime /
torch.export.load with no NN Lab code in the loop."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from exporthelpers import HEADLINES, source

from engine.predict.export import ExportError, ExportSource, export
from engine.predict.export.inputs import SEQUENCE_NAMES, named, read_example
from engine.predict.export.onnx import run_onnx, session


def other_raw(src: ExportSource):
    """Inputs of another batch size (and other lengths) than example.npz's."""
    kind = src.spec["kind"]
    if kind == "text":
        return HEADLINES
    if kind == "image":
        return np.random.default_rng(1).random((7, 8, 8), dtype=np.float32)
    return pd.DataFrame({"hp": [10.0, 90, None], "attack": [5.0, 100, 70], "type": ["fire", "grass", "water"]})


def expected(src: ExportSource, raw) -> tuple[dict, np.ndarray]:
    x = src.predictor.featurizer.transform(raw)
    with torch.no_grad():
        return {k: v.numpy() for k, v in named(x).items()}, src.model(x).float().numpy()


KINDS = ["linear", "mlp", "cnn", "table-mlp", "generative", "textcnn", "rnn-gru-bi-last", "rnn-lstm-uni-max",
         "rnn-rnn-bi-attn", "rnn-rnn-uni-last-unpacked", pytest.param("transformer", marks=pytest.mark.slow)]  # MiniLM: a 90 MB graph


@pytest.mark.parametrize("kind", KINDS)
def test_onnx_reproduces_every_model_kind_with_dynamic_axes(kind, tmp_path):
    src = source(kind)
    files = export(src, "onnx", tmp_path)
    assert {f.name for f in files} >= {"model.onnx", "example.npz", "featurizer.json", "MODEL_CARD.md"}
    sess = session(tmp_path / "model.onnx")
    inputs, logits = read_example(tmp_path / "example.npz")
    assert [i.name for i in sess.get_inputs()] == list(inputs)
    for i in sess.get_inputs():  # dynamic batch, and sequence length where there is one
        assert i.shape[:2] == (["batch", "seq"] if i.name in SEQUENCE_NAMES else ["batch", *i.shape[1:2]])
    assert np.abs(run_onnx(sess, inputs) - logits).max() <= 1e-4
    more, want = expected(src, other_raw(src))
    assert next(iter(more.values())).shape[0] != next(iter(inputs.values())).shape[0]
    assert np.abs(run_onnx(sess, more) - want).max() <= 1e-4
    doc = json.loads((tmp_path / "featurizer.json").read_text())
    assert [i["name"] for i in doc["inputs"]] == list(inputs) and doc["classes"] == src.spec["classes"]
    assert doc["how"] != "see featurizer"


@pytest.mark.parametrize("kind", ["mlp", "textcnn", "rnn-gru-bi-last"])
def test_torch_export_round_trips_with_dynamic_axes(kind, tmp_path):
    src = source(kind)
    files = export(src, "torch-export", tmp_path)
    assert {f.name for f in files} >= {"model.pt2", "example.npz", "featurizer.json", "MODEL_CARD.md"}
    module = torch.export.load(str(tmp_path / "model.pt2")).module()
    inputs, logits = read_example(tmp_path / "example.npz")
    more, want = expected(src, other_raw(src))
    with torch.no_grad():
        for x, y in ((inputs, logits), (more, want)):
            got = module(*(torch.from_numpy(v) for v in x.values()))
            assert np.abs(got.numpy() - y).max() <= 1e-4


def test_an_export_that_does_not_reproduce_the_model_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    from engine.predict.export import inputs

    src = source("mlp")
    real = inputs.example_inputs

    def wrong(s):
        example = real(s)
        return {**example, inputs.EXPECTED: example[inputs.EXPECTED] + 1.0}

    monkeypatch.setattr(inputs, "example_inputs", wrong)
    for fmt in ("onnx", "torch-export"):
        with pytest.raises(ExportError, match="away from the PyTorch model's"):
            export(src, fmt, tmp_path / fmt)
        assert not list((tmp_path / fmt).iterdir())


def test_an_onnx_graph_that_lost_a_dynamic_axis_is_refused():
    from onnx import TensorProto, helper

    from engine.predict.export.onnx import check_dynamic_axes

    def graph(ids_shape):
        ins = [helper.make_tensor_value_info("ids", TensorProto.INT64, ids_shape),
               helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"])]
        out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 4])
        return helper.make_model(helper.make_graph([], "g", ins, [out]))

    example = {"ids": np.zeros((3, 6), np.int64), "lengths": np.ones(3, np.int64)}
    check_dynamic_axes(graph(["batch", "seq"]), example)
    with pytest.raises(ExportError, match="'ids' lost a dynamic axis"):
        check_dynamic_axes(graph(["batch", 6]), example)
