"""The registry of baselines by role and name."""

from __future__ import annotations

from marl_part.baselines.base import Baseline
from marl_part.baselines.choices import PKG, DChoices, WChoices
from marl_part.baselines.dedup import (
    DedupFirst,
    DedupMax,
    DedupMin,
    DedupQLearning,
    DedupQLearningPlain,
    DedupStateful,
)
from marl_part.baselines.fragment_aware import CAM, DAGreedy, Dalton, FlexD
from marl_part.baselines.partitioners import ConsistentHash, Hash, Shuffle
from marl_part.baselines.schedulers import DS2, LinearRegression, Static, Threshold
from marl_part.errors import InputError, one_of

ROLES = ("partitioner", "scheduler")
BASELINES: dict[str, dict[str, type[Baseline]]] = {
    "partitioner": {cls.name: cls for cls in (Hash, Shuffle, ConsistentHash, PKG, DChoices,
                                               WChoices, CAM, DAGreedy, FlexD, Dalton,
                                               DedupFirst, DedupMin, DedupMax, DedupStateful,
                                               DedupQLearning, DedupQLearningPlain)},
    "scheduler": {cls.name: cls for cls in (Static, Threshold, DS2, LinearRegression)},
}


def baseline_class(role: str, name: str) -> type[Baseline]:
    """The baseline ``name`` for ``role``; an unknown name lists the valid ones."""
    if role not in BASELINES:
        raise InputError(f"unknown role '{role}'; roles are {one_of(ROLES)}")
    if name not in BASELINES[role]:
        raise InputError(f"unknown {role} '{name}'; valid: {one_of(BASELINES[role])}")
    return BASELINES[role][name]
