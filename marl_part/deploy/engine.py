"""How a stream engine's router applies a partitioner's decisions, in the simulator.

The simulator routes each micro-batch by a decision taken on that very batch: it has
counted the batch's keys before routing any of them. A router inside an engine routes
each tuple as it arrives; what it has counted are the windows before. Each class here
is an ``engine`` for :class:`~marl_part.envs.simulation.Simulation`: it takes the
routing decided on the current batch and returns the one the engine would apply, and
records every batch's routing for the deployed job (:class:`Routed`).

- :class:`PreviousWindow` (learned partitioners, lpt, any key-level router): window b
  goes by the decision taken on window b - 1, from its hot-key counts.
- :class:`AsDecided` (pkg): PKG decides tuple by tuple from the loads it has sent in
  the current window, which a router has: nothing to delay.
- :class:`KeyGroups` (hash): Flink's own hash partitioning (``keyBy``), whatever the
  simulator's hash says: :func:`flink_subtask`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.errors import InputError
from marl_part.sim.routing import BatchView, KeyRouting, Routing

MAX_PARALLELISM = 128  # Flink's key groups for a job of up to 128 subtasks (its default)


@dataclass
class Routed:
    """One batch of every env and the routing it went by."""

    view: BatchView
    routing: Routing
    n_active: np.ndarray  # (n_envs,) active partitions
    speed: np.ndarray  # (n_envs, P) work units per second of each partition


class AsDecided:
    """The decision, applied to the batch it was taken on (recorded)."""

    def __init__(self, simulation):
        self.world = simulation.world
        self.routed: list[Routed] = []

    def reset(self, env_ids: np.ndarray) -> None:
        """Nothing is remembered across windows."""

    def route(self, routing: Routing) -> Routing:
        world = self.world
        self.routed.append(Routed(world.view, routing, world.n_active.copy(),
                                  world.nodes.partition_speed(world.n_active,
                                                              world.max_partitions)))
        return routing


class KeyGroups(AsDecided):
    """Flink's ``keyBy`` over the active subtasks, in place of the decision."""

    def route(self, routing: Routing) -> Routing:
        view = self.world.view
        part = flink_subtask(view.key, self.world.n_active[view.env])
        return super().route(KeyRouting(part))


class PreviousWindow(AsDecided):
    """Every window routed by the decision taken on the window before it.

    A key of window b - 1 goes where that window's decision sent it, a hot key split
    over several partitions dealt round-robin over them; a key that window b - 1 did
    not hold goes by the tail router (``partitioner.tail``), which needs no counts; a
    partition no longer active is replaced by the key's tail partition. The first
    window of an episode has no decision before it: it goes by the tail router.
    """

    def __init__(self, simulation):
        super().__init__(simulation)
        world = self.world
        self.tail = simulation.tail_router
        shape = (world.n_envs, world.batches.trace.n_keys)
        self.partition = np.full(shape, -1, dtype=np.int64)  # the last decision, per key
        self.row_of = np.full(shape, -1, dtype=np.int64)  # scratch: key -> row of the view
        self.last = (np.empty(0, np.int64), np.empty(0, np.int64))  # its (env, key) pairs
        self.hot_key = np.full((world.n_envs, world.hot_keys), -1, dtype=np.int64)
        self.hot_split = np.zeros((world.n_envs, world.hot_keys, world.split_ways),
                                  dtype=np.int64)

    def reset(self, env_ids: np.ndarray) -> None:
        self.partition[env_ids] = -1
        self.hot_key[env_ids] = -1

    def route(self, routing: Routing) -> Routing:
        if not isinstance(routing, KeyRouting):
            raise InputError("a partitioner that routes tuple by tuple cannot be applied a "
                             "window late; deploy runs key-level partitioners (learned, lpt, "
                             "hash, consistent_hash) and pkg", "--policy partitioner")
        world, view = self.world, self.world.view
        tail = self.tail.act() if self.tail is not None else world.hash_routing()
        active = world.n_active
        before = self.partition[view.env, view.key]
        part = np.where((before >= 0) & (before < active[view.env]), before, tail.row_partition)
        # the last window's hot keys, at their rows in this one (-1: absent)
        self.row_of[view.env, view.key] = np.arange(len(view.rows))
        env = np.arange(world.n_envs)[:, None]
        hot = np.where(self.hot_key >= 0, self.row_of[env, self.hot_key.clip(0)], -1)
        self.row_of[view.env, view.key] = -1
        fallback = np.where(hot >= 0, part[hot.clip(0)], 0)[:, :, None]
        split = np.where(self.hot_split < active[:, None, None], self.hot_split, fallback)
        part[hot[hot >= 0]] = split[..., 0][hot >= 0]
        self._remember(view, routing)
        view.hot = hot  # the keys this routing places by their split: the last window's
        return super().route(KeyRouting(part, split if world.split_ways > 1 else None))

    def _remember(self, view: BatchView, decision: KeyRouting) -> None:
        self.partition[self.last] = -1
        self.last = (view.env, view.key)
        self.partition[self.last] = decision.row_partition
        self.hot_key = view.at_hot(view.key, fill=-1)
        split = (decision.hot_split if decision.hot_split is not None
                 else view.at_hot(decision.row_partition)[:, :, None])
        self.hot_split = np.broadcast_to(split, self.hot_split.shape).copy()


def flink_subtask(key: np.ndarray, parallelism: np.ndarray | int,
                  max_parallelism: int = MAX_PARALLELISM) -> np.ndarray:
    """The subtask Flink's ``keyBy`` sends each integer ``key`` to (PyFlink keys a record
    by a one-field Row of the Long key): the Row's hash code, Flink's murmur hash of it
    (``MathUtils.murmurHash``) modulo ``max_parallelism`` is the key group, and key
    groups go to subtasks in contiguous ranges (``KeyGroupRangeAssignment``)."""
    k = np.asarray(key, dtype=np.int64).astype(np.uint64)
    code = ((k ^ (k >> np.uint64(32))) + np.uint64(62)) & np.uint64(0xFFFFFFFF)
    group = _murmur(code.astype(np.uint32)) % max_parallelism
    return (group * np.asarray(parallelism, dtype=np.int64)) // max_parallelism


def _murmur(code: np.ndarray) -> np.ndarray:
    """Flink's ``MathUtils.murmurHash`` of 32-bit codes, as non-negative int64."""
    with np.errstate(over="ignore"):
        h = code * np.uint32(0xCC9E2D51)
        h = _rotl(h, 15) * np.uint32(0x1B873593)
        h = _rotl(h, 13) * np.uint32(5) + np.uint32(0xE6546B64)
        h ^= np.uint32(4)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
    signed = h.view(np.int32).astype(np.int64)
    return np.where(signed == -(2**31), 0, np.abs(signed))


def _rotl(h: np.ndarray, bits: int) -> np.ndarray:
    return (h << np.uint32(bits)) | (h >> np.uint32(32 - bits))
