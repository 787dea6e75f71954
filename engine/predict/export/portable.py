"""Exports of the model alone: TorchScript (+ featurizer state as JSON), weights as JSON, and a
slimmed NN Lab checkpoint (weights, config, featurizer; no optimizer state)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import torch

from engine import atomic
from engine.predict.export.source import ExportError, ExportSource
from engine.training import checkpoint

TORCHSCRIPT_FILE = "model.torchscript.pt"
FEATURIZER_FILE = "featurizer.json"
FEATURIZER_ARRAYS = "featurizer_arrays.npz"
WEIGHTS_JSON_FILE = "weights.json"
WEIGHTS_JSON_LIMIT = 1_000_000  # numbers; a 784-512-512-10 MLP has 669,706
CHECKPOINT_KEYS = ("format", "model", "config", "featurizer", "spec", "epoch", "metrics")


# --- TorchScript --------------------------------------------------------------------------------
def write_torchscript(src: ExportSource, out: Path, **_) -> list[Path]:
    """torch.jit.trace of the model in eval mode on the featurized example inputs, checked against
    the eager model; `torch.jit.load(path)` needs no NN Lab code (only torch)."""
    model = src.model.eval()
    example = src.example_inputs()
    if not isinstance(example, torch.Tensor):
        raise ExportError(f"the TorchScript export traces models that read one tensor, and this {src.config.model} "
                          "reads padded sequences (word ids with their lengths, or subword ids with a mask). "
                          "Use the checkpoint export (python -m engine predict --checkpoint FILE)")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 prefers torch.export; jit still works
        traced = torch.jit.trace(model, example)
        path = out / TORCHSCRIPT_FILE
        with atomic.atomic_open(path, "wb") as fh:
            torch.jit.save(traced, fh)
        if not torch.allclose(traced(example), model(example), atol=1e-6):
            raise ExportError("the traced model does not reproduce the model's outputs; use the checkpoint export")
    return [path, *write_featurizer_state(src, out)]


def write_featurizer_state(src: ExportSource, out: Path) -> list[Path]:
    """featurizer.json: the featurizer state (arrays moved to featurizer_arrays.npz), the data spec and
    the model input it produces, so outputs can be labelled and inputs rebuilt."""
    state, arrays = {}, {}
    for key, value in src.ckpt["featurizer"].items():
        if isinstance(value, torch.Tensor | np.ndarray):
            arrays[key] = np.asarray(value.cpu() if isinstance(value, torch.Tensor) else value)
            state[key] = {"array": key, "file": FEATURIZER_ARRAYS}
        else:
            state[key] = value
    example = src.example_inputs()
    doc = {
        "featurizer": state,
        "spec": {k: list(v) if isinstance(v, tuple) else v for k, v in src.spec.items()},
        "classes": list(src.spec.get("classes", [])),
        "model_input": {"shape": ["batch", *example.shape[1:]], "dtype": str(example.dtype).replace("torch.", "")},
        "output": "logits (apply softmax for probabilities)" if src.spec.get("task") == "classification" else
                  "value (times spec.target_scale[1] plus spec.target_scale[0], when present, in the target's units)",
        "config": src.config.to_dict(),
        "run": src.summary(),
    }
    files = [out / FEATURIZER_FILE]
    atomic.write_json(files[0], doc)
    if arrays:
        files.append(out / FEATURIZER_ARRAYS)
        with atomic.atomic_open(files[1], "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return files


def read_featurizer_state(folder: str | Path) -> dict:
    """The featurizer state written by `write_featurizer_state`, arrays restored as tensors
    (feed it to engine.features.featurizer_from_state)."""
    folder = Path(folder)
    doc = json.loads((folder / FEATURIZER_FILE).read_text())
    state = dict(doc["featurizer"])
    arrays = [k for k, v in state.items() if isinstance(v, dict) and "array" in v]
    if arrays:
        with np.load(folder / FEATURIZER_ARRAYS, allow_pickle=False) as data:
            for key in arrays:
                state[key] = torch.from_numpy(data[state[key]["array"]].copy())
    return state


# --- weights as JSON --------------------------------------------------------------------------
def _shortest(values: np.ndarray) -> list:
    """float32 values as the shortest decimals that read back to the same float32."""
    if values.dtype.kind != "f":
        return values.tolist()
    flat = np.array([float(str(v)) for v in values.astype(np.float32).ravel()], dtype=np.float64)
    return flat.reshape(values.shape).tolist()


def write_weights_json(src: ExportSource, out: Path, **_) -> list[Path]:
    state = src.state_dict
    total = sum(t.numel() for t in state.values())
    if total > WEIGHTS_JSON_LIMIT:
        raise ExportError(f"weights-json is for small models: this {src.config.model} has {total:,} numbers, "
                          f"the limit is {WEIGHTS_JSON_LIMIT:,}. Use the torchscript, script or checkpoint export.")
    doc = {
        "format": "nnlab-weights/1",
        "how_to_read": "tensors in the model's state_dict order; a Linear layer's weight has shape "
                       "[outputs, inputs] and computes x @ weight.T + bias",
        "model": src.config.model, "model_args": src.config.to_dict()["model_args"],
        "input_dim": src.spec.get("input_dim"), "classes": list(src.spec.get("classes", [])),
        "total_numbers": total, "run": src.summary(),
        "tensors": [{"name": name, "shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""),
                     "values": _shortest(t.numpy())} for name, t in state.items()],
    }
    path = out / WEIGHTS_JSON_FILE
    with atomic.atomic_open(path, "wb") as fh:
        fh.write(json.dumps(doc).encode("utf-8"))
    return [path]


def read_weights_json(path: str | Path) -> dict[str, torch.Tensor]:
    doc = json.loads(Path(path).read_text())
    return {t["name"]: torch.tensor(t["values"], dtype=getattr(torch, t["dtype"])).reshape(t["shape"])
            for t in doc["tensors"]}


# --- checkpoint ---------------------------------------------------------------------------------
def write_checkpoint(src: ExportSource, out: Path, **_) -> list[Path]:
    """The run's checkpoint without optimizer and RNG state: what prediction needs, nothing more."""
    path = out / f"{src.slug}.pt"
    checkpoint.save(path, {k: v for k, v in src.ckpt.items() if k in CHECKPOINT_KEYS and k != "format"})
    return [path]
