"""What every workload source shares: batching, trace files, table columns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marl_part.errors import FieldError, InputError, one_of


@dataclass(frozen=True)
class Batching:
    """How the stream is cut into micro-batches: give exactly one of the two.

    ``tuples``: every micro-batch holds this many tuples (the trace's time is ignored).
    ``time_compression``: every micro-batch holds the tuples of one batch interval of
    simulated time, and one simulated second replays ``time_compression`` trace
    seconds (so 60 turns a minute of trace into one second of load).
    """

    tuples: int | None = None
    time_compression: float | None = None

    def __post_init__(self):
        if (self.tuples is None) == (self.time_compression is None):
            raise FieldError("tuples", "give exactly one of 'tuples' or 'time_compression'")
        if self.tuples is not None and self.tuples < 1:
            raise FieldError("tuples", f"must be at least 1, got {self.tuples}")
        if self.time_compression is not None and self.time_compression <= 0:
            raise FieldError("time_compression", f"must be positive, got {self.time_compression}")


def resolve(path: str, base_dir: Path) -> Path:
    """A trace path as written in a config: relative paths start at the config's folder."""
    resolved = Path(path) if Path(path).is_absolute() else base_dir / path
    if not resolved.is_file():
        raise InputError(f"trace file not found (looked at {resolved})", path)
    return resolved


def read_table(path: Path, columns: list[str], nrows: int | None = None,
               **read_csv_args) -> pd.DataFrame:
    """Read the named columns of a CSV/CSV.gz; name the columns that exist if one is missing."""
    try:
        header = pd.read_csv(path, nrows=0, **read_csv_args).columns
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", str(path)) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"no column {', '.join(map(repr, missing))}; the file has "
                         f"{one_of(header)}", str(path))
    try:
        # all columns are read so that a line with too many fields is an error too
        return pd.read_csv(path, nrows=nrows, on_bad_lines="error", **read_csv_args)[columns]
    except pd.errors.ParserError as exc:
        raise InputError(f"malformed line: {exc}", str(path)) from None


def numeric_column(table: pd.DataFrame, column: str, path: Path, header_lines: int = 1) -> np.ndarray:
    """A column as float64; the first value that is not a number is reported with its line."""
    values = pd.to_numeric(table[column], errors="coerce")
    _report_first_bad(values.isna() & table[column].notna() | table[column].isna(),
                      table[column], column, path, header_lines, "a number")
    return values.to_numpy(np.float64)


def time_column(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """Seconds as float64, from numbers (Unix seconds) or date-time strings."""
    raw = table[column]
    if pd.api.types.is_numeric_dtype(raw) or not pd.isna(pd.to_numeric(raw.iloc[:1], errors="coerce")).all():
        return numeric_column(table, column, path)  # numbers, judged by the first row
    stamps = pd.to_datetime(raw, errors="coerce", format="mixed")
    _report_first_bad(stamps.isna(), raw, column, path, 1, "a number or a date-time")
    return (stamps - pd.Timestamp(0)).dt.total_seconds().to_numpy(np.float64)


def _report_first_bad(bad: pd.Series, raw: pd.Series, column: str, path: Path,
                      header_lines: int, expected: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"column '{column}': {str(raw.iloc[row])!r} is not {expected}",
                         f"{path}:{row + 1 + header_lines}")


def in_time_order(times: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns reordered by time (stable), if the trace is not already sorted."""
    if np.all(times[1:] >= times[:-1]):
        return (times, *columns)
    order = np.argsort(times, kind="stable")
    return tuple(c[order] for c in (times, *columns))
