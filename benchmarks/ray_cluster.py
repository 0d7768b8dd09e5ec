"""A Ray test cluster of N nodes on this machine, for the benchmarks that compare node counts.

``ray.cluster_utils.Cluster`` starts a head and N-1 more nodes, each its own raylet, object
store and worker pool with its own logical CPUs, exactly as separate machines would join a
cluster (only the hardware is shared). The benchmark process connects as the driver, as
``--ray-address`` does; the start-up time is returned so it can be reported apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ray_cluster(nodes: int, cpus_per_node: int = 1) -> Iterator[tuple[str, float]]:
    """``(address, seconds it took to start)`` of a running cluster; torn down on exit."""
    import ray
    from ray.cluster_utils import Cluster

    t = time.perf_counter()
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": cpus_per_node, "include_dashboard": False})
    try:
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=cpus_per_node)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.ERROR)
        yield cluster.address, time.perf_counter() - t
    finally:
        ray.shutdown()
        cluster.shutdown()
