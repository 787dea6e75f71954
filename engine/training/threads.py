"""CPU threads: how many cores a run may use (physical cores within the container's limit) and its share when
several train at once. No torch import: the supervisor uses it to size each worker's thread pools."""

from __future__ import annotations

import math
import os
from pathlib import Path

import psutil

GPU_RUN_THREADS = 2  # a GPU run's CPU side only feeds the device: more threads would take cores from CPU runs
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpus(root: Path = CGROUP_ROOT) -> float | None:
    """The container's CPU limit in cores (cgroup v2 cpu.max, or v1 cfs quota/period); None when unlimited."""
    for quota_file, period_file in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            text = (root / quota_file).read_text().split()
            if period_file:
                text.append((root / period_file).read_text().strip())
        except (OSError, IndexError):
            continue
        if len(text) >= 2 and text[0] not in ("max", "-1"):
            try:
                return int(text[0]) / int(text[1])
            except (ValueError, ZeroDivisionError):
                return None
        return None
    return None


def cpu_cores() -> int:
    """Cores this process may use: physical cores (hyperthreads do not add matrix throughput), within its CPU
    affinity and the container's cgroup limit."""
    logical = os.cpu_count() or 1
    physical = psutil.cpu_count(logical=False) or logical
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else logical
    cores = min(physical, max(1, allowed * physical // logical))
    limit = cgroup_cpus()
    if limit is not None:
        cores = min(cores, max(1, math.floor(limit)))
    return max(1, cores)


def thread_share(concurrent: int = 1) -> int:
    """This process's share of the CPU cores when `concurrent` runs train at once."""
    return max(1, cpu_cores() // max(1, concurrent))


def thread_env(concurrent: int = 1) -> dict[str, str]:
    """Environment for a worker process: its BLAS/OpenMP pools sized to its share (set before it starts, when
    the libraries read them)."""
    n = str(thread_share(concurrent))
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}
