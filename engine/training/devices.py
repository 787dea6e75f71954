"""Devices: auto | cpu | cuda | mps, offered only where available."""

from __future__ import annotations

import os

import torch


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str) -> torch.device:
    available = available_devices()
    if name == "auto":
        return torch.device(available[1] if len(available) > 1 else "cpu")
    if name not in available:
        raise ValueError(f"device {name!r} is not available here; available: {', '.join(available)}. "
                         "Fix: choose device=auto or cpu.")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so wall-clock timings on a GPU measure the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def thread_share(concurrent: int = 1) -> int:
    """This process's share of the CPU cores when `concurrent` workers train at once."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, concurrent))
