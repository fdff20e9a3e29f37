"""``arrivals_csv``: timestamped requests with a work size, e.g. the Azure LLM
inference trace (work = context + generated tokens). Without a key column every
request is its own key (a stateless service: any partition may take it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import FieldError
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
class ArrivalsCsvSource(Source):
    source: Literal["arrivals_csv"]
    path: str
    time_col: str = "TIMESTAMP"
    work_cols: tuple[str, ...] = ("ContextTokens", "GeneratedTokens")  # summed per request
    key_col: str | None = None

    def __post_init__(self):
        super().__post_init__()
        if not self.work_cols:
            raise FieldError("work_cols", "name at least one work column")

    def read(self, base_dir: Path) -> Trace:
        path = resolve(self.path, base_dir)
        columns = [self.time_col, *self.work_cols] + ([self.key_col] if self.key_col else [])
        table = read_table(path, columns, nrows=self.limit)
        times = time_column(table, self.time_col, path)
        work = sum(numeric_column(table, c, path) for c in self.work_cols)
        raw_keys = (table[self.key_col].astype(str).to_numpy() if self.key_col
                    else np.arange(len(table)))
        times, raw_keys, work = in_time_order(times, raw_keys, work)
        keys, names = dense_ids(raw_keys)
        return Trace(keys, work, times, names, stable_key_hash(len(names)))
