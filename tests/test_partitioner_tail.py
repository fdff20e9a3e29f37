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


def tail_stay_world(tail_stay):
    """A learned partitioner's world after one step, every key's state then moved to
    partition 0, and the ring's routing of the next batch."""
    sim = Simulation(load_config(ZIPF, ["roles.scheduler=static", "roles.partitioner=learn",
                                        "partitioner.tail=consistent_hash",
                                        f"partitioner.tail_stay={tail_stay}"]), 2)
    sim.reset(np.arange(2), [7, 8])
    sim.step({"partitioner": np.zeros((2, len(sim.action_nvec("partitioner"))), np.int64)})
    world = sim.world
    world.key_home[world.key_home >= 0] = 0
    ring = sim.tail_router.act()
    world.set_tail_routing(ring)
    return world, ring


def test_tail_stay_keeps_keys_with_their_state_until_their_partition_is_over_the_cap():
    world, ring = tail_stay_world(10.0)  # 6 partitions: all the tail on one is 6x the mean
    view = world.view
    had_state = view.cold & (world.key_home[view.env, view.key] == 0)
    assert had_state.sum() > 100 and (view.tail.row_partition[had_state] == 0).all()
    new = view.cold & ~had_state  # no state yet: where the ring sends them
    assert new.any() and (view.tail.row_partition[new] == ring.row_partition[new]).all()
    on_ring = np.zeros_like(view.cold_load)
    np.add.at(on_ring, (view.env[new], ring.row_partition[new]), view.work[new])
    on_ring[:, 0] += np.bincount(view.env[had_state], view.work[had_state], minlength=2)
    np.testing.assert_allclose(view.cold_load, on_ring)  # what the placer counts
    # over the cap (1.5x the mean), partition 0 gives its keys back to the ring
    world, ring = tail_stay_world(1.5)
    cold = world.view.cold
    np.testing.assert_array_equal(world.view.tail.row_partition[cold], ring.row_partition[cold])


@pytest.mark.parametrize("tail", ["consistent_hash", "hash"])
def test_tail_stay_moves_fewer_keys_when_the_cluster_scales(tail):
    def moved(tail_stay):
        sets = [] if tail_stay is None else [f"partitioner.tail_stay={tail_stay}"]
        sim = Simulation(load_config(ZIPF, ["roles.partitioner=learn", "roles.scheduler=learn",
                                            f"partitioner.tail={tail}",
                                            "scheduler.action=target", "scheduler.parallelism=tied",
                                            *sets]), 2)
        sim.reset(np.arange(2), [7, 8])
        stay = np.zeros((2, len(sim.action_nvec("partitioner"))), np.int64)
        total = 0.0
        for nodes in [3, 5, 5, 7, 7, 4, 4, 6, 6, 6]:  # out, out, in, out
            target = sim.world.scale_choice(np.full(2, nodes))[:, None]
            total += sim.step({"partitioner": stay, "scheduler": target}).metrics[
                "moved_keys"].sum()
        return total

    assert moved(2.0) < 0.5 * moved(None)


@pytest.mark.parametrize("value, message", [
    ("0.5", r"key 'partitioner.tail_stay': must lie in \[1, 10.0\]"),
    ("11", r"key 'partitioner.tail_stay': must lie in \[1, 10.0\]"),
])
def test_a_tail_stay_out_of_range_is_refused(value, message):
    with pytest.raises(InputError, match=message):
        load_config(ZIPF, [f"partitioner.tail_stay={value}"])


def test_tail_stay_is_refused_over_a_tail_router_of_tuples():
    with pytest.raises(InputError, match=r"zipf.yaml:\d+: key 'partitioner': tail_stay keeps "
                                         r"keys with their state; the tail router 'pkg' routes "
                                         r"tuples, not keys"):
        load_config(ZIPF, ["partitioner.tail=pkg", "partitioner.tail_stay=2"])
