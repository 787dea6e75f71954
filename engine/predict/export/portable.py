"""Exports of the weights alone: as JSON, and as a slimmed NN Lab checkpoint (weights, config, featurizer; no
optimizer state)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine import atomic
from engine.predict.export.source import ExportError, ExportSource
from engine.training import checkpoint

WEIGHTS_JSON_FILE = "weights.json"
WEIGHTS_JSON_LIMIT = 1_000_000  # numbers; a 784-512-512-10 MLP has 669,706
CHECKPOINT_KEYS = ("format", "model", "config", "featurizer", "spec", "epoch", "metrics")


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
                          f"the limit is {WEIGHTS_JSON_LIMIT:,}. Use the onnx, torch-export, script or checkpoint export.")
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
