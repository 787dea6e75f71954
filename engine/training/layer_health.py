"""Layer health while training, for every model, through hooks (no model changes).

Per trainable layer (a module holding trainable parameters of its own: Linear, Conv, Embedding, RNN, norms)
and per epoch: the weight norm, the gradient norm, the update/weight ratio of an optimizer step, the mean and
standard deviation of the layer's output, the share of dead units (an nn.ReLU after it whose unit is zero
for every example of the batch) or saturated units (an nn.Sigmoid/nn.Tanh after it, or a tanh recurrent
layer's states, within 0.01 of their bounds), and 30-bin histograms of the weights and the gradients. A
sequence model's word embedding also gets the gradient reaching each word position (grad_first, grad_last,
grad_by_position: engine/training/position_grads.py), where a plain RNN's vanishing gradient shows.

Cheap by sampling: the hooks are armed for a few training steps per epoch (`samples`, spread evenly) and
removed otherwise; everything is reduced to small tensors on the device and read back once per epoch.
The rows go to `sink(rows)` at each epoch end (the run's store, engine/training/run.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from engine.training.position_grads import PositionGrads, first_embedding
from engine.training.trainer import Callback, TrainState

BINS = 30
SATURATION = 0.01  # a sigmoid/tanh unit within this of its bound passes (almost) no gradient
STATS = ("weight_norm", "grad_norm", "update_ratio", "act_mean", "act_std", "dead", "saturated")
RECURRENT = (nn.RNN, nn.GRU, nn.LSTM)


def trainable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every module holding trainable parameters of its own, in definition order."""
    return [(n or type(m).__name__, m) for n, m in model.named_modules()
            if any(p.requires_grad for p in m.parameters(recurse=False))]


def _tensor(out) -> torch.Tensor | None:
    if isinstance(out, PackedSequence):
        return out.data
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out:
        return _tensor(out[0])
    return None


def histogram(values: torch.Tensor, bins: int = BINS) -> dict:
    """{"lo", "hi", "counts"} of `values` over [-m, m], m their largest magnitude (a symmetric range keeps
    zero in the middle bin's edge)."""
    values = values.detach().float().flatten()
    m = float(values.abs().max()) if values.numel() else 0.0
    m = m if m > 0 and math.isfinite(m) else 1.0
    counts = torch.histc(values, bins=bins, min=-m, max=m)
    return {"lo": -m, "hi": m, "counts": [int(c) for c in counts.tolist()]}


