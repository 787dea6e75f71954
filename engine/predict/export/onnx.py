"""`onnx` format: model.onnx (opset 20 through torch.onnx.export(dynamo=True), dynamic batch and sequence length),
for onnxruntime in Python, a browser (onnxruntime-web), a phone or another language; with example.npz (inputs keyed
by the ONNX input names and the PyTorch logits) and the featurizer description. The file is converted from the same
torch.export program as the torch-export format and checked with onnxruntime before it is written."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import torch

from engine import atomic
from engine.predict.export import inputs as model_inputs
from engine.predict.export.featurizer_files import write_featurizer_state
from engine.predict.export.model_card import write_model_card
from engine.predict.export.program import check_close, export_program, exportable, quiet_exporter_warnings
from engine.predict.export.source import ExportError, ExportSource

ONNX_FILE = "model.onnx"
OUTPUT_NAME = "logits"


def onnx_bytes(src: ExportSource, example: dict[str, np.ndarray]) -> bytes:
    """The serialized ONNX model of `src`, its inputs named as in `example`."""
    import onnx

    from engine.predict.export.rnn_ops import CUSTOM_TRANSLATIONS

    program, names = export_program(src, example)
    example = {k: example[k] for k in names}
    _, ctx = exportable(src, names)  # the conversion re-runs the rnn decompositions: the same context
    try:
        with ctx, warnings.catch_warnings():
            quiet_exporter_warnings()
            # "torchvision is not installed. Skipping torchvision::nms": ops NN Lab never uses
            logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
            converted = torch.onnx.export(
                program, (), dynamo=True, dynamic_shapes=(model_inputs.axis_names(example),),
                input_names=names, output_names=[OUTPUT_NAME], custom_translation_table=CUSTOM_TRANSLATIONS,
                verbose=False)
    except Exception as exc:  # the converter raises many kinds; the learner gets one clear message
        raise ExportError(f"the ONNX converter refused this {src.config.model} ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200]}). Use the torch-export or checkpoint export") from None
    model = converted.model_proto
    onnx.checker.check_model(model, full_check=True)
    check_dynamic_axes(model, example)
    return model.SerializeToString()


def input_axes(model) -> dict[str, list]:
    """{ONNX input name: [axis name, or its fixed size]}."""
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in model.graph.input}


def check_dynamic_axes(model, example: dict[str, np.ndarray]) -> None:
    """The converter can fall back to fixed sizes without failing: every dynamic axis must come out named."""
    got = input_axes(model)
    for name, axes in zip(example, model_inputs.axis_names(example), strict=True):
        if any(got.get(name, [None] * 2)[i] != axis for i, axis in axes.items()):
            raise ExportError(f"the ONNX model's input {name!r} lost a dynamic axis ({got.get(name)}); "
                              "use the torch-export or checkpoint export")


def session(model: bytes | str | Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one prediction is small; threads only contend on a shared machine
    return ort.InferenceSession(model if isinstance(model, bytes) else str(model), options,
                                providers=["CPUExecutionProvider"])


def run_onnx(sess, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return sess.run([OUTPUT_NAME], {i.name: inputs[i.name] for i in sess.get_inputs()})[0]


def write_onnx(src: ExportSource, out: Path, top_words: int | None = None, **_) -> list[Path]:
    example = model_inputs.example_inputs(src)
    data = onnx_bytes(src, example)
    check_close(run_onnx(session(data), example), example[model_inputs.EXPECTED], "ONNX model (onnxruntime)")
    path = out / ONNX_FILE
    with atomic.atomic_open(path, "wb") as fh:
        fh.write(data)
    return [path, *model_inputs.write_example(out, example), *write_featurizer_state(src, out, example, top_words),
            *write_model_card(src, out)]
