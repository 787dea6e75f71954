"""A single linear layer: logits = x W (+ b). With softmax and cross-entropy, the exercise's
single-layer net."""

from __future__ import annotations

from torch import nn

from engine.config.options import Option
from engine.models.base import Model, ModelSpec


class Linear(Model):
    def __init__(self, input_dim: int, num_outputs: int, bias: bool = True):
        super().__init__()
        self.fc = nn.Linear(input_dim, num_outputs, bias=bias)

    def forward(self, x):  # (B, D) -> (B, C)
        return self.fc(x)


SPEC = ModelSpec(
    "linear", "Single layer (softmax regression)", ("text", "image", "table"), "vector",
    build=lambda args, spec: Linear(spec["input_dim"], spec["num_outputs"], args["bias"]),
    options=(Option("bias", "bool", True, "learn a bias vector"),),
    defaults={"lr": 0.01},  # a convex problem: a larger step converges within the default epochs
    description="One affine layer; softmax + cross-entropy make it multinomial logistic regression.",
)
