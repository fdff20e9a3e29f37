"""Routing decisions and where they put a micro-batch's work and content.

A partitioner decides in one of two forms:

* :class:`KeyRouting`, per key: every key of the batch goes to one partition, and the
  K hottest keys may be *split* over up to S partitions (PartLy's PK2 for S = 2). A
  split key's tuples are dealt round-robin over its partitions, so each gets an equal
  share of its work, and a content group of the key with c copies lands on the first
  min(c, m) of its m partitions.
* :class:`TupleRouting`, per tuple, for routers that decide tuple by tuple (PKG,
  shuffle, ...): a key may then end up on several partitions, which counts as
  replication (its partial states must be merged), never as migration.

:class:`BatchView` holds the current micro-batch of every env, gathered into flat
arrays with an ``env`` column, so that all of this is a few numpy calls for all envs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np

from marl_part.sim.dedup import FingerprintStores, StoreResult
from marl_part.workloads import Batches
from marl_part.workloads.ragged import gather_segments


@dataclass
class KeyRouting:
    row_partition: np.ndarray  # (R,) partition of every key row of the batch view
    # (n_envs, K, S) partitions of the hot keys; choice 0 equals their row_partition
    hot_split: np.ndarray | None = None
    cold_hashed: bool = False  # the non-hot rows are at their hash partitions (a shortcut)


@dataclass
class TupleRouting:
    tuple_partition: np.ndarray  # (T,) partition of every tuple of the batch view


Routing = KeyRouting | TupleRouting


@dataclass
class Placement:
    """Where a batch went: work per partition, replication, migrations, content."""

    loads: np.ndarray  # (n_envs, P) work
    partitions_per_key: np.ndarray  # (n_envs,) sum over keys of the partitions each used
    moved_keys: np.ndarray  # (n_envs,) keys whose state changed partition
    store_content: Callable[[FingerprintStores], StoreResult]  # puts the batch's content


class BatchView:
    """The current micro-batch of each env, as flat key-row (and tuple) arrays."""

    SNAPSHOT_STATIC = ("batches",)  # data, not state (marl_part.snapshot)

    def __init__(self, batches: Batches, cursor: np.ndarray, hot_keys: int, n_active: np.ndarray,
                 n_partitions: int):
        self.batches, self.cursor, self.n_envs = batches, cursor, len(cursor)
        first = batches.key_offsets[cursor]
        self.n_rows = batches.key_offsets[cursor + 1] - first
        self.row_start = np.zeros(self.n_envs + 1, dtype=np.int64)
        np.cumsum(self.n_rows, out=self.row_start[1:])
        k = np.arange(hot_keys)
        self.hot = np.where(k[None, :] < self.n_rows[:, None], self.row_start[:-1, None] + k, -1)
        # hashes are below 2**63: their int64 view has the same remainders. cold_load
        # (n_envs, P): the work hash routing of the non-hot keys sends to each partition
        (self.rows, self.env, self.key, self.work, self.hash_partition, self.home_slot,
         self.cold_load) = _gather_rows(first, self.row_start, batches.row_key, batches.row_work,
                                         batches.trace.key_hash.view(np.int64), n_active,
                                         batches.trace.n_keys, hot_keys, n_partitions)
        self._tuples = None
        # the tail router's routing of this batch, when a learned partitioner has one
        # (None: the non-hot keys hash, as cold_load says)
        self.tail: Routing | None = None

    @property
    def hot_valid(self) -> np.ndarray:
        return self.hot >= 0

    def at_hot(self, values: np.ndarray, fill=0) -> np.ndarray:
        """``values`` (one per row) at each env's hot rows (n_envs, K); ``fill`` where none."""
        out = np.full(self.hot.shape, fill, dtype=values.dtype)
        valid = self.hot_valid
        out[valid] = values[self.hot[valid]]
        return out

    def tuples(self):
        """``(index, env, starts)`` of the batch's tuples, gathered on first use."""
        if self._tuples is None:
            self._tuples = gather_segments(self.batches.tuple_offsets, self.cursor)
        return self._tuples

    @property
    def cold(self) -> np.ndarray:
        """Which rows are not hot keys."""
        cold = np.ones(len(self.rows), dtype=bool)
        cold[self.hot[self.hot_valid]] = False
        return cold

    def tuple_row_position(self) -> np.ndarray:
        """Position in the row arrays of each gathered tuple's key row."""
        index, env, _ = self.tuples()
        first_row = self.batches.key_offsets[self.cursor]
        return self.batches.tuple_row[index] - first_row[env] + self.row_start[env]



