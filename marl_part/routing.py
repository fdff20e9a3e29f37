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

from dataclasses import dataclass

import numpy as np

from marl_part.ragged import gather_segments
from marl_part.workloads import Batches


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
    """Where a batch went: work per partition, replication, migrations, chunks."""

    loads: np.ndarray  # (n_envs, P) work
    partitions_per_key: np.ndarray  # (n_envs,) sum over keys of the partitions each used
    moved_keys: np.ndarray  # (n_envs,) keys whose state changed partition
    chunk_env: np.ndarray | None = None  # content placements, for the fingerprint stores
    chunk_fingerprint: np.ndarray | None = None
    chunk_partition: np.ndarray | None = None
    chunk_bytes: np.ndarray | None = None


class BatchView:
    """The current micro-batch of each env, as flat key-row (and tuple) arrays."""

    def __init__(self, batches: Batches, cursor: np.ndarray, hot_keys: int, n_active: np.ndarray):
        self.batches, self.cursor, self.n_envs = batches, cursor, len(cursor)
        self.rows, self.env, self.row_start = gather_segments(batches.key_offsets, cursor)
        self.key = batches.row_key[self.rows]
        self.work = batches.row_work[self.rows]
        self.n_rows = np.diff(self.row_start)
        k = np.arange(hot_keys)
        self.hot = np.where(k[None, :] < self.n_rows[:, None], self.row_start[:-1, None] + k, -1)
        # hash partitioning of every key row over each env's active partitions (hashes are
        # below 2**63, so the int64 view keeps the value and its remainder is faster)
        self.hash_partition = batches.trace.key_hash.view(np.int64)[self.key] % n_active[self.env]
        self.home_slot = self.env * batches.trace.n_keys + self.key  # into a flat (env, key) table
        self._tuples = None
        self._cold_load = None

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

    def cold_load(self, n_partitions: int) -> np.ndarray:
        """(n_envs, P) work that hash routing of the non-hot keys sends to each partition."""
        if self._cold_load is None:
            self._cold_load = _cold_load(self, self.hash_partition, n_partitions)
        return self._cold_load

    def tuple_row_position(self) -> np.ndarray:
        """Position in the row arrays of each gathered tuple's key row."""
        index, env, _ = self.tuples()
        first_row = self.batches.key_offsets[self.cursor]
        return self.batches.tuple_row[index] - first_row[env] + self.row_start[env]



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
    distinct = np.ones(hot_choices.shape, dtype=bool)
    for s in range(1, hot_choices.shape[2]):
        distinct[:, :, s] = (hot_choices[:, :, s, None] != hot_choices[:, :, :s]).all(axis=2)
    distinct &= view.hot_valid[:, :, None]
    spread = distinct.sum(axis=2)  # partitions per hot key (0 where there is no such key)
    share = view.at_hot(view.work) / np.maximum(spread, 1)
    env_of = np.broadcast_to(np.arange(n_envs)[:, None, None], hot_choices.shape)
    loads = np.bincount(env_of[distinct] * n_partitions + hot_choices[distinct],
                        weights=np.broadcast_to(share[:, :, None], hot_choices.shape)[distinct],
                        minlength=n_envs * n_partitions).reshape(n_envs, n_partitions)
    loads += (view.cold_load(n_partitions) if routing.cold_hashed
              else _cold_load(view, routing.row_partition, n_partitions))
    partitions_per_key = view.n_rows + (spread - 1).clip(0).sum(axis=1)
    part = routing.row_partition
    extra = (hot_choices, distinct) if hot_choices.shape[2] > 1 else None

    flat_home = key_home.reshape(-1)
    home = flat_home[view.home_slot]
    moved = (home >= 0) & (home != part)
    flat_home[view.home_slot] = part
    placement = Placement(loads, partitions_per_key.astype(np.float64),
                          np.bincount(view.env[moved], minlength=n_envs))
    if view.batches.has_content:
        _place_groups_by_key(view, part, extra, placement)
    return placement


def _place_groups_by_key(view: BatchView, part: np.ndarray, extra, placement: Placement) -> None:
    b = view.batches
    groups, env, _ = gather_segments(b.group_offsets, view.cursor)
    position = b.group_row[groups] - b.key_offsets[view.cursor][env] + view.row_start[env]
    fps, sizes, partitions, envs = [b.group_fingerprint[groups]], [b.group_bytes[groups]], \
        [part[position]], [env]
    if extra is not None:
        split, distinct = extra
        rank = np.cumsum(distinct, axis=2) - 1  # rank of each choice among the distinct ones
        hot_index = position - view.row_start[env]
        is_hot = hot_index < split.shape[1]
        g = np.flatnonzero(is_hot)
        e, k = env[g], hot_index[g]
        copies = b.group_count[groups[g]]
        for s in range(1, split.shape[2]):
            lands = distinct[e, k, s] & (rank[e, k, s] < copies)
            envs.append(e[lands])
            fps.append(b.group_fingerprint[groups[g[lands]]])
            sizes.append(b.group_bytes[groups[g[lands]]])
            partitions.append(split[e[lands], k[lands], s])
    placement.chunk_env = np.concatenate(envs)
    placement.chunk_fingerprint = np.concatenate(fps)
    placement.chunk_partition = np.concatenate(partitions)
    placement.chunk_bytes = np.concatenate(sizes)


def place_by_tuple(view: BatchView, routing: TupleRouting, n_partitions: int) -> Placement:
    n_envs, b = view.n_envs, view.batches
    index, env, _ = view.tuples()
    part = routing.tuple_partition
    loads = np.bincount(env * n_partitions + part, weights=b.trace.work[index],
                        minlength=n_envs * n_partitions)
    key_partitions = np.unique(view.tuple_row_position() * n_partitions + part)
    partitions_per_key = np.bincount(view.env[key_partitions // n_partitions], minlength=n_envs)
    placement = Placement(loads.reshape(n_envs, n_partitions),
                          partitions_per_key.astype(np.float64), np.zeros(n_envs, np.int64))
    if b.has_content:
        offsets = b.trace.content_offsets
        chunks, chunk_owner, _ = gather_segments(offsets, index)
        placement.chunk_env = env[chunk_owner]
        placement.chunk_fingerprint = b.trace.chunk_fingerprint[chunks]
        placement.chunk_partition = part[chunk_owner]
        placement.chunk_bytes = b.trace.chunk_bytes[chunks]
    return placement
