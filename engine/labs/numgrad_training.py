"""Training the two-layer net with numerical gradients, driven by the one Trainer.

`NumericalGradNet` wraps `TwoLayerNet`: its forward runs the net, and its backward (an
autograd.Function) fills the parameters' .grad by central differences instead of calculus. The
Trainer's loss.backward() hands it G = dL/dlogits, and the numerical gradient of <G, logits(θ)>
is dL/dθ by the chain rule: the network part is differentiated numerically, parameter by
parameter, exactly as costly as the book's loop. So the same Trainer, SGD step and callbacks train
with backprop or with numerical gradients, and the page can time them side by side.
"""

from __future__ import annotations

import math
import time

import torch
from torch import nn

from engine.labs import gradcheck, numgrad
from engine.labs.gradcheck import TwoLayerNet
from engine.training.batching import make_batches
from engine.training.trainer import Callback, Trainer, TrainState

METHODS = {
    "backprop": "backprop (autograd)",
    "vectorised": "numerical, vectorised",
    "loop": "numerical, one parameter at a time (the book)",
}


class _NumericalBackward(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, net, method, *params):
        ctx.net, ctx.method = net, method
        ctx.save_for_backward(x)
        with torch.no_grad():
            return net(x)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        net, G = ctx.net, grad_out.detach()
        if ctx.method == "loop":
            grads = numgrad.numerical_loop(lambda: (G * net(x)).sum(), net.params())
            out = [grads[n] for n in gradcheck.NAMES]
        else:
            layer_grads = numgrad.numerical_vectorised(net.layers(), x, lambda z, n: (G[n] * z).sum(-1), reduce="sum")
            out = [g for pair in layer_grads for g in pair]
        return (None, None, None, *out)


class NumericalGradNet(nn.Module):
    def __init__(self, net: TwoLayerNet, method: str = "vectorised"):
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"method {method!r}: expected one of {', '.join(METHODS)}")
        self.net, self.method = net, method

    def forward(self, x):  # (B, D) or (B, H, W) -> (B, C) float64 logits
        x = x.reshape(len(x), -1).to(self.net.W1.dtype)
        if self.method == "backprop" or not torch.is_grad_enabled():
            return self.net(x)
        return _NumericalBackward.apply(x, self.net, self.method, *self.net.params().values())


class StopAfter(Callback):
    """Stops after `steps` optimiser steps (the lab counts iterations, not epochs)."""

    def __init__(self, steps: int):
        self.steps = steps

    def on_batch_end(self, trainer, state: TrainState) -> None:
        if state.step >= self.steps:
            state.stop("time_limit", f"{self.steps} iterations done")


class IterationLog(Callback):
    """(iteration, loss, seconds since the start) per optimiser step."""

    def __init__(self):
        self.rows: list[dict] = []
        self._t0 = 0.0

    def on_fit_start(self, trainer, state) -> None:
        self._t0 = time.perf_counter()

    def on_batch_end(self, trainer, state: TrainState) -> None:
        self.rows.append({"iteration": state.step, "loss": state.batch_loss,
                          "seconds": time.perf_counter() - self._t0})


def train(method: str, x: torch.Tensor, t: torch.Tensor, iterations: int = 10, batch: int = 100,
          lr: float = 0.1, hidden: int = 50, seed: int = 0, callbacks=()) -> list[dict]:
    """SGD on the two-layer net for `iterations` steps with gradients from `method`; the log rows."""
    net = TwoLayerNet(x.shape[1], hidden, int(t.max()) + 1, seed=seed)
    model = NumericalGradNet(net, method)
    batches = make_batches(x, t, batch, shuffle=True, generator=torch.Generator().manual_seed(seed))
    log = IterationLog()
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=lr),
                      callbacks=[log, StopAfter(iterations), *callbacks])
    trainer.fit(batches, None, epochs=math.ceil(iterations / len(batches)))
    return log.rows