def distinct_choices(choices: np.ndarray) -> np.ndarray:
    """(n_envs, K, S): whether each choice differs from the earlier choices of its key."""
    distinct = np.ones(choices.shape, dtype=bool)
    for s in range(1, choices.shape[2]):
        distinct[:, :, s] = (choices[:, :, s, None] != choices[:, :, :s]).all(axis=2)
    return distinct


class LoadRankPlacer:
    """Places a batch's hot keys one at a time, hottest first, by load rank.

    Rank 0 is the key's home: the partition holding its state (its hash partition if
    it has none, or if that partition is no longer active), unless ``stay_below``
    (n_envs,) is positive and the key's whole work would take its home past that many
    times the fair share (the batch's work over the active partitions' speed); the key
    then goes to the least busy partition instead. Rank r >= 1 is the r-th least busy
    active partition (modulo the active count), counting the busy time of
    ``base_load`` (default: the cold keys, hashed) and of the hotter keys already
    placed, so a key sent to rank 1 goes where the work is least. ``skipped`` (n_envs,
    K) hot keys are not placed here (their work is in ``base_load``).
    """

    def __init__(self, view: BatchView, speed: np.ndarray, n_active: np.ndarray,
                 home: np.ndarray, stay_below: np.ndarray,
                 base_load: np.ndarray | None = None, skipped: np.ndarray | None = None):
        self.speed, self.n_active, self.stay_below = speed, n_active, stay_below
        active = np.arange(speed.shape[1])[None, :] < n_active[:, None]
        load = np.where(active, view.cold_load if base_load is None else base_load, 0.0)
        self.busy = np.where(active, load / np.where(active, speed, 1.0), np.inf)
        # home (n_envs, K): each hot key's active state partition; -1 (none): its hash's
        self.home = np.where(home >= 0, home, view.at_hot(view.hash_partition))
        work = view.at_hot(view.work)
        self.work = work if skipped is None else np.where(skipped, 0.0, work)
        self.fair = (load.sum(axis=1) + self.work.sum(axis=1)) / speed.sum(axis=1)

    def place_all(self, ranks: np.ndarray) -> np.ndarray:
        """Every hot key, hottest first, to the partitions of its ``ranks`` (n_envs, K,
        S), split equally over the distinct ones; returns those partitions."""
        partitions = np.empty_like(ranks)
        _place_by_load_rank(ranks, self.busy, self.speed, self.n_active, self.home,
                            self.work, self.stay_below, self.fair, partitions)
        return partitions


@numba.njit(cache=True)
def _place_by_load_rank(ranks, busy, speed, n_active, home, work, stay_below, fair,
                        partitions):
    """:meth:`LoadRankPlacer.place_all`, one env and one key at a time (each key's
    placement changes the busy times the next one ranks). Each env's partitions stay
    sorted by busy time, ties by index (a stable argsort): a placement only adds busy
    time, so it moves a partition towards the end of the order."""
    n_envs, n_keys, n_ways = ranks.shape
    distinct = np.empty(n_ways, dtype=np.bool_)
    for e in range(n_envs):
        order = np.argsort(busy[e], kind="mergesort")
        for k in range(n_keys):
            stay = home[e, k]
            at_home = busy[e, stay] + work[e, k] / speed[e, stay]
            if stay_below[e] > 0 and at_home > stay_below[e] * fair[e]:
                stay = order[0]
            for s in range(n_ways):
                rank = ranks[e, k, s]
                p = stay if rank == 0 else order[(rank - 1) % n_active[e]]
                partitions[e, k, s] = p
                distinct[s] = True
                for earlier in range(s):
                    distinct[s] = distinct[s] and partitions[e, k, earlier] != p
            share = work[e, k] / distinct.sum()
            for s in range(n_ways):
                if distinct[s]:
                    p = partitions[e, k, s]
                    busy[e, p] += share / speed[e, p]
                    _sink(order, busy[e], p)


