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
from marl_part.workloads.batching import Rate
from marl_part.workloads.chunks_csv import ChunksCsvSource
from marl_part.workloads.common import MAX_BATCHES, MAX_TUPLES
from marl_part.workloads.keys_csv import KeysCsvSource
from marl_part.workloads.periods import PERIODS, PeriodBounds, resolve
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
    if trace.n_tuples == 0:
        raise InputError("the workload has no tuples", getattr(config, "path", config.source))
    if trace.n_tuples > MAX_TUPLES:
        raise InputError(f"the workload has {trace.n_tuples:,} tuples, more than {MAX_TUPLES:,}; "
                         "set workload.limit", key="workload")
    batching = config.batch
    rate = batching.rate_profile.read(base_dir) if batching.rate_profile is not None else None
    if batching.length == "arrivals":
        periods = resolve(config.periods, len(rate.values), rate.times)
        # batch.tuples per batch on average over the training period: nothing after it
        # shapes the stream training sees
        start, end = periods.train
        sizes = np.maximum(1, np.round(batching.tuples * rate.values
                                       / rate.values[start:end].mean())).astype(np.int64)
        if sizes.sum() > MAX_TUPLES:
            raise InputError(f"{batching.tuples:,} tuples per batch on average over the "
                             f"{len(sizes):,} windows of the arrivals make {sizes.sum():,} "
                             f"tuples, more than {MAX_TUPLES:,}; lower batch.tuples",
                             key="workload.batch.tuples")
        bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        trace = repeat_by_period(trace, bounds, periods)
        batch_time = rate.times
    else:
        bounds, batch_time = _cut(trace, config, rate, batch_interval)
        periods = resolve(config.periods, len(bounds) - 1, batch_time)
    if config.content is not None:
        trace = trace.with_content(config.content)
    n_batches = len(bounds) - 1
    phase = None if rate is None else rate.phase[np.arange(n_batches) % len(rate.values)]
    return dataclasses.replace(aggregate(trace, bounds), batch_phase=phase,
                               cycle_batches=None if rate is None else rate.cycle,
                               batch_time=batch_time, periods=periods)


def _cut(trace: Trace, config: WorkloadConfig, rate: Rate | None, batch_interval: float
         ) -> tuple[np.ndarray, np.ndarray | None]:
    """The tuple offsets of the batches of a stream that sets its own length, and the
    trace time at which each batch begins (None for a trace without times)."""
    batching = config.batch
    if rate is not None:
        if trace.n_tuples / max(1.0, batching.tuples * rate.values.min()) > MAX_BATCHES:
            raise InputError(f"{batching.tuples:,} tuples per batch at the profile's lowest "
                             f"rate ({rate.values.min():.3g}) cut the trace into more than "
                             f"{MAX_BATCHES:,} micro-batches; raise batch.tuples",
                             key="workload.batch.tuples")
        bounds = batch_bounds_by_profile(trace.n_tuples, batching.tuples, rate.values)
    elif batching.tuples is not None:
        bounds = batch_bounds_by_count(trace.n_tuples, batching.tuples)
    else:
        if trace.times is None:
            raise InputError(f"a '{config.source}' trace has no times; batch it by "
                             "'batch: {tuples: N}'", key="workload.batch")
        window = batch_interval * batching.time_compression
        span = float(trace.times[-1] - trace.times[0])
        if span >= MAX_BATCHES * window:
            count = span / window if window > 0 else math.inf
            raise InputError(f"windows of {window:.3g} trace seconds (cluster.batch_interval x "
                             f"time_compression) cut the trace's {span:.3g} s into {count:.3g} "
                             f"micro-batches, more than {MAX_BATCHES:,}; raise time_compression",
                             key="workload.batch.time_compression")
        bounds = batch_bounds_by_time(trace.times, window)
        return bounds, trace.times[0] + window * np.arange(len(bounds) - 1)
    if len(bounds) < 2:
        raise InputError(f"the trace holds {trace.n_tuples} tuples, fewer than one micro-batch",
                         key="workload.batch")
    return bounds, None if trace.times is None else trace.times[bounds[:-1]]


def repeat_by_period(trace: Trace, tuple_offsets: np.ndarray, periods: PeriodBounds) -> Trace:
    """The tuples of batches ``tuple_offsets`` from a key stream of any length: the
    stream is cut into one stretch per period, in proportion to the period's batches
    (not its tuples: a later period's load never moves an earlier one's stretch), and
    each period's batches read their stretch in order, from its start again whenever it
    runs out (the whole stream for a workload without periods)."""
    spans = [periods.of(name) for name in (PERIODS if periods.split else ("train",))]
    needed = np.array([tuple_offsets[end] - tuple_offsets[start] for start, end in spans])
    batch_edges = np.array([spans[0][0]] + [end for _, end in spans])
    edges = np.round(batch_edges / batch_edges[-1] * trace.n_tuples).astype(np.int64)
    if np.any(np.diff(edges) < 1):
        raise InputError(f"the key stream's {trace.n_tuples:,} tuples are too few to give every "
                         "period a stretch of its own", key="workload.periods")
    index = np.concatenate([first + np.arange(count) % (last - first)
                            for first, last, count in zip(edges[:-1], edges[1:], needed)])
    return trace.take(index)


__all__ = ["Batches", "Trace", "WorkloadConfig", "load_batches"]
