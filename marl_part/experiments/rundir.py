"""Run directories: fresh ones, ``runs/<name>-<timestamp>``, never one that exists;
files in them written whole or not at all; the config a stopped run resumes with."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from marl_part.config import Config, load_config
from marl_part.errors import InputError
from marl_part.evaluation.policies import CHECKPOINT_FILE, RUN_CONFIG_FILE


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