@numba.njit(cache=True, inline="always")
def _sink(order, busy, p):
    """Move ``p``, whose busy time grew, to its place in ``order`` (sorted by busy
    time, ties by index)."""
    i = 0
    while order[i] != p:
        i += 1
    while i + 1 < len(order) and (busy[order[i + 1]] < busy[p] or
                                  (busy[order[i + 1]] == busy[p] and order[i + 1] < p)):
        order[i] = order[i + 1]
        i += 1
    order[i] = p


def routed_load(view: BatchView, routing: Routing, rows: np.ndarray,
                n_partitions: int) -> np.ndarray:
    """(n_envs, P): the work ``routing`` sends of the key rows marked in ``rows`` (R,)."""
    if isinstance(routing, KeyRouting):
        env, part, work = view.env[rows], routing.row_partition[rows], view.work[rows]
    else:
        index, env, _ = view.tuples()
        chosen = rows[view.tuple_row_position()]
        env, part = env[chosen], routing.tuple_partition[chosen]
        work = view.batches.trace.work[index[chosen]]
    return np.bincount(env * n_partitions + part, weights=work,
                       minlength=view.n_envs * n_partitions).reshape(view.n_envs, n_partitions)


def deal_hot_tuples(view: BatchView, tuple_partition: np.ndarray, partitions: np.ndarray,
                    placed: np.ndarray) -> np.ndarray:
    """``tuple_partition`` with the tuples of every ``placed`` hot key (n_envs, K) dealt
    round-robin over the key's distinct ``partitions`` (n_envs, K, S), in arrival order.
    The hot keys are the view's ``hot`` rows, wherever they lie in the batch."""
    _, env, _ = view.tuples()
    valid = view.hot_valid & placed
    slot = np.full(len(view.rows), -1, dtype=np.int64)  # each placed hot row's index k
    slot[view.hot[valid]] = np.nonzero(valid)[1]
    hot_rank = slot[view.tuple_row_position()]
    t = np.flatnonzero(hot_rank >= 0)
    key = env[t] * view.hot.shape[1] + hot_rank[t]
    order = np.argsort(key, kind="stable")
    first = np.searchsorted(key[order], key[order], side="left")
    occurrence = np.empty(len(t), dtype=np.int64)
    occurrence[order] = np.arange(len(t)) - first
    distinct = distinct_choices(partitions)
    compact = np.take_along_axis(partitions, np.argsort(~distinct, axis=2, kind="stable"), 2)
    e, k = env[t], hot_rank[t]
    out = tuple_partition.copy()
    out[t] = compact[e, k, occurrence % distinct[e, k].sum(axis=1)]
    return out


def _cold_load(view: BatchView, row_partition: np.ndarray, n_partitions: int) -> np.ndarray:
    cold = view.cold
    return np.bincount(view.env[cold] * n_partitions + row_partition[cold],
                       weights=view.work[cold], minlength=view.n_envs * n_partitions
                       ).reshape(view.n_envs, n_partitions)


