"""What the baselines share: the batch's tuples as flat arrays, hash choices, per-env
random streams, per-(env, key) partition bitsets and the least-loaded pick.

The per-tuple routers are numba kernels that take the gathered tuples of *all* envs and
loop over envs and tuples inside one compiled call per step; the helpers marked
``@njit`` here are called from those kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from marl_part.errors import InputError
from marl_part.sim.world import World
from marl_part.workloads.trace import GOLDEN
from marl_part.workloads.trace import mix64 as array_mix64

mix64 = numba.njit(cache=True, inline="always")(array_mix64)  # for the kernels' scalars


@numba.njit(cache=True, inline="always")
def choice(key_hash, j, n):
    """The ``j``-th hash choice of a key among ``n`` partitions.

    Choice 0 is the key's hash partition (``key_hash mod n``, as hash grouping); choice
    j >= 1 is an independent hash of the key (the H_j of PKG and D-Choices).
    """
    if j == 0:
        return np.int64(key_hash % np.uint64(n))
    return np.int64(mix64(key_hash + np.uint64(j) * GOLDEN) % np.uint64(n))


@numba.njit(cache=True, inline="always")
def uniform(rng_state, e):
    """Next uniform [0, 1) of env ``e``'s splitmix64 stream (advances ``rng_state[e]``)."""
    rng_state[e] += GOLDEN
    return (mix64(rng_state[e]) >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def least_loaded(load, n):
    """The partition < n with the least load (lowest index on ties)."""
    best = 0
    for p in range(1, n):
        if load[p] < load[best]:
            best = p
    return best


@numba.njit(cache=True, inline="always")
def has_bit(bits, e, k, p):
    return (bits[e, k, p >> 6] >> np.uint64(p & 63)) & np.uint64(1) != 0


@numba.njit(cache=True, inline="always")
def set_bit(bits, e, k, p):
    bits[e, k, p >> 6] |= np.uint64(1) << np.uint64(p & 63)


def partition_bits(n_envs: int, n_keys: int, n_partitions: int) -> np.ndarray:
    """A zeroed bitset of partitions per (env, key): (n_envs, n_keys, ceil(P / 64))."""
    return np.zeros((n_envs, n_keys, (n_partitions + 63) // 64), dtype=np.uint64)


def rng_states(rngs: list[np.random.Generator]) -> np.ndarray:
    """Seeds of the per-env numba streams, drawn from each env's generator."""
    return np.array([rng.integers(0, 2**63, dtype=np.uint64) for rng in rngs], dtype=np.uint64)


@dataclass
class Tuples:
    """The current micro-batch of every env, tuple by tuple in arrival order."""

    index: np.ndarray  # into the trace's tuples
    env: np.ndarray
    starts: np.ndarray  # (n_envs + 1,) env e's tuples are starts[e]:starts[e+1]
    key: np.ndarray
    key_hash: np.ndarray  # uint64, the trace's hash of each tuple's key
    work: np.ndarray


def gather_tuples(world: World) -> Tuples:
    index, env, starts = world.view.tuples()
    trace = world.batches.trace
    key = trace.keys[index]
    return Tuples(index, env, starts, key, trace.key_hash[key], trace.work[index])


def require_content(world: World, name: str) -> None:
    if world.stores is None:
        raise InputError(f"partitioner '{name}' routes by content; give the workload content "
                         "(a chunks_csv trace, or 'content:' for a key stream)",
                         key="roles.partitioner")
