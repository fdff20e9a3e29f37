"""Algorithms by name: config dataclass, builder, replay buffer and trainer parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tianshou.algorithm import Algorithm
from tianshou.data import ReplayBuffer
from tianshou.trainer import TrainerParams

from marl_part.envs.joint import JointLayout
from marl_part.errors import InputError, one_of
from marl_part.trainers import mappo, qmix
from marl_part.trainers.configs import (
    IDQNConfig,
    IPPOConfig,
    MAPPOConfig,
    QMIXConfig,
    SharedMAPPOConfig,
)


@dataclass(frozen=True)
class AlgorithmSpec:
    """How to build and train one algorithm."""

    config_class: type
    build: Callable[[Any, JointLayout], Algorithm]  # (config, layout) -> algorithm
    make_buffer: Callable[[Any, int], ReplayBuffer]  # (config, number of train envs) -> buffer
    trainer_params: Callable[..., TrainerParams]  # (config, **common trainer params)


_PPO_FAMILY = dict(build=mappo.build, make_buffer=mappo.make_buffer,
                   trainer_params=mappo.trainer_params)
_Q_FAMILY = dict(build=qmix.build, make_buffer=qmix.make_buffer,
                 trainer_params=qmix.trainer_params)

ALGORITHMS: dict[str, AlgorithmSpec] = {
    "mappo": AlgorithmSpec(MAPPOConfig, **_PPO_FAMILY),
    "ippo": AlgorithmSpec(IPPOConfig, **_PPO_FAMILY),
    "mappo_shared": AlgorithmSpec(SharedMAPPOConfig, **_PPO_FAMILY),
    "qmix": AlgorithmSpec(QMIXConfig, **_Q_FAMILY),
    "idqn": AlgorithmSpec(IDQNConfig, **_Q_FAMILY),
}


def algorithm_spec(name: str) -> AlgorithmSpec:
    """The spec of the algorithm called ``name``; an unknown name lists the valid ones."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise InputError(f"unknown algorithm '{name}'; {one_of(ALGORITHMS)}") from None
