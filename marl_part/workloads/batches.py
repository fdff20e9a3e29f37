"""Micro-batches of a trace, pre-aggregated once so that a simulator step touches
keys rather than tuples.

Three levels, each in CSR form with one offset array per micro-batch:

* **tuples** in arrival order (for routers that decide per tuple);
* **key rows**: the distinct keys of a batch with their tuple count and work,
  sorted by work, hottest first, so the K hottest keys of batch ``b`` are rows
  ``key_offsets[b] : key_offsets[b] + K``;
* **content groups**: the distinct (key row, fingerprint) pairs of a batch with their
  copy count and chunk size (for the per-partition fingerprint stores).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.workloads.periods import PeriodBounds
from marl_part.workloads.trace import Trace


@dataclass(frozen=True)
class Batches:
    trace: Trace
    tuple_offsets: np.ndarray  # (n_batches + 1,) into the trace's tuples
    tuple_row: np.ndarray  # (n_tuples,) the key row of each tuple
    key_offsets: np.ndarray  # (n_batches + 1,)
    row_key: np.ndarray  # (n_rows,) key id
    row_count: np.ndarray  # (n_rows,) tuples
    row_work: np.ndarray  # (n_rows,)
    batch_work: np.ndarray  # (n_batches,)
    batch_tuples: np.ndarray  # (n_batches,)
    group_offsets: np.ndarray | None = None  # (n_batches + 1,)
    group_row: np.ndarray | None = None  # (n_groups,) key row of each content group
    group_fingerprint: np.ndarray | None = None  # (n_groups,)
    group_count: np.ndarray | None = None  # (n_groups,) copies in the batch
    group_bytes: np.ndarray | None = None  # (n_groups,) size of one copy
    batch_bytes: np.ndarray | None = None  # (n_batches,) content bytes that arrive
    # (n_batches,) where each batch falls in the cycle of the rate profile that paced it,
    # in [0, 1) (the hour of the week, for a weekly profile), ``cycle_batches`` batches
    # to a cycle; None without a profile
    batch_phase: np.ndarray | None = None
    cycle_batches: int | None = None
    batch_time: np.ndarray | None = None  # (n_batches,) trace seconds at which each begins
    periods: PeriodBounds | None = None  # the split (default: none, the whole stream thrice)

    def __post_init__(self):
        if self.periods is None:
            object.__setattr__(self, "periods", PeriodBounds.whole(self.n_batches))

    @property
    def n_batches(self) -> int:
        return len(self.tuple_offsets) - 1

    @property
    def has_content(self) -> bool:
        return self.group_offsets is not None

    def episode_swing(self, episode_length: int) -> np.ndarray:
        """Max / min work per batch within every window of ``episode_length`` batches
        (one per possible episode start): how much an episode's load varies."""
        windows = np.lib.stride_tricks.sliding_window_view(self.batch_work, episode_length)
        return windows.max(axis=1) / np.maximum(windows.min(axis=1), 1e-12)


def batch_bounds_by_count(n_tuples: int, tuples_per_batch: int) -> np.ndarray:
    """Offsets of consecutive batches of ``tuples_per_batch`` (a short tail is dropped)."""
    n_batches = n_tuples // tuples_per_batch
    return np.arange(n_batches + 1, dtype=np.int64) * tuples_per_batch


def batch_bounds_by_profile(n_tuples: int, mean_tuples: int, rate: np.ndarray) -> np.ndarray:
    """Offsets of consecutive batches of ``mean_tuples x rate[b % len(rate)]`` tuples
    (at least one each) while the stream lasts (a short tail is dropped)."""
    n_max = int(np.ceil(n_tuples / max(1.0, mean_tuples * rate.min()))) + 1
    sizes = np.maximum(1, np.round(mean_tuples * np.resize(rate, n_max))).astype(np.int64)
    ends = np.cumsum(sizes)
    n_batches = int(np.searchsorted(ends, n_tuples, side="right"))
    return np.concatenate([[0], ends[:n_batches]]).astype(np.int64)


def batch_bounds_by_time(times: np.ndarray, window: float) -> np.ndarray:
    """Offsets of consecutive time windows of ``window`` trace seconds (empty ones kept)."""
    start = times[0]
    n_batches = int(np.floor((times[-1] - start) / window)) + 1
    edges = start + window * np.arange(n_batches + 1)
    return np.searchsorted(times, edges, side="left").astype(np.int64)


def aggregate(trace: Trace, tuple_offsets: np.ndarray) -> Batches:
    """Build the key-row and content-group tables of the batches ``tuple_offsets``."""
    n_batches = len(tuple_offsets) - 1
    n_used = int(tuple_offsets[-1])
    batch_of_tuple = np.repeat(np.arange(n_batches), np.diff(tuple_offsets))
    keys, work = trace.keys[:n_used], trace.work[:n_used]

    codes, tuple_code_row, counts = np.unique(batch_of_tuple * trace.n_keys + keys,
                                              return_inverse=True, return_counts=True)
    code_work = np.bincount(tuple_code_row, weights=work, minlength=len(codes))
    code_batch = codes // trace.n_keys
    hottest_first = np.lexsort((codes % trace.n_keys, -code_work, code_batch))
    row_of_code = np.empty_like(hottest_first)
    row_of_code[hottest_first] = np.arange(len(hottest_first))
    row_key = (codes % trace.n_keys)[hottest_first]
    key_offsets = _offsets(code_batch, n_batches)
    tuple_row = row_of_code[tuple_code_row]

    batches = dict(
        trace=trace, tuple_offsets=tuple_offsets,
        tuple_row=tuple_row, key_offsets=key_offsets, row_key=row_key,
        row_count=counts[hottest_first], row_work=code_work[hottest_first],
        batch_work=np.bincount(batch_of_tuple, weights=work, minlength=n_batches),
        batch_tuples=np.diff(tuple_offsets))
    if trace.has_content:
        batches.update(_content_groups(trace, tuple_row, n_used, code_batch[hottest_first],
                                       n_batches))
    return Batches(**batches)


def _content_groups(trace: Trace, tuple_row: np.ndarray, n_used: int,
                    row_batch: np.ndarray, n_batches: int) -> dict:
    n_chunks = int(trace.content_offsets[n_used])
    chunk_tuple = np.repeat(np.arange(n_used), np.diff(trace.content_offsets[:n_used + 1]))
    n_fp = trace.n_fingerprints
    codes, first, counts = np.unique(
        tuple_row[chunk_tuple] * n_fp + trace.chunk_fingerprint[:n_chunks],
        return_index=True, return_counts=True)
    group_row = codes // n_fp
    chunk_batch = row_batch[tuple_row[chunk_tuple]]
    return dict(group_offsets=_offsets(row_batch[group_row], n_batches), group_row=group_row,
                group_fingerprint=codes % n_fp, group_count=counts,
                group_bytes=trace.chunk_bytes[:n_chunks][first],
                batch_bytes=np.bincount(chunk_batch, weights=trace.chunk_bytes[:n_chunks],
                                        minlength=n_batches))


def _offsets(sorted_batch_ids: np.ndarray, n_batches: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(sorted_batch_ids, minlength=n_batches))])
