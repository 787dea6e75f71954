"""Numeric precision of a training step: fp32 (TF32 matmuls on CUDA), or bf16/fp16 autocast with a
gradient scaler for fp16 on CUDA (fp16 gradients underflow without one)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

PRECISIONS = ("fp32", "bf16", "fp16")
AUTOCAST = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str = "fp32", device: torch.device | str = "cpu"):
        if name not in PRECISIONS:
            raise ValueError(f"precision {name!r} is not one of {', '.join(PRECISIONS)}")
        self.name, self.device = name, torch.device(device)
        self.dtype = AUTOCAST.get(name)
        self.scaler = torch.amp.GradScaler("cuda") if name == "fp16" and self.device.type == "cuda" else None
        if name == "fp32" and self.device.type == "cuda":  # TF32 tensor cores: fp32 range, 10-bit mantissa
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    def autocast(self):
        if self.dtype is None or self.device.type == "meta":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, model: nn.Module,
             grad_clip: float | None = None) -> None:
        """backward, optional gradient clipping, optimizer step (scaled for fp16 on CUDA)."""
        if self.scaler is None:
            loss.backward()
            if grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        if grad_clip:
            self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        self.scaler.step(optimizer)
        self.scaler.update()
