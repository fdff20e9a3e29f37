"""A learned partitioner places the hot keys; a tail router (any partitioner baseline)
routes the rest, and every hot key the agent defers to it."""

from __future__ import annotations

import numpy as np
import pytest
from test_world import F0, F1, THREE_PARTITIONS, A, B, C, hand_world

from marl_part.config import load_config
from marl_part.envs.simulation import Simulation
from marl_part.errors import InputError

ZIPF = "tests/baselines/configs/zipf.yaml"
EPISODE = 10


def rollout(overrides, actions=None):
    """Team rewards and loads of one 3-env episode; the partitioner acts by ``actions``
    (a function of the step) when it is learned."""
    sim = Simulation(load_config(ZIPF, [f"episode_length={EPISODE}", *overrides]), 3)
    sim.reset(np.arange(3), [7, 8, 9])
    rewards, loads = [], []
    for step in range(EPISODE):
        outcome = sim.step({"partitioner": actions(sim)} if actions else {})
        rewards.append(outcome.reward)
        loads.append(sim.world.last.loads.copy())
    return np.array(rewards), np.array(loads)


def defer_everything(sim):
    nvec = sim.action_nvec("partitioner")
    return np.full((sim.n_envs, len(nvec)), nvec[0] - 1)


@pytest.mark.parametrize("router", ["pkg", "w_choices", "consistent_hash", "hash"])
def test_deferring_every_hot_key_routes_exactly_as_the_tail_router(router):
    fixed = ["roles.scheduler=static", f"roles.partitioner={router}"]
    learned = ["roles.scheduler=static", "roles.partitioner=learn",
               f"partitioner.tail={router}", "partitioner.defer=true"]
    expected, learned_run = rollout(fixed), rollout(learned, defer_everything)
    np.testing.assert_allclose(learned_run[1], expected[1])
    np.testing.assert_allclose(learned_run[0], expected[0])


def test_placed_hot_keys_go_by_load_rank_over_the_tail_routers_load():
    def least_busy(sim):  # every hot key whole to the least busy partition
        return np.ones((sim.n_envs, len(sim.action_nvec("partitioner"))), np.int64)

    overrides = ["roles.scheduler=static", "roles.partitioner=learn",
                 "partitioner.tail=consistent_hash"]
    rewards, loads = rollout(overrides, least_busy)
    _, tail_loads = rollout(["roles.scheduler=static", "roles.partitioner=consistent_hash"])
    # greedy placement of the hot keys on top of the ring's tail balances better
    imbalance = lambda l: (l.max(axis=2) / l.sum(axis=2) * l.shape[2]).mean()  # noqa: E731
    active = loads[:, :, : 6]  # 3 initial nodes x 2 slots
    assert imbalance(active) < imbalance(tail_loads[:, :, :6])


def test_defer_adds_a_choice_and_keeps_a_split_key_whole():
    batches = [[(A, 1, F0)] * 4 + [(B, 2, F1)] * 2 + [(C, 3, F0)]] * 2
    assert hand_world(THREE_PARTITIONS, batches, choices="load_rank"
                      ).partitioner_choice_count() == 4  # ranks 0..3
    deferring = hand_world(THREE_PARTITIONS, batches, choices="load_rank", defer=True)
    assert deferring.partitioner_choice_count() == 5  # ranks 0..3, then defer (4)
    # A split over ranks 1 and 2 ...
    split = deferring.hot_key_routing([[1, 2]])
    assert len(set(split.hot_split[0, 0])) == 2
    # ... stays whole when its second dimension defers
    whole = deferring.hot_key_routing([[1, 4]])
    assert len(set(whole.hot_split[0, 0])) == 1
    # and goes to its hash partition (A: key 0, partition 0) when its first one does
    assert deferring.hot_key_routing([[4, 2]]).hot_split[0, 0].tolist() == [0, 0]


def test_an_unknown_tail_router_is_refused_with_the_allowed_names():
    with pytest.raises(InputError, match=r"zipf.yaml:\d+: key 'partitioner': tail: unknown "
                                         r"partitioner 'lru'; valid: one of: hash"):
        load_config(ZIPF, ["partitioner.tail=lru"])
