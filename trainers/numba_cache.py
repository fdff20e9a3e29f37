"""Tianshou's replay-buffer kernels, compiled once per machine instead of once per run.

Tianshou 2.0's ``ReplayBufferManager`` (behind every ``VectorReplayBuffer``) compiles
two numba kernels, ``_prev_index`` and ``_next_index``, in every process that makes a
buffer, without numba's disk cache: 6-8 s of CPU before the first training step of
every run. The same functions compiled with ``cache=True`` load from the cache in
0.4 s once a first run has compiled them.
"""

from __future__ import annotations

import numba
from tianshou.data.buffer import manager

KERNELS = ("_prev_index", "_next_index")


CACHED = {}  # kernel name -> its disk-cached compilation


def cache_buffer_kernels() -> None:
    """Swap Tianshou's buffer kernels for disk-cached compilations of the same code."""
    for name in KERNELS:
        if name not in CACHED:
            CACHED[name] = numba.njit(cache=True)(getattr(manager, name).py_func)
        setattr(manager, name, CACHED[name])
