"""One partitioner, simulated against measured: loads, balance, throughput, latency.

Simulated figures are the simulator's own for the replayed batches under the routing
the engine applied; measured ones come from the job's count operators, one window a
wall second (times are in simulated seconds: one wall second is one batch interval).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.deploy.job import Measured
from marl_part.deploy.lag import LagCost
from marl_part.deploy.windows import Replay


@dataclass
class Comparison:
    replay: Replay
    measured: Measured
    interval: float  # the batch interval, s
    lag: LagCost | None  # None: the partitioner decides as an engine can (pkg, hash)

    @property
    def simulated_loads(self) -> np.ndarray:
        """(W, P) tuples per subtask under the simulator's routing."""
        return np.stack([w.loads(self.replay.parallelism) for w in self.replay.windows])

    @property
    def active(self) -> np.ndarray:
        """(W, P) which subtasks each window's routing may use."""
        n = np.array([w.n_active for w in self.replay.windows])
        return np.arange(self.replay.parallelism)[None, :] < n[:, None]

    def load_differences(self) -> tuple[int, int]:
        """Cells (window, subtask) whose counts differ, and the largest difference."""
        diff = np.abs(self.simulated_loads - self.measured.loads)
        return int((diff > 0).sum()), int(diff.max())

    def counts_exact(self) -> bool:
        """Whether the merged counts equal each key's count in the replay."""
        keys = np.concatenate([w.keys for w in self.replay.windows])
        words, counts = np.unique(keys, return_counts=True)
        return self.measured.counts == dict(zip(words.tolist(), counts.tolist()))

    def simulated(self, name: str) -> np.ndarray:
        return np.array([w.simulated[name] for w in self.replay.windows])

    def imbalance(self) -> tuple[float, float, float]:
        """Mean over windows of max / mean - 1 over the active subtasks: the simulator's
        (of busy times), the measured tuple counts' and the measured busy times'."""
        return (float(self.simulated("imbalance").mean()),
                _imbalance(self.measured.loads, self.active),
                _imbalance(self.measured.busy, self.active))

    def throughput(self) -> tuple[float, float]:
        """Tuples per simulated second from the first window's release to the last
        window's end: simulated, measured."""
        tuples = sum(len(w.keys) for w in self.replay.windows)
        span = (len(self.replay.windows) - 1) * self.interval + self.simulated("latency")[-1]
        measured = (self.measured.done[-1] - self.measured.release[0]) * self.interval
        return tuples / span, tuples / measured

    def latency(self) -> tuple[np.ndarray, np.ndarray]:
        """(W,) seconds from each window's release to its end: simulated, measured."""
        return self.simulated("latency"), self.measured.latency(self.interval)

    def overhead_per_tuple(self) -> float:
        """Seconds the count function spent per tuple beyond the emulated work."""
        work = sum(float((w.work * self.replay.rate_scale
                          / np.resize(w.speed, self.replay.parallelism)[w.subtask]).sum())
                   for w in self.replay.windows) / self.interval
        tuples = sum(len(w.keys) for w in self.replay.windows)
        return (float(self.measured.busy.sum()) - work) / tuples


def _imbalance(values: np.ndarray, active: np.ndarray) -> float:
    mean = np.where(active, values, 0).sum(axis=1) / active.sum(axis=1)
    peak = np.where(active, values, 0).max(axis=1)
    return float(np.mean(np.divide(peak, mean, out=np.ones_like(mean, dtype=float),
                                   where=mean > 0) - 1.0))
