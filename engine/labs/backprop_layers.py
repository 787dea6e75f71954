"""(c) of the gradient check (engine/labs/gradcheck.py): the book's hand-written layers, each with a
forward and a backward, chained into the two-layer net's backprop."""

from __future__ import annotations

import torch
from torch import nn


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout  # (Din, N) @ (N, Dout)
        self.db = dout.sum(0)
        return dout @ self.W.T


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + torch.exp(-x))
        return self.out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = t
        self.y = torch.softmax(x, dim=1)
        return -torch.log(self.y[torch.arange(len(t)), t]).mean()

    def backward(self, dout=1.0):
        dx = self.y.clone()
        dx[torch.arange(len(self.t)), self.t] -= 1
        return dout * dx / len(self.t)


@torch.no_grad()
def backprop(net: nn.Module, x, t) -> dict[str, torch.Tensor]:
    """Gradients of the mean cross-entropy of `net` (a gradcheck.TwoLayerNet) by its layers' backward."""
    x = x.reshape(len(x), -1).to(net.W1.dtype)
    layers = [Affine(net.W1.data, net.b1.data), Sigmoid(), Affine(net.W2.data, net.b2.data)]
    last = SoftmaxWithLoss()
    out = x
    for layer in layers:
        out = layer.forward(out)
    last.forward(out, t)
    dout = last.backward()
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return {"W1": layers[0].dW, "b1": layers[0].db, "W2": layers[2].dW, "b2": layers[2].db}
