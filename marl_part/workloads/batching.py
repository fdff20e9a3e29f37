"""How a stream is cut into micro-batches, and the real arrival rate that can pace it.

A word stream has no clock: cut into equal batches, its load never changes, and sizing
the cluster once is all a scheduler can do. ``batch: {tuples: N, rate_profile: ...}``
gives batch b ``N x rate[b]`` tuples instead, where ``rate`` is the relative arrival
rate of a real timestamped trace (mean 1), window by window. Folded onto a ``period``
(604800 s: the mean week, hour by hour with ``window: 3600``), it is an averaged daily
and weekly cycle, the same every week; with ``fold: false`` every window keeps its own
real arrivals (the weekly rhythm plus what no average holds: weather, holidays, trends,
outages). ``smooth`` averages that many neighbouring windows (circularly when folded).

``length`` says which of the two streams sets the workload's length: ``keys`` (the key
stream is cut while it lasts, the rate repeating) or ``arrivals`` (one micro-batch per
window of the rate, the key stream repeating; each period of ``workload.periods`` then
repeats its own stretch of the key stream, so the keys of the test period are keys that
training never saw).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import FieldError, InputError
from marl_part.workloads.common import MAX_BATCHES, numeric_column, read_table, resolve, time_column


@dataclass(frozen=True)
class Rate:
    """The relative arrival rate of a trace, window by window (mean 1): ``times`` holds
    the trace seconds at which each window begins (None when folded: the windows of a
    mean cycle have no date) and ``phase`` where each falls in its cycle, in [0, 1),
    ``cycle`` windows to a cycle."""

    values: np.ndarray
    times: np.ndarray | None
    phase: np.ndarray
    cycle: int


@dataclass(frozen=True)
class RateProfile:
    """The relative arrival rate of a real trace, window by window."""

    path: str  # a CSV (or .csv.gz) with one row per arrival, or per window with count_col
    time_col: str = "timestamp"  # Unix seconds or date-times
    count_col: str | None = None  # arrivals a row stands for (an hourly count); 1 when absent
    window: float = 3600.0  # trace seconds per profile entry (one micro-batch each)
    period: float | None = None  # the cycle of the rate (604800: a week), which the clock shows
    fold: bool = True  # with a period: average its cycles into one (false: real arrivals)
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
        if self.distinct_times and self.count_col is not None:
            raise FieldError("distinct_times", "counts distinct times as single arrivals; "
                             "a count_col gives each row's arrivals instead: give one")

    @property
    def folded(self) -> bool:
        return self.period is not None and self.fold

    def read(self, base_dir: Path) -> Rate:
        """The relative arrival rate of each window, in time order, with mean 1."""
        path = resolve(self.path, base_dir)
        columns = [self.time_col] + ([self.count_col] if self.count_col else [])
        table = read_table(path, columns)
        times = time_column(table, self.time_col, path)
        counts = numeric_column(table, self.count_col, path) if self.count_col else None
        if self.distinct_times:
            times = np.unique(times)
        if self.folded:
            n = round(self.period / self.window)
            index = np.floor(np.mod(times, self.period) / self.window).astype(np.int64) % n
            start = None
        else:
            span = (times.max() - times.min()) / self.window
            if span > MAX_BATCHES:
                raise InputError(f"windows of {self.window:g} s cut its {span * self.window:.3g} s "
                                 f"into {span:,.0f} entries, more than {MAX_BATCHES:,}",
                                 str(path))
            start = times.min()
            index = np.floor((times - start) / self.window).astype(np.int64)
            # counted windows are whole; a trace of single arrivals ends in a partial one
            n = int(index.max()) + 1 if counts is not None else max(1, int(index.max()))
            keep = index < n
            index, counts = index[keep], None if counts is None else counts[keep]
        rate = np.bincount(index, weights=counts, minlength=n).astype(np.float64)
        if self.smooth > 1:
            half = self.smooth // 2
            mode = "wrap" if self.folded else "edge"
            rate = np.convolve(np.pad(rate, (half, self.smooth - 1 - half), mode=mode),
                               np.ones(self.smooth) / self.smooth, mode="valid")
        if rate.sum() <= 0:
            raise InputError("the rate profile holds no arrivals", str(path))
        window_times = None if start is None else start + self.window * np.arange(n)
        if self.period is not None and window_times is not None:
            phase = np.mod(window_times, self.period) / self.period
            cycle = round(self.period / self.window)
        else:  # a mean cycle, or a series replayed as one
            phase, cycle = np.arange(n) / n, n
        return Rate(rate / rate.mean(), window_times, phase, cycle)


@dataclass(frozen=True)
class Batching:
    """How the stream is cut into micro-batches: give exactly one of the two.

    ``tuples``: every micro-batch holds this many tuples (the trace's time is ignored);
    with ``rate_profile``, that many on average: batch b holds ``tuples`` x the
    profile's rate b, so that a key stream is paced by a real arrival rate, for as long
    as ``length`` says (module docstring; with ``length: arrivals``, the average is the
    training period's).
    ``time_compression``: every micro-batch holds the tuples of one batch interval of
    simulated time, and one simulated second replays ``time_compression`` trace
    seconds (so 60 turns a minute of trace into one second of load).
    """

    tuples: int | None = None
    time_compression: float | None = None
    rate_profile: RateProfile | None = None
    length: Literal["keys", "arrivals"] = "keys"  # which stream sets the workload's length

    def __post_init__(self):
        if (self.tuples is None) == (self.time_compression is None):
            raise FieldError("tuples", "give exactly one of 'tuples' or 'time_compression'")
        if self.rate_profile is not None and self.tuples is None:
            raise FieldError("rate_profile", "paces 'tuples' per batch; give 'tuples' too")
        if self.tuples is not None and self.tuples < 1:
            raise FieldError("tuples", f"must be at least 1, got {self.tuples}")
        if self.time_compression is not None and self.time_compression <= 0:
            raise FieldError("time_compression", f"must be positive, got {self.time_compression}")
        if self.length == "arrivals" and (self.rate_profile is None or self.rate_profile.folded):
            raise FieldError("length", "'arrivals' replays the real arrivals window by window: "
                             "give a rate_profile that is not folded (no period, or fold: "
                             "false)")
