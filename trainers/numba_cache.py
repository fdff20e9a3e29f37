"""Tianshou's numba kernels, compiled once per machine instead of once per run.

Tianshou 2.0 compiles its numba kernels in every process, without numba's disk cache:
GAE and n-step returns when an algorithm is built, the episode indexing of
``ReplayBufferManager`` when a vector buffer is made. That took 26 s of CPU before the
first training step of every run (measured on the shared 2-core machine). The same
functions compiled with ``cache=True`` load from numba's cache once one run has
compiled them.
"""

from __future__ import annotations

import numba
from tianshou.algorithm import algorithm_base
from tianshou.data.buffer import manager

KERNELS = {algorithm_base: ("_gae", "_nstep_return"), manager: ("_prev_index", "_next_index")}
CACHED = {}  # (module name, kernel name) -> its disk-cached compilation


def cache_tianshou_kernels() -> None:
    """Swap Tianshou's kernels for disk-cached compilations of the same code."""
    for module, names in KERNELS.items():
        for name in names:
            key = (module.__name__, name)
            if key not in CACHED:
                CACHED[key] = numba.njit(cache=True)(getattr(module, name).py_func)
            setattr(module, name, CACHED[key])
