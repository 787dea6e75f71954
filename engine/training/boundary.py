"""The decision boundary of a run on 2-D points (the playground dataset), recorded per epoch by the worker.

At the start (epoch 0, the initial weights) and at each epoch end the model is evaluated on a GRIDxGRID grid
over the input plane: the grid's x1, x2 go through `engine.data.playground.plane_features` and the run's own
featurizer, as the training points did, and the class-1 probability is stored (one byte per cell, a few KB).
For a small network (at most MAX_UNITS units in each of at most MAX_LAYERS hidden layers) each hidden unit's
output over a coarser UNIT_GRID grid is stored too, read by forward hooks on the activation modules (no model
changes). The units' pictures are the bulk of a record: each epoch's record has them while it is the newest
(the live view), and once the next epoch's arrives they are kept only for the first UNITS_FIRST epochs, every
UNITS_EVERY-th epoch and the last. The page only draws these stored grids; nothing is computed in the server
process.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from engine.data.playground import plane_features
from engine.training.trainer import Callback, TrainState

GRID, UNIT_GRID = 64, 24
MAX_UNITS, MAX_LAYERS = 8, 6
UNITS_FIRST, UNITS_EVERY = 10, 10
ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.LeakyReLU, nn.ELU)


def axis(extent: float, size: int) -> np.ndarray:
    """`size` evenly spaced coordinates from -extent to extent."""
    return np.linspace(-extent, extent, size)


def plane_inputs(featurizer, extra: Sequence[str], x1: np.ndarray, x2: np.ndarray) -> torch.Tensor:
    """The model's inputs for points (x1, x2): the playground's feature columns through the run's featurizer."""
    return featurizer.transform(plane_features(x1, x2, extra))


def class1_probs(model: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """The model's probability of class 1 for each input row (evaluation mode, no gradients)."""
    device = next(iter(model.state_dict().values()), torch.empty(0)).device  # a closed-form model has only buffers
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(inputs.to(device)).float()
    finally:
        model.train(was_training)
    return torch.softmax(out, dim=1)[:, 1].cpu().numpy()


def encode(values: np.ndarray, lo: float, hi: float) -> str:
    """`values` in [lo, hi] as one byte each (0 = lo, 255 = hi), deflated (a boundary is mostly 0s and 255s),
    in base64."""
    scaled = np.clip((np.asarray(values, np.float64) - lo) / ((hi - lo) or 1.0), 0.0, 1.0)
    return base64.b64encode(zlib.compress(np.rint(scaled * 255).astype(np.uint8).tobytes(), 9)).decode("ascii")


def decode(text: str, lo: float, hi: float, size: int) -> np.ndarray:
    """The (size, size) float32 grid `encode` stored (rows: x2 from low to high; columns: x1)."""
    raw = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8).astype(np.float32)
    return (lo + raw / 255.0 * (hi - lo)).reshape(size, size)


def hidden_activations(model: nn.Module) -> list[nn.Module]:
    """The activation modules of a small network, in order; [] when it is larger than the pictures allow."""
    found = [m for m in model.modules() if isinstance(m, ACTIVATIONS)]
    return found if 0 < len(found) <= MAX_LAYERS else []


class Boundary(Callback):
    """See the module docstring. `sink(record)` receives one dict per epoch: epoch, step, extent, size, probs
    (encoded class-1 probabilities over [0, 1]) and, for small networks, unit_size and units: per hidden
    layer, per unit, {"lo", "hi", "values"} (encoded over its own range)."""

    def __init__(self, sink: Callable[[dict], None], featurizer, extra: Sequence[str], extent: float):
        self.sink = sink
        self.extent = extent
        self.previous: dict | None = None  # the newest record: it keeps its units' pictures until the next
        grid = np.meshgrid(axis(extent, GRID), axis(extent, GRID))  # rows: x2, columns: x1
        self.inputs = plane_inputs(featurizer, extra, grid[0].ravel(), grid[1].ravel())
        coarse = np.meshgrid(axis(extent, UNIT_GRID), axis(extent, UNIT_GRID))
        self.unit_inputs = plane_inputs(featurizer, extra, coarse[0].ravel(), coarse[1].ravel())

    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.previous = None
        if state.epoch == 0:  # the initial weights: the picture before any training
            self.record(trainer.model, state)

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        self.record(trainer.model, state)

    def record(self, model: nn.Module, state: TrainState) -> None:
        record = {"epoch": state.epoch, "step": state.step, "extent": self.extent, "size": GRID,
                  "probs": encode(class1_probs(model, self.inputs), 0.0, 1.0)}
        units = self.units(model)
        if units:
            record.update(unit_size=UNIT_GRID, units=units)
        self.sink(record)
        last, self.previous = self.previous, record
        if last is not None and "units" in last and not keeps_units(last["epoch"]):
            self.sink({k: v for k, v in last.items() if k not in ("units", "unit_size")})  # replaces its row

    def units(self, model: nn.Module) -> list[list[dict]]:
        """Each hidden unit's output over the coarse grid, by layer; [] for a network too large to draw."""
        modules = hidden_activations(model)
        outputs: list[torch.Tensor] = []
        hooks = [m.register_forward_hook(lambda _m, _i, out: outputs.append(out.detach().float().cpu()))
                 for m in modules]
        try:
            class1_probs(model, self.unit_inputs)
        finally:
            for h in hooks:
                h.remove()
        if not outputs or any(o.dim() != 2 or o.shape[1] > MAX_UNITS for o in outputs):
            return []
        layers = []
        for out in outputs:
            values = out.numpy()
            layers.append([{"lo": float(values[:, j].min()), "hi": float(values[:, j].max()),
                            "values": encode(values[:, j], float(values[:, j].min()), float(values[:, j].max()))}
                           for j in range(values.shape[1])])
        return layers


def keeps_units(epoch: int) -> bool:
    """Whether a record that is no longer the newest keeps its units' pictures."""
    return epoch <= UNITS_FIRST or epoch % UNITS_EVERY == 0


def boundary_callback(prep, sink: Callable[[dict], None]) -> Boundary | None:
    """The Boundary callback of a run whose data lies in a plane (the playground dataset), else None."""
    plane = prep.dataset.meta.get("plane")
    if plane is None:
        return None
    return Boundary(sink, prep.featurizer, plane["features"], plane["extent"])


def probs_grid(record: dict) -> tuple[np.ndarray, np.ndarray]:
    """(coordinates along x1 and x2, class-1 probabilities (rows: x2)) of a stored record."""
    return axis(record["extent"], record["size"]), decode(record["probs"], 0.0, 1.0, record["size"])


def class1_share(record: dict) -> float:
    """The share of the plane a stored record assigns to class 1."""
    return float(np.mean(probs_grid(record)[1] >= 0.5))


def grid(record: dict) -> dict:
    """A stored record as {"epoch", "x", "y", "probs"}: the grid's coordinates and its class-1 probabilities
    (rows follow y)."""
    coords, probs = probs_grid(record)
    return {"epoch": record["epoch"], "x": [round(float(v), 4) for v in coords],
            "y": [round(float(v), 4) for v in coords], "probs": np.round(probs, 4).tolist()}


def unit_grids(record: dict) -> list[list[np.ndarray]]:
    """Each hidden unit's (unit_size, unit_size) output grid, by layer; [] when none was stored."""
    size = record.get("unit_size")
    return [[decode(u["values"], u["lo"], u["hi"], size) for u in layer] for layer in record.get("units") or []]
