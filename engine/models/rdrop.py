"""R-Drop (Liang et al., 2021, "R-Drop: Regularized Dropout for Neural Networks"), used by the
transformer: every training batch goes through the model twice in one stacked forward pass, so the
two copies get different dropout masks, and the loss is the mean of the two task losses plus `weight`
x the symmetric KL divergence between the two predicted class distributions. Evaluation and prediction
run once, without dropout."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def symmetric_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(KL(p_a || p_b) + KL(p_b || p_a)) / 2 for logits a, b (B, C), averaged over the batch."""
    la, lb = F.log_softmax(a, 1), F.log_softmax(b, 1)
    return (F.kl_div(lb, la, log_target=True, reduction="batchmean")
            + F.kl_div(la, lb, log_target=True, reduction="batchmean")) / 2


def stack_twice(x):
    """A batch and its copy, stacked along the batch dimension: a tensor, or a tuple/dict of tensors."""
    if isinstance(x, torch.Tensor):
        return torch.cat([x, x])
    if isinstance(x, dict):
        return {k: torch.cat([v, v]) for k, v in x.items()}
    return type(x)(torch.cat([v, v]) for v in x)


def rdrop_loss(model, x, y: torch.Tensor, loss, weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The Trainer's (outputs, loss) for a training batch: R-Drop with `weight`, or one plain pass when it is 0."""
    if weight <= 0:
        out = model(x)
        return out, loss(out, y)
    a, b = model(stack_twice(x)).chunk(2)
    return (a + b) / 2, (loss(a, y) + loss(b, y)) / 2 + weight * symmetric_kl(a, b)
