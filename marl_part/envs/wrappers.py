"""SuperSuit's parallel-env wrappers, listed in a config's ``wrappers:``.

Each entry names a wrapper and its arguments, applied in order to the PettingZoo
parallel env: observation history (``frame_stack``), observation scaling and dtype
(``normalize_obs``, ``dtype``), reward clipping (``clip_reward``), and the padding
plus agent indicator of a parameter-sharing variant (``pad_observations``,
``agent_indicator``). SuperSuit's ``pad_action_space`` is not offered: it takes only
Discrete and Box spaces, and every agent here acts in a MultiDiscrete one
(``mappo_shared`` pads actions inside its network instead).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from marl_part.errors import FieldError, InputError
from marl_part.typed_yaml import FloatOrInf

MAX_STACK = 1024  # observations frame_stack concatenates


@dataclass(frozen=True)
class FrameStack:
    name: Literal["frame_stack"]
    stack_size: int = 4  # observations of the last steps, concatenated

    def __post_init__(self):
        if not 1 <= self.stack_size <= MAX_STACK:
            raise FieldError("stack_size", f"must be at least 1 and at most {MAX_STACK}, got "
                             f"{self.stack_size}")

    def apply(self, env, supersuit):
        return supersuit.frame_stack_v2(env, stack_size=self.stack_size)


@dataclass(frozen=True)
class NormalizeObs:
    name: Literal["normalize_obs"]
    env_min: float = 0.0  # observations are rescaled from their space's bounds into this range
    env_max: float = 1.0

    def __post_init__(self):
        if not self.env_min < self.env_max or not math.isfinite(self.env_max - self.env_min):
            raise FieldError("env_max", f"must be above env_min ({self.env_min}), by a "
                             f"finite range, got {self.env_max}")

    def apply(self, env, supersuit):
        return supersuit.normalize_obs_v0(env, env_min=self.env_min, env_max=self.env_max)


@dataclass(frozen=True)
class Dtype:
    name: Literal["dtype"]
    dtype: Literal["float32", "float64"] = "float32"

    def apply(self, env, supersuit):
        return supersuit.dtype_v0(env, np.dtype(self.dtype))


@dataclass(frozen=True)
class ClipReward:
    name: Literal["clip_reward"]
    lower_bound: FloatOrInf = -1.0
    upper_bound: FloatOrInf = 1.0

    def __post_init__(self):
        if not self.lower_bound <= self.upper_bound:
            raise FieldError("upper_bound", f"must not be below lower_bound ({self.lower_bound}), "
                             f"got {self.upper_bound}")

    def apply(self, env, supersuit):
        return supersuit.clip_reward_v0(env, lower_bound=self.lower_bound,
                                        upper_bound=self.upper_bound)


@dataclass(frozen=True)
class PadObservations:
    name: Literal["pad_observations"]

    def apply(self, env, supersuit):
        return supersuit.pad_observations_v0(env)


@dataclass(frozen=True)
class AgentIndicator:
    name: Literal["agent_indicator"]
    type_only: bool = False

    def apply(self, env, supersuit):
        shapes = {env.observation_space(agent).shape for agent in env.possible_agents}
        if len(shapes) > 1:
            raise InputError(f"agent_indicator needs the agents' observations in one shape, "
                             f"they have {sorted(shapes)}: put pad_observations before it",
                             key="wrappers")
        return supersuit.agent_indicator_v0(env, type_only=self.type_only)


Wrapper = FrameStack | NormalizeObs | Dtype | ClipReward | PadObservations | AgentIndicator


def apply_wrappers(env, wrappers: tuple[Wrapper, ...]):
    """``env`` in each of ``wrappers`` in turn (SuperSuit is imported here, not with the
    config)."""
    import supersuit

    for wrapper in wrappers:
        env = wrapper.apply(env, supersuit)
    return env
