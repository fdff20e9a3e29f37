"""Stateless and nearly stateless partitioners: hash, shuffle, consistent hashing."""

from __future__ import annotations

import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.knobs import Knob
from marl_part.sim.routing import KeyRouting, TupleRouting
from marl_part.workloads.trace import mix64


class Hash(Baseline):
    """Hash partitioning (key grouping): a key always goes to hash(key) mod n."""

    role, name = "partitioner", "hash"

    def act(self) -> KeyRouting:
        return self.world.hash_routing()


class Shuffle(Baseline):
    """Shuffle grouping: tuples dealt round-robin over the active partitions.

    As Storm's and Flink's shuffle/rebalance (e.g. Toshniwal et al., "Storm @Twitter",
    SIGMOD 2014). Each env keeps one counter across batches, so the deal continues
    where the last batch stopped; a key's tuples end up on many partitions.
    """

    role, name = "partitioner", "shuffle"
    per_tuple = True

    def __init__(self, world):
        super().__init__(world)
        self.next = np.zeros(world.n_envs, dtype=np.int64)

    def reset(self, env_ids, rngs):
        self.next[env_ids] = 0

    def act(self) -> TupleRouting:
        _, env, starts = self.world.view.tuples()
        position = np.arange(len(env)) - starts[env] + self.next[env]
        self.next += np.diff(starts)
        return TupleRouting(position % self.world.n_active[env])


class ConsistentHash(Baseline):
    """Consistent hashing with virtual nodes (Karger et al., "Consistent Hashing and
    Random Trees", STOC 1997; virtual nodes as in Dynamo, DeCandia et al., SOSP 2007).

    Every active partition owns ``virtual_nodes`` points of a 64-bit hash ring; a key
    goes to the owner of the first point clockwise from the key's ring position. When
    the parallelism grows from n to n+1, only the keys that fall on the new partition's
    arcs move (about 1/(n+1) of them), where mod-n hashing moves about n/(n+1).
    Key-level: returns a :class:`KeyRouting`, nothing split.
    """

    role, name = "partitioner", "consistent_hash"
    knobs = (Knob("virtual_nodes", int, 1, 4096, 64, (16, 64, 256),
                  "ring points per partition"),)

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        self.rings: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        # a key's ring position: a re-mix of its hash (chunk traces hash domains to 0..D-1)
        self.key_position = mix64(world.batches.trace.key_hash ^ np.uint64(0x5BD1E995))

    def ring(self, n: int, virtual_nodes: int) -> tuple[np.ndarray, np.ndarray]:
        """The sorted points and their owners of the ring over partitions 0..n-1."""
        if (n, virtual_nodes) not in self.rings:
            p = np.repeat(np.arange(n, dtype=np.uint64), virtual_nodes)
            v = np.tile(np.arange(virtual_nodes, dtype=np.uint64), n)
            point = mix64((p << np.uint64(32)) | v)  # ring position of each virtual node
            order = np.argsort(point, kind="stable")
            self.rings[n, virtual_nodes] = point[order], p[order].astype(np.int64)
        return self.rings[n, virtual_nodes]

    def partition_of(self, position: np.ndarray, n: int, virtual_nodes: int) -> np.ndarray:
        points, owners = self.ring(n, virtual_nodes)
        return owners[np.searchsorted(points, position, side="left") % len(points)]

    def act(self) -> KeyRouting:
        view, n_active = self.world.view, self.world.n_active
        position = self.key_position[view.key]
        ring_of_env = np.stack([n_active, self.virtual_nodes], axis=1)
        rings, ring_index = np.unique(ring_of_env, axis=0, return_inverse=True)
        ring_of_row = ring_index.reshape(-1)[view.env]
        part = np.empty(len(view.key), dtype=np.int64)
        for index, (n, virtual_nodes) in enumerate(rings):
            rows = ring_of_row == index
            part[rows] = self.partition_of(position[rows], int(n), int(virtual_nodes))
        return KeyRouting(part)
