"""Multi-layer perceptron: [Linear -> (BatchNorm) -> activation -> (Dropout)] x layers -> Linear."""

from __future__ import annotations

from torch import nn

from engine.config.options import Option
from engine.models.base import Model, ModelSpec

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(Model):
    def __init__(self, input_dim: int, num_outputs: int, layers: int = 1, width: int = 256,
                 activation: str = "relu", batch_norm: bool = False, dropout: float = 0.0,
                 input_norm: bool = False):
        super().__init__()
        blocks: list[nn.Module] = [nn.Flatten()]  # images (B, H, W) and vectors (B, D) alike
        if input_norm:  # learned standardisation of the inputs (mean word vectors have tiny, uneven scales)
            blocks.append(nn.BatchNorm1d(input_dim))
        dim = input_dim
        for _ in range(layers):
            # bias is redundant right before batch norm (its shift absorbs it)
            blocks.append(nn.Linear(dim, width, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm1d(width))
            blocks.append(ACTIVATIONS[activation]())
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            dim = width
        blocks.append(nn.Linear(dim, num_outputs))
        self.net = nn.Sequential(*blocks)

    def forward(self, x):  # (B, D) -> (B, C)
        return self.net(x)


OPTIONS = (
    Option("layers", "int", 2, "hidden layers", min=1, max=8),
    Option("width", "int", 512, "units per hidden layer", min=1, max=4096),
    Option("activation", "str", "relu", "hidden activation", choices=tuple(ACTIVATIONS)),
    Option("batch_norm", "bool", True, "batch normalisation after each hidden linear layer"),
    Option("dropout", "float", 0.4, "dropout probability after each hidden layer", min=0.0, max=0.9),
    Option("input_norm", "bool", True, "batch-normalise the inputs"),
)

SPEC = ModelSpec(
    "mlp", "MLP (multi-layer perceptron)", ("text", "image", "table"), "vector",
    build=lambda args, spec: MLP(spec["input_dim"], spec["num_outputs"], **args),
    options=OPTIONS,
    presets={
        "mnist 784-512-512-10 (dropout 0.2)": {
            "model_args": {"layers": 2, "width": 512, "activation": "relu", "batch_norm": False, "dropout": 0.2,
                           "input_norm": False},
            # SGD + cosine over 20 epochs without early stopping: ahead of Adam and of lr 0.1 (bench/RESULTS.md)
            "optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 128, "epochs": 20, "schedule": "cosine",
            "early_stopping": False,
        },
        "book 784-50-10 (sigmoid)": {
            "model_args": {"layers": 1, "width": 50, "activation": "sigmoid", "batch_norm": False, "dropout": 0.0,
                           "input_norm": False},
            "optimizer": "sgd", "lr": 0.1, "batch_size": 100,
        },
    },
    description="Fully connected hidden layers with optional batch norm and dropout.",
)