class LayerHealth(Callback):
    """See the module docstring. `sink(rows)` receives one dict per trainable layer at each epoch end:
    epoch, step, layer, type, params and STATS (None where a statistic does not apply or was not seen),
    weight_hist and grad_hist."""

    def __init__(self, sink: Callable[[list[dict]], None], samples: int = 4, histograms: bool = True):
        self.sink, self.samples, self.histograms = sink, max(1, samples), histograms
        self.layers: list[tuple[str, nn.Module]] = []
        self._hooks: list = []
        self._acc: dict[str, dict[str, list[torch.Tensor]]] = {}
        self._before: list[torch.Tensor] | None = None
        self._grad_hist: dict[str, dict] = {}
        self._last_layer: str | None = None
        self._positions: PositionGrads | None = None

    # --- arming ----------------------------------------------------------------------------
    def on_fit_start(self, trainer, state: TrainState) -> None:
        self.layers = trainable_layers(trainer.model)
        self._params = {name: [p for p in m.parameters(recurse=False) if p.requires_grad] for name, m in self.layers}
        emb = first_embedding(self.layers)
        self._positions = PositionGrads(*emb) if emb is not None else None
        if trainer.optimizer is None:  # a closed-form fit: no optimizer steps, no update ratio
            self._opt_hooks = ()
            return
        self._opt_hooks = (trainer.optimizer.register_step_pre_hook(self._pre_step),
                           trainer.optimizer.register_step_post_hook(self._post_step))

    def on_epoch_start(self, trainer, state: TrainState) -> None:
        self._acc = {name: {} for name, _ in self.layers}
        self._grad_hist = {}
        if self._positions is not None:
            self._positions.reset()
        self._arm(trainer.model)  # the first batch of every epoch is a sample

    def _every(self, state: TrainState) -> int:
        return max(1, (state.batches_per_epoch or 1) // self.samples)

    def _arm(self, model: nn.Module) -> None:
        if self._hooks:
            return
        for name, module in self.layers:
            self._hooks.append(module.register_forward_hook(self._layer_hook(name, module)))
        for module in model.modules():
            if isinstance(module, (nn.ReLU, nn.Sigmoid, nn.Tanh)):
                self._hooks.append(module.register_forward_hook(self._activation_hook))
        if self._positions is not None:
            self._hooks.extend(self._positions.hooks(model))

    def _disarm(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []

    # --- forward hooks ---------------------------------------------------------------------
    def _add(self, name: str, key: str, value: torch.Tensor) -> None:
        self._acc.setdefault(name, {}).setdefault(key, []).append(value.detach().float())

    def _layer_hook(self, name: str, module: nn.Module):
        tanh_states = isinstance(module, RECURRENT) and getattr(module, "nonlinearity", "tanh") == "tanh"

        def hook(mod, _inputs, out) -> None:
            if not mod.training:
                return
            t = _tensor(out)
            if t is None or not t.is_floating_point():
                return
            self._last_layer = name
            self._add(name, "act_mean", t.mean())
            self._add(name, "act_std", t.std() if t.numel() > 1 else torch.zeros((), device=t.device))
            if tanh_states:  # the recurrent states are tanh outputs
                self._add(name, "saturated", (t.abs() > 1 - SATURATION).float().mean())
        return hook

    def _activation_hook(self, mod, _inputs, out) -> None:
        if not mod.training or self._last_layer is None or not isinstance(out, torch.Tensor):
            return
        flat = out.detach().flatten(1) if out.dim() > 1 else out.detach()[None]
        if isinstance(mod, nn.ReLU):  # a unit that no example of the batch activates
            self._add(self._last_layer, "dead", (flat.amax(0) <= 0).float().mean())
        elif isinstance(mod, nn.Tanh):
            self._add(self._last_layer, "saturated", (flat.abs() > 1 - SATURATION).float().mean())
        else:
            self._add(self._last_layer, "saturated", ((flat < SATURATION) | (flat > 1 - SATURATION)).float().mean())

    # --- the optimizer step: update/weight ratio -------------------------------------------
    def _pre_step(self, _opt, _args, _kwargs) -> None:
        if self._hooks:  # a sampled step
            self._before = [p.detach().clone() for ps in self._params.values() for p in ps]

    def _post_step(self, _opt, _args, _kwargs) -> None:
        if self._before is None:
            return
        before, self._before = self._before, None
        i = 0
        for name, ps in self._params.items():
            old = before[i:i + len(ps)]
            i += len(ps)
            if not ps:
                continue
            delta = torch.stack([torch.linalg.vector_norm(p.detach() - o) for p, o in zip(ps, old, strict=True)])
            norm = torch.stack([torch.linalg.vector_norm(o) for o in old])
            self._add(name, "update_ratio", delta.norm() / norm.norm().clamp_min(1e-12))

    # --- after the step: gradients ---------------------------------------------------------
    def on_batch_end(self, trainer, state: TrainState) -> None:
        if self._hooks:
            self._disarm()
            self._last_layer = None
            for name, ps in self._params.items():
                grads = [p.grad.detach() for p in ps if p.grad is not None]
                if not grads:
                    continue
                self._add(name, "grad_norm", torch.stack([torch.linalg.vector_norm(g) for g in grads]).norm())
                if self.histograms:
                    self._grad_hist[name] = torch.cat([g.flatten() for g in grads])
        last = state.batches_per_epoch and state.batch_in_epoch >= state.batches_per_epoch
        if not last and state.batch_in_epoch % self._every(state) == 0:
            self._arm(trainer.model)  # the next batch is a sample

    def on_epoch_end(self, trainer, state: TrainState) -> None:
        self._disarm()
        rows = []
        for name, module in self.layers:
            ps = self._params[name]
            acc = self._acc.get(name, {})
            row = {"epoch": state.epoch, "step": state.step, "layer": name, "type": type(module).__name__,
                   "params": sum(p.numel() for p in ps),
                   "weight_norm": float(torch.stack([p.detach().norm() for p in ps]).norm())}
            for key in STATS[1:]:
                row[key] = float(torch.stack(acc[key]).mean()) if acc.get(key) else None
            if self.histograms:
                row["weight_hist"] = histogram(torch.cat([p.detach().flatten() for p in ps]))
                grads = self._grad_hist.get(name)
                row["grad_hist"] = histogram(grads) if grads is not None else None
            if self._positions is not None and name == self._positions.name:
                row.update(self._positions.stats())
            rows.append(row)
        self._grad_hist = {}
        self.sink(rows)

    def on_fit_end(self, trainer, state: TrainState) -> None:
        self._disarm()
        for h in getattr(self, "_opt_hooks", ()):
            h.remove()

    def on_exception(self, trainer, state: TrainState, exc: BaseException) -> None:
        self.on_fit_end(trainer, state)
