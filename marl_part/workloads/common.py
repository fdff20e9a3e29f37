"""What every workload source shares: batching, trace files, table columns (pandas is
imported where a table is read, so that configs load without it)."""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from marl_part.errors import InputError, one_of

if TYPE_CHECKING:
    import pandas as pd

MAX_TRACE_BYTES = 2**28  # a trace file, uncompressed
MAX_TUPLES = 20_000_000  # tuples of a workload (a zipf stream's, before ``limit``)
MAX_BATCHES = 1_000_000  # micro-batches a workload is cut into
MAX_KEYS = 10_000_000  # keys of a synthetic stream, domains of a chunk trace


def resolve(path: str, base_dir: Path) -> Path:
    """A trace path as written in a config: relative paths start at the config's folder."""
    resolved = Path(path) if Path(path).is_absolute() else base_dir / path
    if not resolved.is_file():
        raise InputError(f"trace file not found (looked at {resolved})", key="workload.path")
    return resolved


def read_text(path: Path) -> str:
    """A trace file (plain or gzipped) as UTF-8 text; a truncated or corrupt gzip file,
    an undecodable byte anywhere (named by its line) or a file past
    :data:`MAX_TRACE_BYTES` is refused."""
    try:
        with (gzip.open(path) if path.suffix == ".gz" else open(path, "rb")) as handle:
            raw = handle.read(MAX_TRACE_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        kind = "gzip file is truncated or corrupt" if path.suffix == ".gz" else "cannot read it"
        raise InputError(f"{kind} ({exc})", str(path)) from None
    if len(raw) > MAX_TRACE_BYTES:
        raise InputError(f"larger than {MAX_TRACE_BYTES:,} bytes; cut it or set "
                         "workload.limit on a shorter copy", str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"not UTF-8 text (byte {raw[exc.start]:#04x})",
                         f"{path}:{line}") from None


def read_table(path: Path, columns: list[str], nrows: int | None = None,
               **read_csv_args) -> pd.DataFrame:
    """Read the named columns of a CSV/CSV.gz; name the columns that exist if one is
    missing; refuse a file with no data lines."""
    import pandas as pd

    text = read_text(path)
    try:
        header = pd.read_csv(io.StringIO(text), nrows=0, **read_csv_args).columns
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read as CSV: {exc}", str(path)) from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(f"no column {', '.join(map(repr, missing))}; the file has "
                         f"{one_of(header)}", str(path))
    try:
        # all columns are read so that a line with too many fields is an error too
        table = pd.read_csv(io.StringIO(text), nrows=nrows, on_bad_lines="error",
                            **read_csv_args)[columns]
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"malformed line: {exc}", str(path)) from None
    if table.empty:
        raise InputError("no data lines (a header only)", str(path))
    return table


def numeric_column(table: pd.DataFrame, column: str, path: Path, header_lines: int = 1) -> np.ndarray:
    """A column as float64: finite, not negative (times, work and sizes all are); the
    first value that is not is reported with its line."""
    import pandas as pd

    values = pd.to_numeric(table[column], errors="coerce").to_numpy(np.float64)
    _report_first_bad(np.isnan(values), table[column], column, path, header_lines, "a number")
    _report_first_bad(np.isinf(values), table[column], column, path, header_lines,
                      "a finite number")
    _report_first_bad(values < 0, table[column], column, path, header_lines,
                      "a number >= 0")
    return values


def time_column(table: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """Seconds as float64, from numbers (Unix seconds) or date-times after 1970."""
    import pandas as pd

    raw = table[column]
    if pd.api.types.is_numeric_dtype(raw) or not pd.isna(pd.to_numeric(raw.iloc[:1], errors="coerce")).all():
        return numeric_column(table, column, path)  # numbers, judged by the first row
    stamps = pd.to_datetime(raw, errors="coerce", format="mixed", utc=True)
    _report_first_bad(stamps.isna().to_numpy(), raw, column, path, 1, "a number or a date-time")
    seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(np.float64)
    _report_first_bad(seconds < 0, raw, column, path, 1, "a date-time after 1970")
    return seconds


def _report_first_bad(bad: np.ndarray, raw: pd.Series, column: str, path: Path,
                      header_lines: int, expected: str) -> None:
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"column '{column}': {str(raw.iloc[row])!r} is not {expected}",
                         f"{path}:{row + 1 + header_lines}")


def in_time_order(times: np.ndarray, *columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """The columns reordered by time (stable), if the trace is not already sorted."""
    if np.all(times[1:] >= times[:-1]):
        return (times, *columns)
    order = np.argsort(times, kind="stable")
    return tuple(c[order] for c in (times, *columns))
