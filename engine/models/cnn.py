"""A small convolutional net for digit images:
[Conv k x k -> (BatchNorm) -> ReLU -> MaxPool 2] x layers -> Linear(hidden) -> ReLU -> Dropout -> Linear.

Channels double with each block (16, 32, ...). Weights and inputs are kept channels-last, the
layout oneDNN's CPU convolutions run fastest.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.config.options import Option
from engine.models.base import Model, ModelSpec


class CNN(Model):
    def __init__(self, image_shape, num_outputs: int, in_channels: int = 1, channels: int = 16, kernel: int = 3,
                 layers: int = 2, hidden: int = 128, dropout: float = 0.25, batch_norm: bool = True):
        super().__init__()
        height, width = (int(s) for s in image_shape)
        blocks: list[nn.Module] = []
        c_in = in_channels
        for i in range(layers):
            c_out = channels * 2 ** i
            blocks.append(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks.append(nn.ReLU(inplace=True))
            if min(height, width) >= 2:  # 8x8 digits run out of pixels after three poolings
                blocks.append(nn.MaxPool2d(2))
                height, width = height // 2, width // 2
            c_in = c_out
        self.features = nn.Sequential(*blocks)
        head: list[nn.Module] = [nn.Flatten(), nn.Linear(c_in * height * width, hidden), nn.ReLU(inplace=True)]
        if dropout > 0:
            head.append(nn.Dropout(dropout))
        head.append(nn.Linear(hidden, num_outputs))
        self.head = nn.Sequential(*head)
        self.to(memory_format=torch.channels_last)

    def forward(self, x):  # (B, C, H, W) or (B, H, W) -> (B, classes)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.head(self.features(x.contiguous(memory_format=torch.channels_last)))


OPTIONS = (
    Option("channels", "int", 16, "filters in the first convolution (doubling with each layer)", min=1, max=256),
    Option("kernel", "int", 3, "convolution kernel size (odd)", choices=(3, 5, 7)),
    Option("layers", "int", 2, "convolution blocks (conv, batch norm, ReLU, 2x2 max-pool)", min=1, max=4),
    Option("hidden", "int", 128, "units of the fully connected layer before the output", min=1, max=4096),
    Option("dropout", "float", 0.25, "dropout probability before the output layer", min=0.0, max=0.9),
    Option("batch_norm", "bool", True, "batch normalisation after each convolution"),
)


def _build(args: dict, spec: dict) -> CNN:
    return CNN(spec["image_shape"], spec["num_outputs"], spec.get("in_channels", 1), **args)


SPEC = ModelSpec(
    "cnn", "CNN (convolutional net)", ("image",), "image",
    build=_build,
    options=OPTIONS,
    # onecycle: warm up to lr, then anneal within the run (MNIST's own defaults make that 3 epochs)
    defaults={"batch_size": 128, "lr": 4e-3, "schedule": "onecycle"},
    description="Small convolutional net for digit images: conv blocks with pooling, then a dense layer.",
)
