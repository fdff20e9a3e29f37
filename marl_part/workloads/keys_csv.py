"""``keys_csv``: any CSV or CSV.gz with a time column, a key column and an optional
work column (e.g. the Flask file-event stream: one event per file a commit touches)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.workloads.common import (
    in_time_order,
    numeric_column,
    read_table,
    resolve,
    time_column,
)
from marl_part.workloads.source import Source
from marl_part.workloads.trace import Trace, dense_ids, stable_key_hash


@dataclass(frozen=True, kw_only=True)
class KeysCsvSource(Source):
    source: Literal["keys_csv"]
    path: str
    time_col: str = "timestamp"  # Unix seconds or date-times
    key_col: str = "key"
    work_col: str | None = None  # work per tuple; 1 when absent

    def read(self, base_dir: Path) -> Trace:
        path = resolve(self.path, base_dir)
        columns = [self.time_col, self.key_col] + ([self.work_col] if self.work_col else [])
        table = read_table(path, columns, nrows=self.limit)
        times = time_column(table, self.time_col, path)
        work = numeric_column(table, self.work_col, path) if self.work_col else np.ones(len(table))
        times, raw_keys, work = in_time_order(times, table[self.key_col].astype(str).to_numpy(), work)
        keys, names = dense_ids(raw_keys)
        return Trace(keys, work, times, names, stable_key_hash(len(names)))
