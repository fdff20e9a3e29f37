"""A chronological split of a stream: training, then validation, then test.

A learned policy must be scored on load it never trained on, and a tuned baseline on
load its knobs were not chosen on. ``workload.periods: {validation: V, test: T}`` cuts
the micro-batches in time order: learners train on batches ``[0, V)``, baselines are
tuned on ``[V, T)``, and everything is scored on ``[T, end)``. ``V`` and ``T`` are batch
indices, or date-times where the batches have times (a trace cut by time, or a stream
paced by real arrivals window by window). Without ``periods`` the three periods are the
whole stream, and every table says that nothing was held out.

Scoring and tuning play the period's *non-overlapping* episodes (:func:`tiled_starts`),
so that each is an independent sample; training draws its episode starts at random
within its period. Date-times are read with pandas, imported where one is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from marl_part.errors import FieldError, InputError

if TYPE_CHECKING:
    import pandas as pd

PERIODS = ("train", "validation", "test")


@dataclass(frozen=True)
class Periods:
    """Where the validation and the test periods begin: a batch index (``13151``) or a
    date-time (``2012-07-01``, read like the traces' time columns, in UTC)."""

    validation: str
    test: str

    def __post_init__(self):
        for name in ("validation", "test"):
            _parse(name, getattr(self, name))


@dataclass(frozen=True)
class PeriodBounds:
    """The batch ranges ``[start, end)`` of the three periods; ``split`` is False where
    the config declares none (each period is then the whole stream)."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]
    split: bool

    @classmethod
    def whole(cls, n_batches: int) -> PeriodBounds:
        whole = (0, n_batches)
        return cls(whole, whole, whole, split=False)

    def of(self, period: str) -> tuple[int, int]:
        return getattr(self, period)

    def describe(self, batch_time: np.ndarray | None = None) -> str:
        """``train [0, 13151) ...``, with the dates where the batches have times."""
        if not self.split:
            return "no held-out periods: training, tuning and scoring share the whole stream"
        return "; ".join(f"{name} {_span(self.of(name), batch_time)}" for name in PERIODS)

    def check_fits(self, episode_length: int, names: tuple[str, ...] = PERIODS) -> None:
        """Each of the periods ``names`` holds at least one whole episode."""
        for name in names:
            start, end = self.of(name)
            if end - start < episode_length:
                raise InputError(f"the {name} period holds {end - start} micro-batches "
                                 f"[{start}, {end}), fewer than episode_length "
                                 f"{episode_length}", key="workload.periods")


def resolve(periods: Periods | None, n_batches: int,
            batch_time: np.ndarray | None) -> PeriodBounds:
    """The batch ranges of ``periods`` in a stream of ``n_batches`` batches starting at
    ``batch_time`` (trace seconds, None where the batches have no times)."""
    if periods is None:
        return PeriodBounds.whole(n_batches)
    validation, test = (_batch_index(name, getattr(periods, name), n_batches, batch_time)
                        for name in ("validation", "test"))
    if not 0 < validation < test < n_batches:
        raise InputError(f"periods must begin in order within the stream's {n_batches} "
                         f"micro-batches, 0 < validation < test < {n_batches}; got "
                         f"validation at {validation}, test at {test}", key="workload.periods")
    return PeriodBounds((0, validation), (validation, test), (test, n_batches), split=True)


def tiled_starts(bounds: tuple[int, int], episode_length: int,
                 count: int | None = None) -> np.ndarray:
    """The starts of the non-overlapping episodes that fit in ``bounds``, one after the
    other from its start; ``count`` of them, spread evenly over the period, if given."""
    start, end = bounds
    starts = np.arange(start, end - episode_length + 1, episode_length, dtype=np.int64)
    if count is not None and count < len(starts):
        starts = starts[np.linspace(0, len(starts) - 1, count).round().astype(np.int64)]
    return starts


def _parse(name: str, text: str) -> int | pd.Timestamp:
    if text.strip().isdigit():
        return int(text)
    import pandas as pd

    try:
        return pd.Timestamp(text, tz="UTC")
    except (ValueError, TypeError):
        raise FieldError(name, f"{text!r} is neither a batch index nor a date-time") from None


def _batch_index(name: str, text: str, n_batches: int, batch_time: np.ndarray | None) -> int:
    value = _parse(name, text)
    if isinstance(value, int):
        return value
    if batch_time is None:
        raise InputError(f"{name} begins at a date-time ({text}), but this workload's "
                         "micro-batches have no times; give a batch index",
                         key="workload.periods")
    import pandas as pd

    seconds = (value - pd.Timestamp(0, tz="UTC")).total_seconds()
    return int(np.searchsorted(batch_time, seconds, side="left"))


def _span(bounds: tuple[int, int], batch_time: np.ndarray | None) -> str:
    start, end = bounds
    text = f"[{start}, {end})"
    if batch_time is not None:
        import pandas as pd

        first = pd.Timestamp(batch_time[start], unit="s")
        last = pd.Timestamp(batch_time[end - 1], unit="s")
        text += f" {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M}"
    return text
