"""How much of a workload's load a clock predicts: the share of the test period's
load variance that a seasonal forecast fitted on the training period explains.

Where the load is an exact function of the clock (an averaged profile), a scheduler
that reads the clock needs to observe nothing, and learning has nothing to add; where
the share is well below 1, the rest is what only observation catches. The forecasts
are seasonal profiles (Hyndman and Athanasopoulos, "Forecasting: Principles and
Practice", 3rd ed., sec. 5.2, the seasonal mean): the mean work of each phase of the
cycle over the last ``w`` cycles of the training period, for each ``w`` of
:data:`WINDOWS` (0: all of it). The window is chosen on the validation period, and the
share is reported on the test period: R^2 = 1 - SSE / SST of the test batches' work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.workloads import Batches

WINDOWS = (0, 4, 8, 13, 26)  # cycles of training data a profile averages (0: all)


@dataclass(frozen=True)
class Predictability:
    cycles: int  # the window chosen on the validation period (0: the whole training period)
    validation_share: float  # R^2 of that profile on the validation period
    test_share: float  # ... and on the test period

    def describe(self) -> str:
        fitted = ("the whole training period" if self.cycles == 0
                  else f"the training period's last {self.cycles} cycles")
        return (f"a seasonal profile (the mean work of each phase of the cycle over {fitted}, "
                f"chosen on the validation period) explains {self.test_share:.0%} of the test "
                f"period's load variance ({self.validation_share:.0%} of the validation "
                "period's)")


def predictability(batches: Batches) -> Predictability | None:
    """The seasonal forecast's share of explained variance (module docstring); None for
    a workload without a cycle or without held-out periods."""
    if batches.batch_phase is None or not batches.periods.split:
        return None
    cycle = batches.cycle_batches
    phase = np.round(batches.batch_phase * cycle).astype(np.int64) % cycle
    work = batches.batch_work
    start, end = batches.periods.train
    shares = {}
    for cycles in WINDOWS:
        first = start if cycles == 0 else max(start, end - cycles * cycle)
        counts = np.bincount(phase[first:end], minlength=cycle)
        sums = np.bincount(phase[first:end], weights=work[first:end], minlength=cycle)
        profile = np.divide(sums, counts, out=np.full(cycle, work[start:end].mean()),
                            where=counts > 0)
        shares[cycles] = tuple(_explained(work[a:b], profile[phase[a:b]])
                               for a, b in (batches.periods.validation, batches.periods.test))
    best = max(shares, key=lambda cycles: shares[cycles][0])
    return Predictability(best, *shares[best])


def _explained(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = ((actual - actual.mean()) ** 2).sum()
    return float(1.0 - ((actual - forecast) ** 2).sum() / total) if total > 0 else 1.0
