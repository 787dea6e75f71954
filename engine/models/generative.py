"""Probabilistic generative classifier: one Gaussian per class, fitted in closed form.

P(x | c) = N(x; mu_c, Sigma_c), P(c) = class frequency; logits are log P(x | c) + log P(c), so the
softmax of the logits is the posterior P(c | x). With `covariance=shared` every class uses the
frequency-weighted average of the class covariances (the course's shared Sigma): the boundary is then
linear, and the model has far fewer numbers to estimate from 140 rows.

There is nothing to train by gradient descent: `fit_closed_form(x, y)` sets the buffers, and the
run (engine/training/run.py) has the Trainer run it as one epoch (`Trainer.fit_once`) instead of its loop. Everything else (metrics, checkpoint,
prediction) is the same path as any other model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from engine.config.options import Option
from engine.models.base import Model, ModelSpec
from engine.training.devices import float64_ok

RIDGE = 1e-6  # added to the covariance diagonal (relative to its scale) so it stays invertible


class GaussianGenerative(Model):
    closed_form = True

    def __init__(self, input_dim: int, num_outputs: int, covariance: str = "shared"):
        super().__init__()
        self.covariance = covariance
        self.register_buffer("means", torch.zeros(num_outputs, input_dim, dtype=torch.float64))
        eye = torch.eye(input_dim, dtype=torch.float64)
        self.register_buffer("covs", eye.repeat(num_outputs, 1, 1))
        self.register_buffer("log_priors", torch.full((num_outputs,), -math.log(num_outputs), dtype=torch.float64))

    @torch.no_grad()
    def fit_closed_form(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Maximum-likelihood means, covariances (1/N, as the course) and class priors."""
        device, dtype = self.means.device, self.means.dtype
        k, d = self.means.shape
        labels = y.cpu()  # the class rows are found on the host (no device sync per class), gathered on the device
        counts = torch.bincount(labels, minlength=k)[:k]
        if (counts == 0).any():
            missing = [c for c in range(k) if counts[c] == 0]
            raise ValueError(f"class(es) {missing} have no training rows: a Gaussian needs examples of each class")
        x = x.to(device, dtype)
        counts = counts.to(device, dtype)
        covs = []
        for c in range(k):
            xc = x.index_select(0, (labels == c).nonzero().flatten().to(device))
            mu = xc.mean(0)
            self.means[c] = mu
            diff = xc - mu
            covs.append(diff.T @ diff / len(xc))
        covs = torch.stack(covs)
        if self.covariance == "shared":
            covs = (counts[:, None, None] * covs).sum(0, keepdim=True).expand(k, d, d) / counts.sum()
        scale = covs.diagonal(dim1=1, dim2=2).mean().clamp_min(1e-12)
        self.covs.copy_(covs + RIDGE * scale * torch.eye(d, dtype=dtype, device=device))
        self.log_priors.copy_(torch.log(counts / counts.sum()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, D) -> (B, C) log P(x|c) + log P(c)
        x = x.to(self.means.dtype)
        dist = torch.distributions.MultivariateNormal(self.means, covariance_matrix=self.covs, validate_args=False)
        return (dist.log_prob(x[:, None, :]) + self.log_priors).float()

    def _apply(self, fn, recurse=True):
        # float64 where the target device has it; on MPS (no float64) the buffers become float32 first
        if not float64_ok(fn(torch.zeros(())).device):
            for name, buf in self.named_buffers(recurse=False):
                setattr(self, name, buf.float())
        return super()._apply(fn, recurse)

    def configure_optimizers(self, cfg, steps_per_epoch: int):
        return None, None, False  # nothing to step: its checkpoints hold optimizer None


SPEC = ModelSpec(
    "generative", "Generative Gaussian classifier (closed form)", ("table",), "vector",
    build=lambda args, spec: GaussianGenerative(spec["input_dim"], spec["num_outputs"], args["covariance"]),
    options=(Option("covariance", "str", "shared", "Gaussian covariance: one per class (separate) or one "
                    "shared by all classes (shared; a linear boundary)", choices=("separate", "shared")),),
    description="One Gaussian per class (maximum likelihood) and Bayes' rule; fitted in closed form, no epochs.",
    tasks=("classification",),
    defaults={"epochs": 1},
    fixed=("optimizer", "lr", "momentum", "weight_decay", "schedule", "batch_size", "epochs", "early_stopping",
           "patience"),  # fitted in closed form, once
)

LOGISTIC = ModelSpec(
    "logistic", "Logistic regression (gradient descent)", ("table",), "vector",
    build=lambda args, spec: _linear(spec),
    options=(),
    defaults={"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batch_size": 16, "epochs": 200,
              "early_stopping": True, "patience": 20},
    description="A linear layer with softmax and cross-entropy (two classes: logistic regression), trained by "
                "gradient descent on the same split.",
    tasks=("classification",),
)


def _linear(spec: dict) -> nn.Module:
    from engine.models.linear import Linear

    return Linear(spec["input_dim"], spec["num_outputs"], True)
