"""The hindsight optimum of node scaling, checked against brute force, and its bound."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from conftest import small_config

from marl_part.config import load_config
from marl_part.envs.simulation import Simulation
from marl_part.evaluation.evaluate import Episodes, period_episodes, rollout
from marl_part.evaluation.hindsight import (
    ClusterStates,
    hindsight,
    perfect_balance_times,
    plan_episode,
    size_outcomes,
)

STEPS = 5


def bursty_cluster() -> dict:
    """Three nodes of two speeds and prices, 2 slots each, one batch of provisioning,
    at most 2 nodes more or fewer a step, and load that swings: whether to scale, and
    when, matters. Hash routing with no content and no migration or merge cost: a batch
    on k ready nodes costs the same whatever came before, so the programme is exact."""
    return {**small_config("autoscale"), "episode_length": STEPS,
            "workload": {"source": "zipf", "keys": 60, "exponent": 0.8, "rate": 260,
                         "seconds": 40, "rate_curve": [0.3, 1.6, 0.5, 1.3, 0.2, 1.8]},
            "cluster": {"nodes": [{"count": 1, "speed": 40.0, "price": 1.0},
                                  {"count": 2, "speed": 70.0, "price": 2.0}],
                        "slots_per_node": 2, "initial_nodes": 1, "provisioning_delay": 1,
                        "deadline": 1.5, "merge_cost": 0.0, "migration_cost": 0.0},
            "scheduler": {"max_scale_step": 2, "parallelism": "tied"},
            "reward": {"balance": 0.5}, "roles": {"partitioner": "hash"}}


class Sequences:
    """Env e plays the scheduler's actions ``actions[e]``, one per step."""

    source = "brute force"

    def __init__(self, actions: np.ndarray, obs_dim: int, nvec):
        self.actions, self.obs_dim, self.nvec, self.step = actions, obs_dim, tuple(nvec), 0

    def __call__(self, obs):
        self.step += 1
        return self.actions[:, self.step - 1:self.step]


@pytest.mark.parametrize("episode", [0, 3, 5])
def test_the_programme_finds_the_best_of_every_action_sequence(episode, write_config):
    config = load_config(write_config(bursty_cluster()))
    learned = dataclasses.replace(config, roles={"partitioner": "hash", "scheduler": "learn"})
    plan = period_episodes(config, "test", None, 1)
    one = Episodes("test", plan.starts[episode:episode + 1], plan.seeds[:1],
                   np.zeros(1, dtype=np.int64))
    simulation = Simulation(learned, 1, period="test", starts=one.starts)
    simulation.reset(np.arange(1), [0])
    world = simulation.world
    states = ClusterStates.reachable(world)
    batch_time, partitioner_return = size_outcomes(config, "hash", one)
    value, path = plan_episode(world, states, batch_time[0], partitioner_return[0])

    # every sequence of the 5 relative actions (-2..2 nodes) over 5 steps, in the world
    sequences = np.array(list(itertools.product(range(5), repeat=STEPS)))
    actor = Sequences(sequences, simulation.observations()["scheduler"].shape[1],
                      simulation.action_nvec("scheduler"))
    run = rollout(learned, {"scheduler": actor},
                  Episodes("test", np.repeat(one.starts, len(sequences)),
                           [0] * len(sequences), np.zeros(len(sequences), dtype=np.int64)))
    returns = run.reward.sum(axis=0)
    assert value == pytest.approx(returns.max(), abs=1e-9)
    # the programme's plan is one of the best sequences: its nodes on, step by step
    on = states.nodes(world).n_on[path]
    best = np.flatnonzero(np.isclose(returns, returns.max(), atol=1e-9))
    assert any(np.array_equal(run.metrics["nodes_on"][1:, b], on[:-1]) for b in best)
    assert len(np.unique(returns.round(9))) > 30  # the choice matters

    # the bound lies above every sequence's return, and above the best
    bound, _ = plan_episode(world, states, perfect_balance_times(world, one)[0],
                            np.zeros((batch_time.shape[1], STEPS)))
    assert bound >= returns.max() - 1e-9


def test_the_hindsight_row_replays_its_plans_and_beats_every_fixed_size(write_config):
    config = load_config(write_config(bursty_cluster()))
    planned = hindsight(config, "hash", None)
    n = planned.result.episodes
    assert n == 8 and len(planned.nodes) == n and all(len(p) == STEPS for p in planned.nodes)
    # here nothing depends on history: the replay scores what the programme computed
    assert planned.result.episode_returns == pytest.approx(planned.modelled, abs=1e-9)
    assert np.all(np.array(planned.bound) >= np.array(planned.modelled) - 1e-9)
    for nodes in range(1, 4):
        fixed = dataclasses.replace(config, roles={"partitioner": "hash",
                                                   "scheduler": f"static:nodes={nodes}"})
        returns = rollout(fixed, {}, period_episodes(config, "test", None, 1)).reward.sum(axis=0)
        assert np.all(np.array(planned.result.episode_returns) >= returns - 1e-9)
