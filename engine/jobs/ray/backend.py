"""The Ray backend: each run is a Ray task on an existing cluster (`ray start --head`, workers join).

`RayJobRunner` is the local JobRunner with its supervisor swapped: `submit`, `cancel`, `status`,
`resume` and `wait` work on the same RunStore, and where the local backend starts a supervisor
process, this one makes sure the Hub (engine/jobs/ray/hub.py) is alive: a detached actor on this
node — the node that holds the data home — that dispatches queued runs as Ray tasks and is the only
writer of the store for them. The engine package travels to the workers with the job
(`py_modules`); the data and checkpoints travel through Ray, never through a shared filesystem.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

import engine
from engine.jobs.local import JobRunner
from engine.jobs.settings import settings

NAMESPACE = "nnlab"


def connect(address: str | None = None, **init_args) -> None:
    """Join the cluster at `address` (HEAD:6379; "auto": the one started on this machine; "local": start
    one here, with `init_args` such as num_cpus) as a driver. The engine package travels with the job."""
    if ray.is_initialized():
        return
    ray.init(address=address or "auto", namespace=NAMESPACE, logging_level="warning", log_to_driver=False,
             runtime_env={"py_modules": [str(Path(engine.__file__).parent)]}, **init_args)


def hub_name(home: Path) -> str:
    return "nnlab-hub-" + hashlib.sha1(str(Path(home).resolve()).encode()).hexdigest()[:12]


class RayJobRunner(JobRunner):
    """JobRunner whose runs are Ray tasks, dispatched by the Hub actor of this data home."""

    backend = "ray"

    def __init__(self, home=None, address: str | None = None):
        super().__init__(home)
        self.address = address or settings(self.home).get("ray_address")

    def hub(self):
        """The Hub of this data home: the live one, or a new one pinned to this node."""
        from engine.jobs.ray.hub import Hub

        connect(self.address)
        name = hub_name(self.home)
        try:
            return ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            pass
        here = ray.get_runtime_context().get_node_id()
        return ray.remote(Hub).options(
            name=name, namespace=NAMESPACE, lifetime="detached", get_if_exists=True, num_cpus=0,
            max_concurrency=64, max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=here, soft=False),
        ).remote(str(self.home))

    def ensure_supervisor(self) -> None:
        self.hub().wake.remote()

    def shutdown(self) -> None:
        """End the Hub (its running tasks end with it: they are marked interrupted by the next Hub)."""
        connect(self.address)
        with contextlib.suppress(ValueError):
            ray.kill(ray.get_actor(hub_name(self.home), namespace=NAMESPACE))