def place_by_key(view: BatchView, routing: KeyRouting, n_partitions: int,
                 key_home: np.ndarray) -> Placement:
    n_envs = view.n_envs
    hot_choices = (routing.hot_split if routing.hot_split is not None
                   else view.at_hot(routing.row_partition)[:, :, None])
    distinct = distinct_choices(hot_choices) & view.hot_valid[:, :, None]
    ways = distinct.sum(axis=2)  # partitions per hot key (0 where there is no such key)
    share = view.at_hot(view.work) / np.maximum(ways, 1)
    env_of = np.broadcast_to(np.arange(n_envs)[:, None, None], hot_choices.shape)
    loads = np.bincount(env_of[distinct] * n_partitions + hot_choices[distinct],
                        weights=np.broadcast_to(share[:, :, None], hot_choices.shape)[distinct],
                        minlength=n_envs * n_partitions).reshape(n_envs, n_partitions)
    loads = loads.astype(np.float64, copy=False)  # an empty bincount is int
    loads += (view.cold_load if routing.cold_hashed
              else _cold_load(view, routing.row_partition, n_partitions))
    partitions_per_key = view.n_rows + (ways - 1).clip(0).sum(axis=1)
    part = routing.row_partition

    moved = np.zeros(n_envs, dtype=np.int64)
    _move_homes(key_home.reshape(-1), view.home_slot, part, view.env, moved)
    return Placement(loads, partitions_per_key.astype(np.float64), moved,
                     lambda stores: stores.store_groups(view, part, hot_choices, distinct))


def place_by_tuple(view: BatchView, routing: TupleRouting, n_partitions: int) -> Placement:
    n_envs, b = view.n_envs, view.batches
    index, env, starts = view.tuples()
    part = routing.tuple_partition
    loads = np.zeros((n_envs, n_partitions))
    partitions_per_key = np.zeros(n_envs)
    _place_tuples(starts, index, b.tuple_row, b.key_offsets[view.cursor], view.row_start,
                  b.trace.work, part, loads, partitions_per_key)
    trace = b.trace

    def store_content(stores: FingerprintStores) -> StoreResult:
        chunks, owner, _ = gather_segments(trace.content_offsets, index)
        return stores.store(env[owner], trace.chunk_fingerprint[chunks], part[owner],
                            trace.chunk_bytes[chunks])

    return Placement(loads, partitions_per_key, np.zeros(n_envs, np.int64), store_content)


@numba.njit(cache=True)
def _place_tuples(starts, index, tuple_row, first_row, row_start, work, part, loads,
                  partitions_per_key):
    """Each env's work per partition, and its distinct (key, partition) pairs: a bit per
    partition of each key row of the batch."""
    words = (loads.shape[1] + 63) // 64
    seen = np.zeros((row_start[-1], words), dtype=np.uint64)
    for e in range(len(starts) - 1):
        for i in range(starts[e], starts[e + 1]):
            t, p = index[i], part[i]
            loads[e, p] += work[t]
            row = tuple_row[t] - first_row[e] + row_start[e]
            bit = np.uint64(1) << np.uint64(p & 63)
            if seen[row, p >> 6] & bit == 0:
                seen[row, p >> 6] |= bit
                partitions_per_key[e] += 1


@numba.njit(cache=True)
def _gather_rows(first, row_start, row_key, row_work, key_hash, n_active, n_keys, hot_keys,
                 n_partitions):
    """The key rows of each env's batch, flat: row index, env, key, work, hash
    partition, slot in the (env, key) table, and the load of the non-hot rows."""
    total = row_start[-1]
    rows, env, key = np.empty(total, np.int64), np.empty(total, np.int64), np.empty(total, np.int64)
    work, hashed, slot = np.empty(total), np.empty(total, np.int64), np.empty(total, np.int64)
    cold_load = np.zeros((len(first), n_partitions))
    for e in range(len(first)):
        for i in range(row_start[e + 1] - row_start[e]):
            j, r = row_start[e] + i, first[e] + i
            k = row_key[r]
            rows[j], env[j], key[j], work[j] = r, e, k, row_work[r]
            hashed[j] = key_hash[k] % n_active[e]
            slot[j] = e * n_keys + k
            if i >= hot_keys:
                cold_load[e, hashed[j]] += row_work[r]
    return rows, env, key, work, hashed, slot, cold_load


@numba.njit(cache=True)
def _move_homes(key_home, slot, partition, env, moved):
    """Record each key's partition; count, per env, the keys whose state moved."""
    for j in range(len(slot)):
        home = key_home[slot[j]]
        if home >= 0 and home != partition[j]:
            moved[env[j]] += 1
        key_home[slot[j]] = partition[j]
