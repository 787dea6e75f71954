"""A local multi-node Ray cluster on 127.0.0.1 for the Ray backend's tests.

Every node gets its own data home (NNLAB_HOME in the node's environment), none of them the test's
data home: a run that reads or writes the head's paths from a worker would miss its files.
"""

from __future__ import annotations

import os
from pathlib import Path

NODE_SECRETS = {"NNLAB_TEACHER_PASSWORD": "hunter2-on-the-node", "OPENAI_API_KEY": "sk-node"}
NODE_ARGS = {"num_cpus": 1, "node_ip_address": "127.0.0.1", "object_store_memory": 100 * 2**20}


def loopback_only() -> None:
    # Ray resolves "127.0.0.1" in an address to the machine's network address unless told not to
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    import ray._private.ray_constants as constants

    constants.ENABLE_RAY_CLUSTER = False


def start_cluster(root: Path):
    """A head and one worker node, 1 CPU each; the test process joins as the driver."""
    loopback_only()
    from ray.cluster_utils import Cluster

    from engine.jobs.ray.backend import connect

    cluster = Cluster(initialize_head=True, head_node_args={
        **NODE_ARGS, "include_dashboard": False, "env_vars": node_env(root, "head"),
        # a node that goes away is declared dead after ~2 s instead of ~30 s
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4,
                           "health_check_timeout_ms": 500}})
    cluster.nnlab_root = root  # where the nodes' data homes are
    add_worker(cluster, root, "worker-1")
    connect(cluster.address)
    warm_up()
    return cluster


def warm_up() -> None:
    """One task per node that imports the engine: later runs start in a warm worker, not in seconds."""
    import ray

    @ray.remote(num_cpus=1, scheduling_strategy="SPREAD")
    def load_engine() -> str:
        import engine.training.run  # noqa: F401 (torch and the engine, as a run needs them)

        return ray.get_runtime_context().get_node_id()

    ray.get([load_engine.remote() for _ in range(len(ray.nodes()))], timeout=180)


def add_worker(cluster, root: Path, name: str):
    return cluster.add_node(**NODE_ARGS, env_vars=node_env(root, name))


def node_env(root: Path, name: str) -> dict:
    home = root / f"node-{name}"
    home.mkdir(parents=True, exist_ok=True)
    # a node started by a teacher whose shell holds secrets: runs must not see them (engine/jobs/ray/worker.py)
    return {"NNLAB_HOME": str(home), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", **NODE_SECRETS}


def worker_node(cluster, node_label: str):
    """The cluster's worker node (not the head) whose id starts the store's `node` label, or None."""
    for node in cluster.worker_nodes:
        if f"(ray {node.node_id[:8]})" in (node_label or ""):
            return node
    return None
