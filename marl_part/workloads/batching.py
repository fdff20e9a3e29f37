"""How a stream is cut into micro-batches, and the arrival-rate profile that can pace it.

A word stream has no clock: cut into equal batches, its load never changes, and sizing
the cluster once is all a scheduler can do. ``batch: {tuples: N, rate_profile: ...}``
gives batch b ``N x rate[b]`` tuples instead, where ``rate`` is the relative arrival
rate of a real timestamped trace (mean 1), window by window. Folded onto a ``period``
(604800 s: the mean week, hour by hour with ``window: 3600``), it is a daily and weekly
cycle; ``smooth`` averages that many neighbouring windows (circularly when folded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marl_part.errors import FieldError, InputError
from marl_part.workloads.common import MAX_BATCHES, read_table, resolve, time_column


@dataclass(frozen=True)
class RateProfile:
    """The relative arrival rate of a real trace, window by window."""

    path: str  # a CSV (or .csv.gz) with one row per arrival
    time_col: str = "timestamp"  # Unix seconds or date-times
    window: float = 3600.0  # trace seconds per profile entry (one micro-batch each)
    period: float | None = None  # fold the timeline onto one period first
    smooth: int = 1  # centered moving average over this many windows
    distinct_times: bool = False  # one arrival per distinct time (a commit, not its files)

    def __post_init__(self):
        if not (math.isfinite(self.window) and self.window > 0):
            raise FieldError("window", f"must be a positive number of seconds, got {self.window}")
        if self.period is not None:
            if not (math.isfinite(self.period) and self.window <= self.period):
                raise FieldError("period", f"must be at least one window ({self.window:g} s), "
                                 f"got {self.period}")
            if self.period / self.window > MAX_BATCHES:
                raise FieldError("period", f"holds {self.period / self.window:,.0f} windows, "
                                 f"more than {MAX_BATCHES:,}")
        if not 1 <= self.smooth <= MAX_BATCHES:
            raise FieldError("smooth", f"must be at least 1 and at most {MAX_BATCHES:,}, got "
                             f"{self.smooth}")

    def read(self, base_dir: Path) -> np.ndarray:
        """The relative arrival rate of each window, in time order, with mean 1."""
        path = resolve(self.path, base_dir)
        times = time_column(read_table(path, [self.time_col]), self.time_col, path)
        if self.distinct_times:
            times = np.unique(times)
        if self.period is not None:
            n = round(self.period / self.window)
            index = np.floor(np.mod(times, self.period) / self.window).astype(np.int64) % n
        else:
            span = (times.max() - times.min()) / self.window
            if span > MAX_BATCHES:
                raise InputError(f"windows of {self.window:g} s cut its {span * self.window:.3g} s "
                                 f"into {span:,.0f} entries, more than {MAX_BATCHES:,}",
                                 str(path))
            index = np.floor((times - times.min()) / self.window).astype(np.int64)
            n = max(1, int(index.max()))  # the last window is partial: dropped
            index = index[index < n]
        rate = np.bincount(index, minlength=n).astype(np.float64)
        if self.smooth > 1:
            half = self.smooth // 2
            mode = "wrap" if self.period is not None else "edge"
            rate = np.convolve(np.pad(rate, (half, self.smooth - 1 - half), mode=mode),
                               np.ones(self.smooth) / self.smooth, mode="valid")
        if rate.sum() <= 0:
            raise InputError("the rate profile holds no arrivals", str(path))
        return rate / rate.mean()


@dataclass(frozen=True)
class Batching:
    """How the stream is cut into micro-batches: give exactly one of the two.

    ``tuples``: every micro-batch holds this many tuples (the trace's time is ignored);
    with ``rate_profile``, that many on average: batch b holds ``tuples`` x the
    profile's rate b (cycled), so that a key stream is paced by a real arrival rate.
    ``time_compression``: every micro-batch holds the tuples of one batch interval of
    simulated time, and one simulated second replays ``time_compression`` trace
    seconds (so 60 turns a minute of trace into one second of load).
    """

    tuples: int | None = None
    time_compression: float | None = None
    rate_profile: RateProfile | None = None

    def __post_init__(self):
        if (self.tuples is None) == (self.time_compression is None):
            raise FieldError("tuples", "give exactly one of 'tuples' or 'time_compression'")
        if self.rate_profile is not None and self.tuples is None:
            raise FieldError("rate_profile", "paces 'tuples' per batch; give 'tuples' too")
        if self.tuples is not None and self.tuples < 1:
            raise FieldError("tuples", f"must be at least 1, got {self.tuples}")
        if self.time_compression is not None and self.time_compression <= 0:
            raise FieldError("time_compression", f"must be positive, got {self.time_compression}")
