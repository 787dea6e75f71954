"""Four gradients of the same loss at the same weights, as the "numerical differentiation" chapter
builds them, compared pairwise.

The net is the book's two-layer net: x (N, D) -> Affine(W1, b1) -> Sigmoid -> Affine(W2, b2) ->
SoftmaxWithLoss, in float64 so that the central difference (h = 1e-4) agrees with backprop to ~1e-8.

(a) `numgrad.numerical_loop`: the book's loop, one parameter at a time, two full forward passes each.
(b) `numgrad.numerical_vectorised`: the same central differences, many parameters per pass.
(c) `backprop_layers.backprop`: hand-written layers (Affine, Sigmoid, SoftmaxWithLoss) with forward/backward.
(d) `autograd`: torch.autograd on the same loss.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import torch
from torch import nn

from engine.labs.backprop_layers import backprop
from engine.labs.numgrad import H, numerical_loop, numerical_vectorised

NAMES = ("W1", "b1", "W2", "b2")
METHODS = ("loop", "vectorised", "backprop", "autograd")


class TwoLayerNet(nn.Module):
    """x @ W1 + b1 -> sigmoid -> @ W2 + b2 (weights stored (in, out), as the book stores them)."""

    def __init__(self, input_dim: int = 784, hidden: int = 50, num_outputs: int = 10, weight_std: float = 0.01,
                 seed: int = 0, dtype: torch.dtype = torch.float64):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.W1 = nn.Parameter(weight_std * torch.randn(input_dim, hidden, generator=g, dtype=dtype))
        self.b1 = nn.Parameter(torch.zeros(hidden, dtype=dtype))
        self.W2 = nn.Parameter(weight_std * torch.randn(hidden, num_outputs, generator=g, dtype=dtype))
        self.b2 = nn.Parameter(torch.zeros(num_outputs, dtype=dtype))

    def params(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, n) for n in NAMES}

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor, str]]:
        """(W, b, activation after it) per affine layer: the chain `numerical_vectorised` walks."""
        return [(self.W1, self.b1, "sigmoid"), (self.W2, self.b2, "identity")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, D) -> (N, C) logits
        x = x.reshape(len(x), -1).to(self.W1.dtype)
        return torch.sigmoid(x @ self.W1 + self.b1) @ self.W2 + self.b2


def sample_ce(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of each row: logits (P, C), targets (P,) -> (P,)."""
    # logsumexp by hand: torch.logsumexp over a short last axis is slower
    shift = logits.detach().amax(-1, keepdim=True)
    lse = (logits - shift).exp().sum(-1).log() + shift.squeeze(-1)
    return lse - logits.gather(-1, t.unsqueeze(-1)).squeeze(-1)


def cross_entropy(logits: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the batch: the loss all four methods differentiate."""
    return sample_ce(logits, t).mean()


# (d) -------------------------------------------------------------------------------------------------

def autograd(net: TwoLayerNet, x, t) -> dict[str, torch.Tensor]:
    params = list(net.params().values())
    grads = torch.autograd.grad(cross_entropy(net(x), t), params)
    return dict(zip(NAMES, (g.detach() for g in grads), strict=True))


# comparison ------------------------------------------------------------------------------------------

def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """‖a−b‖ / max(‖a‖, ‖b‖), 0 when both are zero."""
    na, nb = float(a.norm()), float(b.norm())
    denom = max(na, nb)
    return 0.0 if denom == 0 else float((a - b).norm()) / denom


def sample_entries(net: TwoLayerNet, count: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """About `count` flat indices spread over the tensors in proportion to their size (≥ 8 each)."""
    g = torch.Generator().manual_seed(seed)
    total = sum(p.numel() for p in net.params().values())
    out = {}
    for name, p in net.params().items():
        k = min(p.numel(), max(8, round(count * p.numel() / total)))
        out[name] = torch.randperm(p.numel(), generator=g)[:k].sort().values
    return out


@dataclass
class GradCheck:
    grads: dict[str, dict[str, torch.Tensor]]  # method -> tensor name -> gradient
    rel_err: dict[str, dict[str, float]]  # "a_vs_b" -> tensor name -> relative error
    seconds: dict[str, float]
    entries: dict[str, torch.Tensor]  # flat indices the loop computed
    params: int
    loss: float

    @property
    def max_rel_err(self) -> dict[str, float]:
        return {pair: max(errs.values()) for pair, errs in self.rel_err.items()}

    @property
    def loop_params_timed(self) -> int:
        return int(sum(len(v) for v in self.entries.values()))

    @property
    def loop_seconds_full(self) -> float:
        """The loop's time for every parameter, extrapolated from the entries it timed."""
        return self.seconds["loop"] / max(self.loop_params_timed, 1) * self.params

    def summary(self) -> dict:
        return {
            "params": self.params, "loss": self.loss, "dtype": "float64", "h": H,
            "max_rel_err": self.max_rel_err, "rel_err": self.rel_err,
            "seconds": {**self.seconds, "loop_all_params_estimate": self.loop_seconds_full},
            "loop_params_timed": self.loop_params_timed,
            "loop_note": "the per-parameter loop ran on loop_params_timed parameters (a random sample, "
                         "all when it equals params); its errors are compared on those entries and its "
                         "time for all parameters is extrapolated per parameter",
            "speedup_vectorised_vs_loop": self.loop_seconds_full / max(self.seconds["vectorised"], 1e-12),
        }


def check(net: TwoLayerNet, x: torch.Tensor, t: torch.Tensor, loop_params: int | None = 2000, seed: int = 0,
          methods=METHODS) -> GradCheck:
    """Run the four methods at the same weights; loop_params=None runs the loop over every parameter."""
    x = x.reshape(len(x), -1).to(net.W1.dtype)
    entries = ({n: torch.arange(p.numel()) for n, p in net.params().items()} if loop_params is None
               else sample_entries(net, loop_params, seed))
    grads, seconds = {}, {}

    def timed(name, fn):
        t0 = time.perf_counter()
        grads[name] = fn()
        seconds[name] = time.perf_counter() - t0

    with torch.no_grad():
        loss = float(cross_entropy(net(x), t))
    if "loop" in methods:
        timed("loop", lambda: numerical_loop(lambda: cross_entropy(net(x), t), net.params(), entries))
    if "vectorised" in methods:
        timed("vectorised", lambda: _named(numerical_vectorised(net.layers(), x, lambda z, n: sample_ce(z, t[n]))))
    if "backprop" in methods:
        timed("backprop", lambda: backprop(net, x, t))
    if "autograd" in methods:
        timed("autograd", lambda: autograd(net, x, t))
    errs = {}
    for a, b in itertools.combinations([m for m in METHODS if m in grads], 2):
        subset = "loop" in (a, b)
        errs[f"{a}_vs_{b}"] = {
            n: rel_err(*(grads[m][n].reshape(-1)[entries[n]] if subset else grads[m][n] for m in (a, b)))
            for n in NAMES}
    total = sum(p.numel() for p in net.params().values())
    return GradCheck(grads, errs, seconds, entries, total, loss)


def _named(layer_grads) -> dict[str, torch.Tensor]:
    (dW1, db1), (dW2, db2) = layer_grads
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
