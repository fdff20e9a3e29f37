"""The cluster: nodes that differ in speed and price, provisioned with a delay.

Nodes are numbered in the order the config lists their types; scaling out turns on
the lowest-numbered nodes that are off, scaling in turns off the highest-numbered ones
that are on (so a cluster of cheap then fast nodes grows cheap first). A node asked
for at step t serves from step ``t + 1 + provisioning_delay`` and costs its price from
the moment it is asked for. Partitions sit on the ready nodes round-robin; a partition
processes ``speed`` work units per second (one slot of its node). Merging the partial
states of split keys and moving the state of migrated keys are work too, shared by
the active partitions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.errors import FieldError

OFF = -1
MAX_NODES = 4096
MAX_CLUSTER_PARTITIONS = 4096  # partitions of all nodes (the scheduler's and routers' arrays)


@dataclass(frozen=True)
class NodeType:
    count: int  # nodes of this type
    speed: float  # work units per second of one slot
    price: float = 1.0  # cost of one node per second it is on


@dataclass(frozen=True)
class ClusterConfig:
    nodes: tuple[NodeType, ...] = (NodeType(count=8, speed=400.0),)
    slots_per_node: int = 4  # partitions a node can host
    initial_nodes: int = 4
    provisioning_delay: int = 1  # micro-batches a new node misses after the next one
    batch_interval: float = 1.0  # seconds of stream per micro-batch
    deadline: float = 2.0  # seconds; a batch whose latency exceeds it misses its deadline
    # seconds of work per extra partition a split key is spread over (one partial state
    # to merge) and per key whose state moves; both spread over the active partitions
    merge_cost: float = 0.002
    migration_cost: float = 0.002

    def __post_init__(self):
        if not self.nodes or any(t.count < 1 or t.speed <= 0 or t.price < 0 for t in self.nodes):
            raise FieldError("nodes", "give node types with count >= 1, speed > 0, price >= 0")
        if self.slots_per_node < 1:
            raise FieldError("slots_per_node", "must be at least 1")
        if self.max_nodes > MAX_NODES:
            raise FieldError("nodes", f"at most {MAX_NODES:,} nodes in all, got {self.max_nodes:,}")
        if self.max_partitions > MAX_CLUSTER_PARTITIONS:
            raise FieldError("slots_per_node", f"nodes x slots_per_node = {self.max_partitions:,} "
                             f"partitions; at most {MAX_CLUSTER_PARTITIONS:,}")
        if not 1 <= self.initial_nodes <= self.max_nodes:
            raise FieldError("initial_nodes", f"must lie in [1, {self.max_nodes}] (the nodes listed)")
        for name in ("provisioning_delay", "merge_cost", "migration_cost"):
            if getattr(self, name) < 0:
                raise FieldError(name, "must not be negative")
        for name in ("batch_interval", "deadline"):
            if getattr(self, name) <= 0:
                raise FieldError(name, "must be positive")

    @property
    def max_nodes(self) -> int:
        return sum(t.count for t in self.nodes)

    @property
    def max_partitions(self) -> int:
        return self.max_nodes * self.slots_per_node

    @property
    def node_speed(self) -> np.ndarray:
        return np.repeat([t.speed for t in self.nodes], [t.count for t in self.nodes])

    @property
    def node_price(self) -> np.ndarray:
        return np.repeat([t.price for t in self.nodes], [t.count for t in self.nodes])


class Nodes:
    """Per env, per node: off, provisioning (steps left) or ready."""

    SNAPSHOT_STATIC = ("config",)  # data, not state (marl_part.snapshot)

    def __init__(self, config: ClusterConfig, n_envs: int):
        self.config = config
        self.speed = config.node_speed
        self.price = config.node_price
        self.ready_in = np.full((n_envs, config.max_nodes), OFF, dtype=np.int64)

    def reset(self, env_ids: np.ndarray, ready: np.ndarray) -> None:
        """Env ``env_ids[i]`` starts with its first ``ready[i]`` nodes ready, the rest off."""
        env_ids = np.asarray(env_ids)
        first = np.arange(self.config.max_nodes)[None, :] < np.asarray(ready)[:, None]
        self.ready_in[env_ids] = np.where(first, 0, OFF)

    @property
    def ready(self) -> np.ndarray:
        return self.ready_in == 0

    @property
    def on(self) -> np.ndarray:
        return self.ready_in != OFF

    @property
    def n_ready(self) -> np.ndarray:
        return self.ready.sum(axis=1)

    @property
    def n_on(self) -> np.ndarray:
        return self.on.sum(axis=1)

    def ready_slots(self) -> np.ndarray:
        return self.n_ready * self.config.slots_per_node

    def cost(self) -> np.ndarray:
        """Price of the nodes on (ready or provisioning) over one batch interval."""
        return (self.on * self.price).sum(axis=1) * self.config.batch_interval

    def scale(self, delta: np.ndarray) -> None:
        """Turn nodes on (delta > 0) or off (delta < 0), keeping 1..max_nodes on."""
        on = self.on
        n_on = on.sum(axis=1)
        target = np.clip(n_on + delta, 1, self.config.max_nodes)
        # rank of each node among the off nodes (from the lowest id) and the on nodes (from the highest)
        off_rank = np.cumsum(~on, axis=1) - 1
        on_rank_from_top = np.cumsum(on[:, ::-1], axis=1)[:, ::-1] - 1
        turn_on = ~on & (off_rank < (target - n_on)[:, None])
        turn_off = on & (on_rank_from_top < (n_on - target)[:, None])
        self.ready_in[turn_on] = self.config.provisioning_delay + 1
        self.ready_in[turn_off] = OFF

    def tick(self) -> None:
        """One micro-batch passes: provisioning nodes come closer to ready."""
        np.subtract(self.ready_in, 1, out=self.ready_in, where=self.ready_in > 0)

    def partition_speed(self, n_active: np.ndarray, max_partitions: int) -> np.ndarray:
        """Speed of every partition slot (n_envs, max_partitions); 0 where inactive.

        Active partition p sits on the (p mod n_ready)-th ready node.
        """
        ready = self.ready
        ready_first = np.argsort(~ready, axis=1, kind="stable")
        n_ready = np.maximum(ready.sum(axis=1), 1)
        p = np.arange(max_partitions)
        node = np.take_along_axis(ready_first, p[None, :] % n_ready[:, None], axis=1)
        return np.where(p[None, :] < n_active[:, None], self.speed[node], 0.0)
