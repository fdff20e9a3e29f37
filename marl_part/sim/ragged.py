"""Gathering one CSR segment per env into flat arrays, without a Python loop."""

from __future__ import annotations

import numpy as np


def gather_segments(offsets: np.ndarray, segment: np.ndarray):
    """Concatenate segments ``offsets[s]:offsets[s+1]`` for each entry of ``segment``.

    Returns ``(index, owner, starts)``: the gathered indices, the position in
    ``segment`` each came from, and where each owner's part begins in the gathered
    arrays (length ``len(segment) + 1``).
    """
    first = offsets[segment]
    lengths = offsets[segment + 1] - first
    starts = np.zeros(len(segment) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    owner = np.repeat(np.arange(len(segment)), lengths)
    index = np.arange(starts[-1], dtype=np.int64) + np.repeat(first - starts[:-1], lengths)
    return index, owner, starts
