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
import pandas as pd

from marl_part.errors import InputError
from marl_part.workloads.common import resolve
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
        try:
            table = pd.read_csv(path, sep=r"\s+", comment=";", header=None, engine="c",
                                dtype=np.float64, on_bad_lines="error", nrows=self.limit)
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(f"not Standard Workload Format ({SWF_FIELDS} numeric fields "
                             f"per line, ';' comments): {exc}", str(path)) from None
        if table.shape[1] != SWF_FIELDS:
            raise InputError(f"SWF lines have {SWF_FIELDS} fields; this file has "
                             f"{table.shape[1]}", str(path))
        jobs = table.to_numpy()
        known = (jobs[:, RUN_TIME] >= 0) & (jobs[:, PROCESSORS] >= 1)
        jobs = jobs[known]
        order = np.argsort(jobs[:, SUBMIT], kind="stable")
        jobs = jobs[order]
        keys, names = dense_ids(jobs[:, KEY_FIELDS[self.key]].astype(np.int64))
        return Trace(keys, jobs[:, RUN_TIME] * jobs[:, PROCESSORS], jobs[:, SUBMIT],
                     names, stable_key_hash(len(names)))
