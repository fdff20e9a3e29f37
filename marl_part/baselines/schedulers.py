"""Scheduling baselines."""

from __future__ import annotations

import numpy as np

from marl_part.baselines.base import Baseline


class Static(Baseline):
    """A static cluster: the initial nodes and parallelism, never changed."""

    role, name = "scheduler", "static"

    def act(self) -> np.ndarray:
        return self.world.hold_action()
