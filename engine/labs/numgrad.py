"""Numerical gradients by central differences, (a) and (b) of the gradient check (engine/labs/gradcheck.py).

(a) `numerical_loop`: the book's loop, one parameter at a time, two full forward passes each.
(b) `numerical_vectorised`: the same central differences, many parameters per pass. Nudging one weight
    W_k[i, j] changes only column j of layer k's pre-activation (by ±h·u[:, i]), and only for the
    examples whose input u[n, i] is nonzero (the others' loss terms cancel exactly); an elementwise
    activation keeps the change to one unit, and the next affine layer turns it into a rank-1 change.
    So each perturbed copy of the net costs O(C) per changed example instead of O(N·D·H), and
    hundreds of thousands of copies run as one batched tensor op. It is still a finite difference
    of the loss, not calculus.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

H = 1e-4  # the book's step
ACTIVATIONS = {"sigmoid": torch.sigmoid, "identity": lambda a: a, "relu": torch.relu, "tanh": torch.tanh}


@torch.no_grad()
def numerical_loop(f, params: dict[str, torch.Tensor], entries: dict[str, torch.Tensor] | None = None,
                   h: float = H) -> dict[str, torch.Tensor]:
    """The book's `numerical_gradient`: for each parameter, f(θ+h) and f(θ-h) by two full forward
    passes. `entries` (name -> flat indices) restricts the loop to a subset; others stay NaN."""
    grads = {}
    for name, p in params.items():
        flat, g = p.data.view(-1), torch.full((p.numel(),), math.nan, dtype=p.dtype)
        for i in (range(p.numel()) if entries is None else entries[name].tolist()):
            old = flat[i].item()
            flat[i] = old + h
            fp = float(f())
            flat[i] = old - h
            fm = float(f())
            flat[i] = old
            g[i] = (fp - fm) / (2 * h)
        grads[name] = g.view_as(p)
    return grads


@dataclass
class _Chain:
    """An affine chain's forward pass at the current weights, kept for the perturbed copies."""
    layers: list  # [(W (Din, Dout), b (Dout,), activation)]
    us: list  # per layer: its input u (N, Din)
    pre: list  # per layer: its pre-activation a (N, Dout)
    post: list  # per layer: its activation z (N, Dout)
    sample_loss: Callable


def _forward(layers, x: torch.Tensor, sample_loss) -> _Chain:
    chain = _Chain(layers, [], [], [], sample_loss)
    u = x
    for W, b, act in layers:
        chain.us.append(u)
        chain.pre.append(u @ W + b)
        u = ACTIVATIONS[act](chain.pre[-1])
        chain.post.append(u)
    return chain


def _pair_losses(c: _Chain, k: int, n: torch.Tensor, j: torch.Tensor, a_col: torch.Tensor) -> torch.Tensor:
    """Per-pair losses when example n[p]'s pre-activation a_k[n, j] becomes a_col[p] (P,)."""
    if k == len(c.layers) - 1:
        logits = c.pre[k][n].clone()
        logits[torch.arange(len(n)), j] = a_col
        return c.sample_loss(logits, n)
    dz = ACTIVATIONS[c.layers[k][2]](a_col) - c.post[k][n, j]  # one activation changed per pair
    W_next = c.layers[k + 1][0]
    a = torch.addcmul(c.pre[k + 1][n], dz.unsqueeze(-1), W_next[j])  # rank-1 change (P, Dout)
    act = c.layers[k + 1][2]
    for W, b, next_act in c.layers[k + 2:]:
        a = ACTIVATIONS[act](a) @ W + b
        act = next_act
    return c.sample_loss(a, n)


def _central(c: _Chain, k, q, n, j, step, h: float, divide: int, chunk: int) -> torch.Tensor:
    """Gradient entries q (pairs (q[p], n[p])), nudging a_k[n, j] by ±step[p]."""
    grad = torch.zeros(int(q.max()) + 1 if len(q) else 0, dtype=c.us[0].dtype)
    for s in range(0, len(q), chunk):
        sl = slice(s, s + chunk)
        base = c.pre[k][n[sl], j[sl]]
        diff = _pair_losses(c, k, n[sl], j[sl], base + step[sl]) - _pair_losses(c, k, n[sl], j[sl], base - step[sl])
        grad.index_add_(0, q[sl], diff)
    return grad / (2 * h) / divide


@torch.no_grad()
def numerical_vectorised(layers, x: torch.Tensor, sample_loss, reduce: str = "mean", h: float = H,
                         chunk: int = 200_000) -> list:
    """Central differences of reduce_n(sample_loss(net(x)_n, n)) for every weight and bias of an
    affine chain.

    layers: [(W (Din, Dout), b (Dout,), activation)]; sample_loss(logits (P, C), n (P,)) -> (P,) the
    loss of example n[p] given its logits. Nudging W_k[i, j] leaves every example with u[n, i] == 0
    untouched, so its loss terms cancel exactly: only the (parameter, example) pairs that change are
    computed, `chunk` pairs per batched pass. Returns [(dW, db)] per layer."""
    x = x.reshape(len(x), -1).to(layers[0][0].dtype)
    c = _forward(layers, x, sample_loss)
    n_ex = len(x)
    divide = n_ex if reduce == "mean" else 1
    out = []
    for k, (W, _, _) in enumerate(layers):
        din, dout = W.shape
        n, i = c.us[k].nonzero(as_tuple=True)  # examples whose input i is nonzero
        jj = torch.arange(dout)
        # pairs (weight (i, j), example n): all j for every nonzero input
        q = (i.unsqueeze(1) * dout + jj).reshape(-1)
        n_w, j_w = n.repeat_interleave(dout), jj.repeat(len(n))
        dW = torch.zeros(din * dout, dtype=x.dtype)
        g = _central(c, k, q, n_w, j_w, h * c.us[k][n_w, q // dout], h, divide, chunk)
        dW[: len(g)] = g
        nb = torch.arange(n_ex).repeat_interleave(dout)
        jb = jj.repeat(n_ex)
        db = _central(c, k, jb, nb, jb, torch.full((len(jb),), h, dtype=x.dtype), h, divide, chunk)
        out.append((dW.view(din, dout), db))
    return out
