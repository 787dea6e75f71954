"""The model's inputs as named tensors, for exports that run without NN Lab (ONNX, torch.export).

A featurizer gives one tensor (vectors, pixels, table rows), a tuple (word ids, lengths[, unknown rows]) or a dict
(subword ids, attention mask); an exported graph takes flat named tensors instead. `named(x)` names them,
`FlatInputs` calls the model with them, `dynamic_shapes` says which axes vary, and `write_example` stores a few
real test inputs after featurization with the PyTorch model's logits (example.npz).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.export import Dim

from engine import atomic
from engine.predict.export.source import ExportError, ExportSource

EXAMPLE_FILE = "example.npz"
EXPECTED = "expected_logits"
IDS_NAMES = ("ids", "lengths", "unknown_rows")
SEQUENCE_NAMES = {"ids", "unknown_rows", "input_ids", "attention_mask"}  # (batch, seq) inputs
MAX_BATCH, MAX_SEQ = 4096, 512  # bounds of the exported graphs' dynamic axes
N_EXAMPLES = 5


def named(x) -> dict[str, torch.Tensor]:
    """The featurizer's output as {input name: tensor}, in the model's argument order."""
    if isinstance(x, torch.Tensor):
        return {"x": x}
    if isinstance(x, tuple | list):
        return dict(zip(IDS_NAMES, x, strict=False))
    if isinstance(x, dict):
        return dict(x)
    raise ExportError(f"cannot name a model input of type {type(x).__name__}")


def structured(inputs: dict[str, torch.Tensor]):
    """The inverse of `named`: what the featurizer would have given."""
    if list(inputs) == ["x"]:
        return inputs["x"]
    if list(inputs)[:2] == list(IDS_NAMES[:2]):
        return tuple(inputs.values())
    return dict(inputs)


class FlatInputs(nn.Module):
    """model(structured(inputs)) with the inputs as positional tensors in `names` order; `call(model, x)`
    replaces model(x) where an export needs another formulation (the rnn without packing)."""

    def __init__(self, model: nn.Module, names: list[str], call: Callable | None = None):
        super().__init__()
        self.model, self.names, self.call = model, list(names), call

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        x = structured(dict(zip(self.names, tensors, strict=True)))
        return self.call(self.model, x) if self.call else self.model(x)


def dynamic_shapes(inputs: dict[str, torch.Tensor]) -> tuple:
    """Per positional input: batch on axis 0 and, for (batch, seq) inputs, seq on axis 1."""
    batch, seq = Dim("batch", min=1, max=MAX_BATCH), Dim("seq", min=1, max=MAX_SEQ)
    return tuple({0: batch, 1: seq} if name in SEQUENCE_NAMES else {0: batch} for name in inputs)


def axis_names(inputs: dict[str, torch.Tensor]) -> tuple:
    """The same axes by name, as torch.onnx.export names them on an ExportedProgram."""
    return tuple({0: "batch", 1: "seq"} if name in SEQUENCE_NAMES else {0: "batch"} for name in inputs)


def traceable(inputs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The example widened to batch >= 2 and seq >= 2 (padding), so no dynamic axis is traced at a size
    torch.export specialises (0 or 1)."""
    out = dict(inputs)
    if any(name in SEQUENCE_NAMES for name in out) and next(iter(out.values())).shape[1] < 2:
        out = {k: nn.functional.pad(v, (0, 1)) if k in SEQUENCE_NAMES else v for k, v in out.items()}
    if next(iter(out.values())).shape[0] < 2:
        out = {k: torch.cat([v, v]) for k, v in out.items()}
    return out


def example_raw(src: ExportSource, n: int = N_EXAMPLES):
    """The first `n` test inputs of the run's dataset when it is in the data home, else the source's stand-ins."""
    from engine.data import DATASETS, DataMissingError

    spec = DATASETS.get(src.config.dataset)
    if spec is None or src.home is None:
        return src.example_raw()
    try:
        x = spec.load(src.home, **src.config.data_args).test.x
    except (DataMissingError, OSError, KeyError, ValueError):
        return src.example_raw()
    return x.iloc[:n].reset_index(drop=True) if hasattr(x, "iloc") else x[:n]


def example_inputs(src: ExportSource) -> dict[str, np.ndarray]:
    """{input name: array} of a few real test inputs after featurization, plus `expected_logits` from the model."""
    x = src.predictor.featurizer.transform(example_raw(src))
    with torch.no_grad():
        logits = src.model.eval()(x).float()
    return {**{k: v.numpy() for k, v in named(x).items()}, EXPECTED: logits.numpy()}


def write_example(out, example: dict[str, np.ndarray]) -> list:
    path = out / EXAMPLE_FILE
    with atomic.atomic_open(path, "wb") as fh:
        np.savez(fh, **example)
    return [path]


def read_example(path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """(inputs by name, expected logits) of an example.npz."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    return {k: v for k, v in arrays.items() if k != EXPECTED}, arrays[EXPECTED]
