"""Checkpoints: model + optimizer + epoch + config + featurizer state, written atomically and
read back with `torch.load(weights_only=True)` — a checkpoint can never run code."""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

from engine import atomic

FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used. The message says why and what to do."""


def save(path: str | Path, payload: dict) -> None:
    """Every tensor is written from the CPU, so any machine loads it, with or without an accelerator."""
    atomic.torch_save(to_cpu({"format": FORMAT, **payload}), path)


def to_cpu(obj):
    """`obj` with every tensor inside (dicts, lists, tuples) on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def load(path: str | Path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        with open(path, "rb") as fh:
            head = fh.read(2)
        if head[:1] != b"\x80" and head != b"PK":  # neither a pickle nor torch's zip: not a checkpoint at all
            raise CheckpointError(f"{path.name} is not a readable checkpoint (damaged or another kind of file). "
                                  "Fix: use a best.pt/last.pt saved by NN Lab.") from None
        raise CheckpointError(
            f"{path.name} was refused: it is not a plain-weights checkpoint (it would need to run code to "
            "load, which NN Lab never does). Fix: use a checkpoint saved by NN Lab."
        ) from None
    except Exception as exc:  # the exception's text may quote the file: only its kind is named
        raise CheckpointError(f"{path.name} is not a readable checkpoint ({type(exc).__name__}). "
                              "Fix: use a best.pt/last.pt saved by NN Lab.") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path.name} is not an NN Lab checkpoint (no model/config inside)")
    return ckpt
