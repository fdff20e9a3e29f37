"""Run directories: fresh ones, ``runs/<name>-<timestamp>``, never one that exists;
one process at a time in each; files in them written whole or not at all; the config a
stopped run resumes with."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from marl_part.config import Config, load_config
from marl_part.errors import InputError
from marl_part.evaluation.policies import CHECKPOINT_FILE, RUN_CONFIG_FILE
from marl_part.interrupts import interrupted

LOCK_FILE = ".lock"  # holds the id of the process working in a run directory


def new_run_dir(name: str, root: str | Path = "runs") -> Path:
    """Create and return a directory no other run uses, directly in ``root``."""
    base = Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if base.resolve().parent != Path(root).resolve():
        raise InputError(f"{name!r} is no plain folder name", str(root))
    for attempt in range(1, 1000):
        path = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a fresh run directory next to {base}")


@contextmanager
def held(folder: Path) -> Iterator[None]:
    """Work in ``folder`` as the only process: another one that asks for it meanwhile is
    refused, with the id of this one. The lock (``flock`` on ``folder/.lock``) is the
    kernel's: it ends with this process, however that ends, so a killed run leaves
    none behind. An interruption of the work names ``folder`` as what keeps it."""
    lock = folder / LOCK_FILE
    with open(lock, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = lock.read_text().strip() or "?"
            raise InputError(f"process {holder} is working in this folder (one process per "
                             f"folder); wait for it to end, or stop it", str(folder)) from None
        os.truncate(lock, 0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        except KeyboardInterrupt as error:
            stop = interrupted(error)
            stop.folder = str(folder)
            raise stop from None


def write_json_atomic(path: Path, data) -> None:
    """``data`` as JSON at ``path`` through a temporary file and ``os.replace``: a run
    killed while writing leaves the old file or none, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: Path) -> dict:
    """A JSON file a run wrote; a clear refusal if it is not one."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"not a JSON file a run wrote ({error}); remove it to redo that "
                         "step", str(path)) from None


def resume_config(run_dir: Path) -> Config:
    """The config a training run was started with (to resume it)."""
    if not (run_dir / CHECKPOINT_FILE).is_file():
        raise InputError("no checkpoint to resume from", str(run_dir))
    return load_config(run_dir / RUN_CONFIG_FILE)
