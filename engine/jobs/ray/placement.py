"""Where a Ray run can go: its device resolved against the cluster's nodes, and the resources its task
reserves. Pure (the nodes are `ray.nodes()`'s dicts), so it is tested without a cluster."""

from __future__ import annotations

from engine.config.options import ConfigError


def place_run(device: str, cpus: int, nodes: list[dict]) -> dict:
    """The task's resources for a run on `device` with `cpus` CPUs: {"device", "num_cpus", "num_gpus", "max_calls"}
    (max_calls 0: the worker process serves any number of tasks). `auto` becomes cuda when a live node has a GPU (and reserves it), else cpu. A run that no
    live node can take raises ConfigError with the fix, instead of waiting for a node that never comes."""
    alive = [n.get("Resources", {}) for n in nodes if n.get("Alive", n.get("alive", False))]
    if device == "mps":
        raise ConfigError("device=mps cannot run on a Ray cluster (Apple GPUs are not Ray resources). "
                          "Fix: choose device auto, cpu or cuda, or train without Ray")
    has_cpus = [r for r in alive if r.get("CPU", 0) >= cpus]
    if not has_cpus:
        most = max((r.get("CPU", 0) for r in alive), default=0)
        raise ConfigError(f"no node of the Ray cluster has {cpus} CPUs for a run (the most is {most:g}). "
                          "Fix: lower ray_cpus_per_run in settings.json, or add a bigger node")
    with_gpu = [r for r in has_cpus if r.get("GPU", 0) >= 1]
    if device == "auto":
        device = "cuda" if with_gpu else "cpu"
    if device == "cuda" and not with_gpu:
        raise ConfigError("device=cuda, but no node of the Ray cluster has a GPU (and the CPUs a run needs). "
                          "Fix: choose device auto or cpu, or add a GPU node to the cluster")
    if device == "cuda":  # a fresh worker process per GPU run: no CUDA context or cached memory carried over
        return {"device": "cuda", "num_cpus": cpus, "num_gpus": 1, "max_calls": 1}
    return {"device": device, "num_cpus": cpus, "num_gpus": 0, "max_calls": 0}
