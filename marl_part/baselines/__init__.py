"""The registry of baselines by role and name, and the baseline a policy spec names."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

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
from marl_part.baselines.greedy import LPT
from marl_part.baselines.knobs import PolicySpec, parse_knobs, split_spec
from marl_part.baselines.partitioners import ConsistentHash, Hash, Shuffle
from marl_part.baselines.schedulers import DS2, LinearRegression, Static, Threshold
from marl_part.baselines.seasonal import Predictive, Scheduled
from marl_part.errors import InputError, one_of
from marl_part.sim.settings import WorldSettings
from marl_part.sim.world import World

ROLES = ("partitioner", "scheduler")
BASELINES: dict[str, dict[str, type[Baseline]]] = {
    "partitioner": {cls.name: cls for cls in (Hash, Shuffle, ConsistentHash, PKG, DChoices,
                                               WChoices, CAM, DAGreedy, FlexD, Dalton, LPT,
                                               DedupFirst, DedupMin, DedupMax, DedupStateful,
                                               DedupQLearning, DedupQLearningPlain)},
    "scheduler": {cls.name: cls for cls in (Static, Threshold, DS2, LinearRegression,
                                             Scheduled, Predictive)},
}


def baseline_class(role: str, name: str) -> type[Baseline]:
    """The baseline ``name`` for ``role``; an unknown name lists the valid ones."""
    if role not in BASELINES:
        raise InputError(f"unknown role '{role}'; roles are {one_of(ROLES)}")
    if name not in BASELINES[role]:
        raise InputError(f"unknown {role} '{name}'; valid: {one_of(BASELINES[role])}")
    return BASELINES[role][name]


def teaches(role: str, name: str) -> bool:
    """Whether the baseline decides in the learned role's action space (a learner can
    imitate it): every scheduler, and lpt."""
    return baseline_class(role, name).action is not Baseline.action


def baseline_named(name: str) -> type[Baseline]:
    """The baseline ``name`` of either role (names differ across roles)."""
    for classes in BASELINES.values():
        if name in classes:
            return classes[name]
    raise InputError(f"unknown baseline '{name}'; valid: "
                     f"{one_of(n for classes in BASELINES.values() for n in classes)}")


def parse_policy(role: str, spec: str, settings: WorldSettings | None = None) -> PolicySpec:
    """A ``role`` baseline written ``NAME`` or ``NAME:knob=value,...``, checked: the
    name, every knob and its range (a range that depends on the cluster, such as
    static's ``nodes``, only when ``settings`` are given)."""
    name, raw = split_spec(spec)
    return PolicySpec(name, parse_knobs(baseline_class(role, name).knobs, name, raw, settings))


def make_baseline(role: str, spec: str, world: World,
                  knobs: Mapping[str, np.ndarray] | None = None) -> Baseline:
    """The baseline ``spec`` names, on ``world``; ``knobs`` (scalars or per-env arrays)
    replace the spec's values."""
    policy = parse_policy(role, spec, world.settings)
    return baseline_class(role, policy.name)(world, **{**policy.knobs, **(knobs or {})})
