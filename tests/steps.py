"""A few optimiser steps on one fixed batch: the losses, to check a model can learn at all."""

from __future__ import annotations

import torch


def losses_after_steps(model, x, y, steps: int, lr: float = 0.01) -> list[float]:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
