"""Softmax and cross-entropy by formula and by autograd (the single-layer exercise).

With a random W (d x C) over the features x_i: ŷ = softmax(x W), loss = -(1/n) Σ log ŷ[i, y_i], and
∂loss/∂W = Xᵀ (Ŷ − Y) / n (Y one-hot). Computed for x1 alone and for X[1:4], once by these
formulas and once by torch.autograd, so the page can show them side by side with their shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from engine.config.run_config import make_config
from engine.data import DATASETS
from engine.training.pipeline import prepare_data


def lab_features(home=None, n: int = 4) -> tuple[torch.Tensor, torch.Tensor, list[str], str]:
    """The first `n` training rows: news mean word vectors when the news split is fetched, else the
    8x8 digits flattened (d = 64). Returns (X (n, d), y (n,), class names, description)."""
    if DATASETS["news"].ready(home):
        prep = prepare_data(make_config(dataset="news", model="linear"), home)
        what = f"news headlines, mean GloVe vectors (d = {prep.spec['input_dim']})"
        titles = prep.dataset.train.x[:n]
        what += "; x1..x4 = " + " | ".join(titles)
    else:
        prep = prepare_data(make_config(dataset="digits", model="linear"), home)
        what = "8x8 digits flattened (d = 64): the news split is not fetched"
    return prep.tensors["train"][:n].double(), prep.targets["train"][:n], prep.spec["classes"], what


def softmax(z: torch.Tensor) -> torch.Tensor:
    e = torch.exp(z - z.max(dim=1, keepdim=True).values)  # the shift changes nothing but avoids overflow
    return e / e.sum(dim=1, keepdim=True)


@dataclass
class Step:
    name: str  # "softmax" | "loss" | "grad_W"
    formula: str
    by_formula: torch.Tensor
    by_autograd: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.by_formula.shape)

    @property
    def max_abs_diff(self) -> float:
        return float((self.by_formula - self.by_autograd).abs().max())


def compute(X: torch.Tensor, y: torch.Tensor, W: torch.Tensor) -> list[Step]:
    """softmax, loss and its gradient for the examples X (n, d), by formula and by autograd."""
    n, c = len(X), W.shape[1]
    Y_hat = softmax(X @ W)  # (n, C)
    Y = torch.nn.functional.one_hot(y, c).to(X.dtype)  # (n, C)
    loss = -torch.log(Y_hat[torch.arange(n), y]).mean()
    grad = X.T @ (Y_hat - Y) / n  # (d, C)

    Wg = W.clone().requires_grad_(True)
    logits = X @ Wg
    auto_loss = torch.nn.functional.cross_entropy(logits, y)
    (auto_grad,) = torch.autograd.grad(auto_loss, Wg)
    return [
        Step("softmax", "ŷ = softmax(x W) = exp(x W) / Σ_c exp(x W)_c", Y_hat, torch.softmax(logits.detach(), 1)),
        Step("loss", "L = -(1/n) Σ_i log ŷ[i, y_i]", loss.reshape(()), auto_loss.detach()),
        Step("grad_W", "∂L/∂W = Xᵀ (Ŷ − Y) / n", grad, auto_grad),
    ]


def run(home=None, seed: int = 0) -> dict:
    """The whole lab: random W, then one example (x1) and four (X[1:4])."""
    X, y, classes, what = lab_features(home)
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(X.shape[1], len(classes), generator=g, dtype=X.dtype)
    return {"source": what, "classes": classes, "W": W, "X": X, "y": y,
            "one": compute(X[:1], y[:1], W), "four": compute(X[:4], y[:4], W)}
