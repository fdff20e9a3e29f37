"""Fresh run directories: ``runs/<name>-<timestamp>``, never one that exists."""

from __future__ import annotations

import time
from pathlib import Path

from marl_part.errors import InputError


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
