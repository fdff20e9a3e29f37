"""Workloads: real traces and synthetic streams, cut into micro-batches.

``workload:`` in a config is one of the sources below, told apart by ``source:``.
:func:`load_batches` reads a trace once per process and aggregates it
(:mod:`marl_part.workloads.batches`); every env built from the same config shares it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np

from marl_part.errors import InputError
from marl_part.workloads.arrivals_csv import ArrivalsCsvSource
from marl_part.workloads.batches import (
    Batches,
    aggregate,
    batch_bounds_by_count,
    batch_bounds_by_profile,
    batch_bounds_by_time,
)
from marl_part.workloads.chunks_csv import ChunksCsvSource
from marl_part.workloads.common import MAX_BATCHES, MAX_TUPLES
from marl_part.workloads.keys_csv import KeysCsvSource
from marl_part.workloads.swf import SwfSource
from marl_part.workloads.text import TextSource
from marl_part.workloads.trace import Trace
from marl_part.workloads.zipf import ZipfSource

WorkloadConfig = (ZipfSource | KeysCsvSource | TextSource | SwfSource | ArrivalsCsvSource
                  | ChunksCsvSource)


@functools.lru_cache(maxsize=8)
def load_batches(config: WorkloadConfig, batch_interval: float, base_dir: Path) -> Batches:
    """The micro-batches of ``config``; one batch interval is ``batch_interval`` seconds."""
    trace = config.read(base_dir)
    if config.content is not None:
        trace = trace.with_content(config.content)
    if trace.n_tuples == 0:
        raise InputError("the workload has no tuples", getattr(config, "path", config.source))
    if trace.n_tuples > MAX_TUPLES:
        raise InputError(f"the workload has {trace.n_tuples:,} tuples, more than {MAX_TUPLES:,}; "
                         "set workload.limit", key="workload")
    phase = None  # where each batch falls in the rate profile's cycle
    if config.batch.rate_profile is not None:
        rate = config.batch.rate_profile.read(base_dir)
        if trace.n_tuples / max(1.0, config.batch.tuples * rate.min()) > MAX_BATCHES:
            raise InputError(f"{config.batch.tuples:,} tuples per batch at the profile's lowest "
                             f"rate ({rate.min():.3g}) cut the trace into more than "
                             f"{MAX_BATCHES:,} micro-batches; raise batch.tuples",
                             key="workload.batch.tuples")
        bounds = batch_bounds_by_profile(trace.n_tuples, config.batch.tuples, rate)
        phase = np.arange(len(bounds) - 1) % len(rate) / len(rate)
    elif config.batch.tuples is not None:
        bounds = batch_bounds_by_count(trace.n_tuples, config.batch.tuples)
    else:
        if trace.times is None:
            raise InputError(f"a '{config.source}' trace has no times; batch it by "
                             "'batch: {tuples: N}'", key="workload.batch")
        window = batch_interval * config.batch.time_compression
        span = float(trace.times[-1] - trace.times[0])
        if span >= MAX_BATCHES * window:
            count = span / window if window > 0 else math.inf
            raise InputError(f"windows of {window:.3g} trace seconds (cluster.batch_interval x "
                             f"time_compression) cut the trace's {span:.3g} s into {count:.3g} "
                             f"micro-batches, more than {MAX_BATCHES:,}; raise time_compression",
                             key="workload.batch.time_compression")
        bounds = batch_bounds_by_time(trace.times, window)
    if len(bounds) < 2:
        raise InputError(f"the trace holds {trace.n_tuples} tuples, fewer than one micro-batch",
                         key="workload.batch")
    return dataclasses.replace(aggregate(trace, bounds), batch_phase=phase)


__all__ = ["Batches", "Trace", "WorkloadConfig", "load_batches"]
