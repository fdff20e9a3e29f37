"""``swf``: the Standard Workload Format of the Parallel Workloads Archive (Feitelson et
al.): 18 whitespace-separated fields per job, ``;`` comment lines. A job is a tuple:
time = submit time (field 2), work = run time x allocated processors (fields 4, 5),
key = user, group or executable id (fields 12, 13, 14). Jobs with an unknown run time
or processor count (-1) are left out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import InputError
from marl_part.workloads.common import read_text, resolve
from marl_part.workloads.source import Source
from marl_part.workloads.trace import Trace, dense_ids, stable_key_hash

SWF_FIELDS = 18
SUBMIT, RUN_TIME, PROCESSORS, USER, GROUP, EXECUTABLE = 1, 3, 4, 11, 12, 13
KEY_FIELDS = {"user": USER, "group": GROUP, "executable": EXECUTABLE}


@dataclass(frozen=True, kw_only=True)
class SwfSource(Source):
    source: Literal["swf"]
    path: str
    key: Literal["user", "group", "executable"] = "user"

    def read(self, base_dir: Path) -> Trace:
        path = resolve(self.path, base_dir)
        jobs = parse_swf(path, self.limit)
        known = (jobs[:, RUN_TIME] >= 0) & (jobs[:, PROCESSORS] >= 1)
        jobs = jobs[known]
        order = np.argsort(jobs[:, SUBMIT], kind="stable")
        jobs = jobs[order]
        keys, names = dense_ids(jobs[:, KEY_FIELDS[self.key]].astype(np.int64))
        return Trace(keys, jobs[:, RUN_TIME] * jobs[:, PROCESSORS], jobs[:, SUBMIT],
                     names, stable_key_hash(len(names)))


def parse_swf(path: Path, limit: int | None = None) -> np.ndarray:
    """The jobs of an SWF file as a (jobs, 18) float array; a line with another number
    of fields, a field that is not a finite number or a negative submit time is refused
    with its line number (-1, SWF's "unknown", is allowed elsewhere)."""
    import pandas as pd

    lines = read_text(path).splitlines()
    numbers, rows = [], []
    for number, line in enumerate(lines, 1):
        fields = line.split(";", 1)[0].split()
        if not fields:
            continue
        if len(fields) != SWF_FIELDS:
            raise InputError(f"SWF lines have {SWF_FIELDS} fields, separated by spaces; this "
                             f"one has {len(fields)}", f"{path}:{number}")
        numbers.append(number)
        rows.append(fields)
        if len(rows) == limit:
            break
    if not rows:
        raise InputError("no job lines", str(path))
    table = pd.DataFrame(rows)
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    bad[:, SUBMIT] |= values[:, SUBMIT] < 0
    if bad.any():
        row, column = map(int, np.argwhere(bad)[0])
        raise InputError(f"field {column + 1}: {rows[row][column]!r} is not a finite number"
                         + (" >= 0" if column == SUBMIT else ""), f"{path}:{numbers[row]}")
    return values
