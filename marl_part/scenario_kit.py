"""Scenario functions most scenarios share, to import rather than rewrite:
``reset_world`` (new episodes, nothing else) and ``reward`` (the weighted team
reward of the world's reward weights)."""

from __future__ import annotations

from marl_part.rewards import team_reward


def reset_world(world, env_ids, rngs):
    world.reset(env_ids, rngs)


def reward(world):
    return team_reward(world, world.reward_weights)
