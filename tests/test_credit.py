"""Per-key credit: each hot key's difference reward, checked against stepping the world
again with only that key moved to its default partition."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from marl_part.config import load_config
from marl_part.envs.simulation import Simulation
from marl_part.sim.rewards import team_reward
from tests.conftest import small_config

# dedup terms are held at their actual values in the counterfactual: leave them out
WEIGHTS = {"balance": 0.5, "deadline_miss": 1.0, "lateness": 0.5, "backlog": 1.0,
           "node_cost": 0.5, "split": 1.0, "migration": 1.0}


def counterfactual_routing(world, routing, key: int):
    """``routing`` with hot key ``key`` of every env at its home partition, unsplit."""
    view = world.view
    home, has_home = world.state_homes(view.hot[:, key])
    default = np.where(has_home, home, view.at_hot(view.hash_partition)[:, key])
    changed = copy.deepcopy(routing)
    valid = view.hot_valid[:, key]
    changed.row_partition[view.hot[valid, key]] = default[valid]
    changed.hot_split[:, key, :] = np.where(valid, default, changed.hot_split[:, key, 0])[:, None]
    return changed


@pytest.mark.parametrize("tail_stay", [None, 1.5])
def test_difference_rewards_match_stepping_the_world_again(write_config, tail_stay):
    config = load_config(write_config(small_config(
        reward={**WEIGHTS, "dedup": 0.0},
        cluster={"nodes": [{"count": 3, "speed": 30.0}], "slots_per_node": 3,
                 "initial_nodes": 2, "merge_cost": 0.05, "migration_cost": 0.04},
        partitioner={"hot_keys": 5, "split_ways": 2, "tail_stay": tail_stay,
                     "stay_below": 1.2})))
    simulation = Simulation(config, n_envs=4)
    simulation.reset(np.arange(4), list(range(4)))
    world = simulation.world
    world.key_credit = True
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(8):
        ranks = rng.integers(0, world.partitioner_choice_count(), (4, 5 * 2))
        routing = world.hot_key_routing(ranks)
        schedule = rng.integers(0, world.scheduler_action_sizes()[0], (4, 1))
        schedule = np.concatenate([schedule, world.hold_action()[:, 1:]], axis=1)
        before = copy.deepcopy(world)
        world.step(routing, schedule)
        reward = team_reward(world, world.reward_weights)[0]
        for key in range(5):
            again = copy.deepcopy(before)
            again.key_credit = False
            again.step(counterfactual_routing(again, routing, key), schedule)
            expected = reward - team_reward(again, again.reward_weights)[0]
            expected[~before.view.hot_valid[:, key]] = 0.0
            np.testing.assert_allclose(world.last_key_credit[:, key], expected, atol=1e-9)
            checked += int(np.abs(expected).max() > 1e-6)
        simulation._route_tail()
    assert checked >= 10  # the keys' choices mattered in many of the checks
