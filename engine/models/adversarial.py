"""Adversarial training on the word embeddings (Miyato et al., 2017, "Adversarial Training Methods for
Semi-Supervised Text Classification"; the fast gradient method of Goodfellow et al., 2015), shared by
the word-id models that offer it.

For each training batch: the clean loss, its gradient g with respect to the embedded titles, then a
second pass on the embeddings moved by eps * g / ||g|| (the norm taken per title, over all its words
and dimensions: the small step that raises the loss most), and the loss is clean + adversarial. The
model provides `embed(x)` (ids -> (B, L, D) vectors, word dropout included) and `head(e, x)` (vectors ->
logits); `forward(x)` is `head(embed(x), x)`. Evaluation and prediction run once, unperturbed."""

from __future__ import annotations

import torch


def perturbation(grad: torch.Tensor, eps: float) -> torch.Tensor:
    """eps * grad / ||grad||, the norm taken per title (over its words and dimensions)."""
    norm = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    return eps * grad / norm.view(-1, *([1] * (grad.dim() - 1)))


def adversarial_loss(model, x, y: torch.Tensor, loss, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The Trainer's (outputs, loss) for a training batch: clean + adversarial loss, or the clean one when eps is 0."""
    e = model.embed(x)
    if eps > 0 and not e.requires_grad:  # frozen embeddings: still perturb the looked-up vectors
        e.requires_grad_()
    out = model.head(e, x)
    clean = loss(out, y)
    if eps <= 0:
        return out, clean
    (grad,) = torch.autograd.grad(clean, e, retain_graph=True)
    return out, clean + loss(model.head(e + perturbation(grad.detach(), eps), x), y)
