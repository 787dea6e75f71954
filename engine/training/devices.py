"""Devices: auto | cpu | cuda | mps, offered only where available."""

from __future__ import annotations

import torch

from engine.training.threads import GPU_RUN_THREADS


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


def free_memory(device: torch.device) -> int | None:
    """Bytes an accelerator can still hold; None for the CPU and the meta device (no limit to respect)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type == "mps":
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return None


def rng_state(device: torch.device) -> dict:
    """The random-number states a run on `device` draws from: the CPU's, and the accelerator's."""
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    elif device.type == "mps":
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict, device: torch.device) -> None:
    """Restore what `rng_state` saved; an accelerator's state only on that kind of device (a run resumed
    elsewhere keeps the CPU's and starts the new device's stream from the seed)."""
    if state.get("torch") is not None:
        torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state.get("cuda") is not None:
        torch.cuda.set_rng_state(state["cuda"], device)
    elif device.type == "mps" and state.get("mps") is not None:
        torch.mps.set_rng_state(state["mps"])


def float64_ok(device: torch.device) -> bool:
    """MPS has no float64: models that compute in double fall back to float32 there."""
    return device.type != "mps"


def cap_threads(device: torch.device) -> None:
    """A GPU run's CPU side only feeds the device: at most GPU_RUN_THREADS threads, the cores left to CPU runs."""
    if device.type not in ("cpu", "meta"):
        torch.set_num_threads(min(torch.get_num_threads(), GPU_RUN_THREADS))
