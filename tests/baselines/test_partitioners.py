"""Shuffle and consistent hashing."""

from __future__ import annotations

import numpy as np
from baseline_worlds import set_parallelism, tiny_world

from marl_part.baselines import Baseline, baseline_class
from marl_part.baselines.partitioners import ConsistentHash, Hash, Shuffle


def test_shuffle_deals_round_robin_and_continues_across_batches():
    world = tiny_world([5, 5, 5, 5, 5, 7, 7, 7, 7, 7], batch_size=5, n_envs=2, partitions=3)
    shuffle = Shuffle(world)
    routing = shuffle.act()
    assert list(routing.tuple_partition) == [0, 1, 2, 0, 1] * 2
    world.step(routing, set_parallelism(world, [3, 2]))
    # env 0 goes on from partition 2; env 1 now has 2 partitions: (5 + i) mod 2
    assert list(shuffle.act().tuple_partition) == [2, 0, 1, 2, 0] + [1, 0, 1, 0, 1]


def test_consistent_hashing_moves_about_one_in_n_plus_one_keys():
    n_keys = 6000
    keys = np.concatenate([np.arange(n_keys), np.arange(n_keys)])
    world = tiny_world(keys, batch_size=n_keys, partitions=8, max_partitions=9)
    ring = ConsistentHash(world)
    before = ring.act().row_partition
    assert before.max() == 7
    counts = np.bincount(before, minlength=8)
    assert counts.min() > 0.6 * n_keys / 8 and counts.max() < 1.4 * n_keys / 8
    world.step(ring.act(), set_parallelism(world, [9]))
    after = ring.act()
    assert after.row_partition.max() == 8
    world.step(after, world.hold_action())
    moved = world.last.moved_keys[0]
    assert 0.07 * n_keys < moved < 0.16 * n_keys  # about 1/9 of the keys
    # and every moved key went to the new partition
    position = {k: p for k, p in zip(world.batches.row_key[:n_keys], before)}
    new_home = world.key_home[0]
    assert all(new_home[k] == 8 for k, p in position.items() if new_home[k] != p)


def test_mod_hashing_moves_most_keys_for_comparison():
    n_keys = 6000
    keys = np.concatenate([np.arange(n_keys), np.arange(n_keys)])
    world = tiny_world(keys, batch_size=n_keys, partitions=8, max_partitions=9)
    world.step(Hash(world).act(), set_parallelism(world, [9]))
    world.step(Hash(world).act(), world.hold_action())
    assert world.last.moved_keys[0] > 0.8 * n_keys


def test_registry_names_every_baseline_once_per_role():
    from marl_part.baselines import BASELINES
    assert set(BASELINES["partitioner"]) == {
        "hash", "shuffle", "consistent_hash", "pkg", "d_choices", "w_choices", "cam", "dagreedy",
        "flexd", "dalton", "dedup_first", "dedup_min", "dedup_max", "dedup_stateful", "dedup_q",
        "dedup_q_plain", "lpt"}
    assert set(BASELINES["scheduler"]) == {"static", "threshold", "ds2", "linear_regression",
                                           "scheduled", "predictive"}
    for role, classes in BASELINES.items():
        for name, cls in classes.items():
            assert issubclass(cls, Baseline) and cls.role == role and cls.name == name
            assert baseline_class(role, name) is cls
            assert cls.__doc__ and len(cls.__doc__) > 60
