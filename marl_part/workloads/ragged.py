"""Compiled passes over grouped arrays: gathering one CSR segment per env into flat
arrays, ranking tuples among those of their key."""

from __future__ import annotations

import numba
import numpy as np


def gather_segments(offsets: np.ndarray, segment: np.ndarray):
    """Concatenate segments ``offsets[s]:offsets[s+1]`` for each entry of ``segment``.

    Returns ``(index, owner, starts)``: the gathered indices, the position in
    ``segment`` each came from, and where each owner's part begins in the gathered
    arrays (length ``len(segment) + 1``).
    """
    first = offsets[segment]
    starts = np.zeros(len(segment) + 1, dtype=np.int64)
    np.cumsum(offsets[segment + 1] - first, out=starts[1:])
    index, owner = _gather(first, starts)
    return index, owner, starts


@numba.njit(cache=True)
def _gather(first, starts):
    index = np.empty(starts[-1], dtype=np.int64)
    owner = np.empty(starts[-1], dtype=np.int64)
    for s in range(len(first)):
        for j in range(starts[s], starts[s + 1]):
            index[j] = first[s] + j - starts[s]
            owner[j] = s
    return index, owner


@numba.njit(cache=True)
def occurrences(keys, n_keys):
    """The rank of each tuple among the tuples of its key, and each key's count."""
    counts = np.zeros(n_keys, dtype=np.int64)
    rank = np.empty(len(keys), dtype=np.int64)
    for i in range(len(keys)):
        rank[i] = counts[keys[i]]
        counts[keys[i]] += 1
    return rank, counts
