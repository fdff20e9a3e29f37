"""Scenario functions most scenarios share, to import rather than rewrite:
``build_world`` (the world a config describes, for ``make_world``), ``reset_world``
(new episodes, nothing else) and ``reward`` (the weighted team reward of the world's
reward weights)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from marl_part.errors import FieldError, InputError
from marl_part.sim.rewards import team_reward
from marl_part.sim.world import World, check_partition_limit
from marl_part.workloads import load_batches

if TYPE_CHECKING:  # a type only: the config layer sits above the scenarios
    from marl_part.config import EnvConfig


def build_world(config: EnvConfig, n_envs: int, default_weights: dict[str, float]) -> World:
    """The world a config describes, with the scenario's reward weights overridden by
    the config's ``reward:`` (what a scenario's ``make_world`` usually returns)."""
    batches = load_batches(config.workload, config.cluster.batch_interval, Path(config.base_dir))
    if batches.n_batches < config.episode_length:
        raise InputError(f"the workload has {batches.n_batches} micro-batches, fewer than "
                         f"episode_length {config.episode_length}; shorten the episode or "
                         "batch the trace more finely", key="episode_length")
    try:
        check_partition_limit(config, batches)
    except FieldError as exc:
        raise InputError(str(exc), key=exc.field) from None
    return World(config, batches, n_envs, {**default_weights, **config.reward})


def reset_world(world, env_ids, rngs):
    world.reset(env_ids, rngs)


def reward(world):
    return team_reward(world, world.reward_weights)
