"""SpaceSaving heavy-hitter counters, one summary per env.

Metwally, Agrawal & El Abbadi, "Efficient Computation of Frequent and Top-k Elements
in Data Streams", ICDT 2005: m counters; a monitored key's counter is incremented, an
unmonitored key takes over the counter with the smallest count and inherits that
count + 1, so a count over-estimates the key's frequency by at most N / m and every
key more frequent than N / m is monitored.

The counters of an env form a min-heap on the count (O(log m) per update; measured
faster here than the paper's O(1) linked Stream-Summary, whose constant is larger
for m in the hundreds), with the heap position of every key (-1: not monitored).
"""

from __future__ import annotations

import numba
import numpy as np


class SpaceSaving:
    """The summaries of ``n_envs`` streams of keys ``0 .. n_keys-1``, m counters each
    (``counters``: one m, or one per env)."""

    def __init__(self, n_envs: int, n_keys: int, counters):
        self.capacity = np.broadcast_to(np.asarray(counters, dtype=np.int64), (n_envs,)).copy()
        self.keys = np.empty((n_envs, self.capacity.max()), dtype=np.int64)  # heap order
        self.counts = np.empty((n_envs, self.capacity.max()), dtype=np.int64)
        self.slot = np.empty((n_envs, n_keys), dtype=np.int32)  # heap position of a key
        self.size = np.empty(n_envs, dtype=np.int64)  # counters in use
        self.total = np.empty(n_envs, dtype=np.int64)  # tuples counted
        self.reset(np.arange(n_envs))

    def reset(self, env_ids) -> None:
        self.keys[env_ids] = -1
        self.counts[env_ids] = 0
        self.slot[env_ids] = -1
        self.size[env_ids] = 0
        self.total[env_ids] = 0

    @property
    def arrays(self):
        return self.keys, self.counts, self.slot, self.size, self.capacity, self.total

    def estimates(self, e: int) -> dict[int, int]:
        """Env ``e``'s monitored keys and their estimated counts."""
        return {int(self.keys[e, i]): int(self.counts[e, i]) for i in range(self.size[e])}


@numba.njit(inline="always")
def _swap(keys, counts, slot, e, i, j):
    keys[e, i], keys[e, j] = keys[e, j], keys[e, i]
    counts[e, i], counts[e, j] = counts[e, j], counts[e, i]
    slot[e, keys[e, i]] = i
    slot[e, keys[e, j]] = j


@numba.njit(inline="always")
def _sift_down(keys, counts, slot, e, i, size):
    while True:
        small, left = i, 2 * i + 1
        if left < size and counts[e, left] < counts[e, small]:
            small = left
        if left + 1 < size and counts[e, left + 1] < counts[e, small]:
            small = left + 1
        if small == i:
            return
        _swap(keys, counts, slot, e, i, small)
        i = small


@numba.njit(inline="always")
def _sift_up(keys, counts, slot, e, i):
    while i > 0 and counts[e, (i - 1) // 2] > counts[e, i]:
        _swap(keys, counts, slot, e, i, (i - 1) // 2)
        i = (i - 1) // 2


@numba.njit(cache=True, inline="always")
def space_saving_add(keys, counts, slot, size, capacity, total, e, k):
    """Count one tuple of key ``k`` in env ``e``; returns its estimated count."""
    total[e] += 1
    i = slot[e, k]
    if i < 0:
        if size[e] < capacity[e]:  # a free counter, count 1
            i = size[e]
            size[e] += 1
            keys[e, i], counts[e, i], slot[e, k] = k, 1, i
            _sift_up(keys, counts, slot, e, i)
            return 1
        slot[e, keys[e, 0]] = -1  # take over the minimum counter, inherit its count
        keys[e, 0], slot[e, k], i = k, 0, 0
    counts[e, i] += 1
    estimate = counts[e, i]
    _sift_down(keys, counts, slot, e, i, size[e])
    return estimate
