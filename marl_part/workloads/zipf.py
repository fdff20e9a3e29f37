"""``zipf``: a synthetic key stream with Zipf-distributed key popularity, the standard
skewed workload of the partitioning literature (Nasir et al., ICDE 2015 and 2016).

Popularity of the key of rank r is proportional to ``1 / r**exponent``. Options: a
*drift* that rotates which keys hold the hot ranks every ``drift_period`` seconds; a
*rate curve* of multipliers interpolated over the stream's length; *bursts* that
multiply the rate of a second with ``burst_probability``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import FieldError
from marl_part.workloads.batching import Batching
from marl_part.workloads.common import MAX_KEYS, MAX_TUPLES
from marl_part.workloads.source import Source
from marl_part.workloads.trace import Trace, stable_key_hash

MAX_SECONDS = 10_000_000  # 115 days of stream


@dataclass(frozen=True, kw_only=True)
class ZipfSource(Source):
    source: Literal["zipf"]
    batch: Batching = Batching(time_compression=1.0)
    keys: int = 10000  # distinct keys
    exponent: float = 1.0
    rate: float = 10000.0  # tuples per second before the rate curve and bursts
    seconds: int = 600  # length of the stream
    rate_curve: tuple[float, ...] = (1.0,)  # multipliers, spread evenly over the length
    drift_period: float | None = None  # seconds between rotations of the hot set
    drift_shift: int = 1  # ranks the key-to-rank map rotates by at each drift
    burst_probability: float = 0.0  # chance that a second is a burst
    burst_factor: float = 3.0  # rate multiplier of a burst
    seed: int = 0

    def __post_init__(self):
        super().__post_init__()
        for name in ("keys", "seconds"):
            if getattr(self, name) < 1:
                raise FieldError(name, f"must be at least 1, got {getattr(self, name)}")
        for name in ("exponent", "rate"):
            if getattr(self, name) <= 0:
                raise FieldError(name, f"must be positive, got {getattr(self, name)}")
        if not self.rate_curve or min(self.rate_curve) < 0:
            raise FieldError("rate_curve", "give one or more non-negative multipliers")
        if not 0.0 <= self.burst_probability <= 1.0:
            raise FieldError("burst_probability", "must lie in [0, 1]")
        if self.burst_factor < 0:
            raise FieldError("burst_factor", f"must not be negative, got {self.burst_factor}")
        if self.drift_period is not None and self.drift_period <= 0:
            raise FieldError("drift_period", f"must be positive, got {self.drift_period}")
        if self.seed < 0:
            raise FieldError("seed", f"must not be negative, got {self.seed}")
        for name, most in (("keys", MAX_KEYS), ("seconds", MAX_SECONDS)):
            if getattr(self, name) > most:
                raise FieldError(name, f"at most {most:,}, got {getattr(self, name):,}")
        burst = max(1.0, self.burst_factor) if self.burst_probability > 0 else 1.0
        most = self.rate * max(self.rate_curve) * burst * self.seconds
        if most > MAX_TUPLES:
            raise FieldError("rate", f"rate x seconds x the largest rate_curve and burst_factor "
                             f"allow up to {most:.3g} tuples, more than {MAX_TUPLES:,}")

    def read(self, base_dir: Path) -> Trace:
        rng = np.random.default_rng(self.seed)
        second = np.arange(self.seconds)
        curve = np.interp(second, np.linspace(0, self.seconds - 1, len(self.rate_curve)),
                          self.rate_curve)
        bursts = np.where(rng.random(self.seconds) < self.burst_probability, self.burst_factor, 1.0)
        per_second = np.round(self.rate * curve * bursts).astype(np.int64)
        n = int(per_second.sum())
        if self.limit is not None:
            n = min(n, self.limit)
        times = (np.repeat(second, per_second)[:n] + rng.random(n)).astype(np.float64)
        times.sort()
        popularity = np.arange(1, self.keys + 1, dtype=np.float64) ** -self.exponent
        ranks = np.searchsorted(np.cumsum(popularity / popularity.sum()), rng.random(n))
        ranks = np.minimum(ranks, self.keys - 1)
        rotation = 0 if self.drift_period is None else (
            np.floor(times / self.drift_period).astype(np.int64) * self.drift_shift)
        key_of_rank = rng.permutation(self.keys)
        keys = key_of_rank[(ranks + rotation) % self.keys]
        names = np.char.add("k", np.arange(self.keys).astype(str))
        return Trace(keys.astype(np.int64), np.ones(n), times, names, stable_key_hash(self.keys))
