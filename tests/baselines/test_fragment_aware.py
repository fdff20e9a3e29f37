"""cAM, DAGreedy, FlexD and Dalton on hand-made streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from baseline_worlds import tiny_world
from test_choices import hash_with

from marl_part.baselines.common import choice
from marl_part.baselines.fragment_aware import CAM, DAGreedy, Dalton, FlexD
from marl_part.workloads.text import TextSource


def test_cam_keeps_a_key_on_the_candidate_that_holds_it():
    # key 1 loads partition 0 (both its choices); key 0 has choices (0, 2): it goes to
    # the less loaded 2, then stays there although 2 becomes the heavier one
    key_hash = [hash_with(0, 2, 4), hash_with(0, 0, 4)]
    world = tiny_world([1, 1, 0, 0, 0, 0, 0], batch_size=7, partitions=4, key_hash=key_hash)
    assert list(CAM(world).act().tuple_partition) == [0, 0, 2, 2, 2, 2, 2]


def test_cam_never_splits_a_key_within_a_batch():
    rng = np.random.default_rng(0)
    keys = rng.zipf(1.4, 3000) % 200
    world = tiny_world(keys, batch_size=1000, partitions=6)
    cam = CAM(world)
    for _ in range(3):
        routing = cam.act()
        world.step(routing, world.hold_action())
        assert world.last.replication_factor[0] == 1.0


def two_batches(first_batch, second_batch, partitions, **kwargs):
    keys = list(first_batch) + list(second_batch)
    assert len(first_batch) == len(second_batch)
    return tiny_world(keys, batch_size=len(first_batch), partitions=partitions, **kwargs)


def test_dagreedy_hot_key_trades_affinity_against_load():
    # batch 1: 10 tuples of cold keys; batch 2: key 0 x 10, hot once its count > 10 / 2
    key_hash = np.arange(11)  # key 0 hashes to partition 0
    world = two_batches(range(1, 11), [0] * 10, partitions=2, key_hash=key_hash)
    router = DAGreedy(world, hot_fraction=1.0)
    world.step(router.act(), world.hold_action())
    routed = list(router.act().tuple_partition)
    # five cold tuples to the hash partition 0; then with loads (5, 0), mean 2.5:
    # p0 scores 0.5*1 - 0.5*(5-2.5)/2.5 = 0, p1 scores 0 - 0.5*(0-2.5)/2.5 = 0.5 -> 1;
    # then p1 holds the key too and the lighter wins until (5, 5), ties to the lowest
    assert routed == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]
    # a cold key is hashed
    assert routed[0] == choice(np.uint64(0), 0, 2)


def test_dagreedy_keeps_a_key_hot_through_the_next_batch_only():
    world = tiny_world([1, 2, 3, 4] + [0] * 4 + [0, 5, 6, 7] + [5, 6, 7, 1], batch_size=4,
                       partitions=2, key_hash=np.arange(8))
    router = DAGreedy(world, hot_fraction=1.0)
    for _ in range(2):
        world.step(router.act(), world.hold_action())
    assert router.hot_until[0, 0] == 2  # hot in batch 1 (count 3 > 4/2), so through batch 2
    world.step(router.act(), world.hold_action())
    assert router.hot_until[0, 0] == 2 and router.count[0].sum() == 0  # counts are per batch


def test_a_key_that_keeps_qualifying_stays_hot():
    # key 0 is 3 of every 4 tuples: hot in batch 1 (count 3 > 4/2) and again in batch 2,
    # so it never falls back to its hash partition for the first tuples of a batch
    world = tiny_world([1, 2, 3, 4] + [0, 0, 0, 5] * 3, batch_size=4, partitions=2,
                       key_hash=np.arange(6))
    router = DAGreedy(world, hot_fraction=1.0)
    world.step(router.act(), world.hold_action())
    for batch in (1, 2):
        routing = router.act()
        world.step(routing, world.hold_action())
        assert router.hot_until[0, 0] == batch + 1
    # in batch 3 key 0 is hot from its first tuple: loads (0, 0) tie -> 0; loads (1, 0):
    # p0 scores 0.5 - 0.5, p1 0 + 0.5 -> 1; (1, 1) tie -> 0; key 5 is hashed -> 1.
    # (Counted only until it first turned hot, it would be hashed twice: 0, 0, 1, 1.)
    assert list(router.act().tuple_partition) == [0, 1, 0, 1]


def test_dagreedy_marks_keys_above_a_hundredth_of_the_fair_share():
    # 200 tuples per batch over 2 partitions: fair share 100, DAGreedy's threshold 1
    keys = list(range(1, 201)) + [0, 0] + list(range(1, 199))
    world = tiny_world(keys, batch_size=200, partitions=2)
    router = DAGreedy(world)
    world.step(router.act(), world.hold_action())
    router.act()
    assert router.hot_until[0, 0] == 2  # key 0's second tuple: count 2 > 0.01 * 200 / 2
    assert router.hot_until[0, 1] == -1  # one tuple each: cold


def test_flexd_grows_a_hot_keys_partitions_one_at_a_time():
    # keys 1..4 hash to partitions 0..3, key 0 to 0; hot share 0.25 for small numbers
    keys = [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 1, 0, 1, 2, 3, 4, 0]
    world = tiny_world(keys, batch_size=len(keys), partitions=4, key_hash=[0, 0, 1, 2, 3])
    routed = list(FlexD(world, hot_share=0.25).act().tuple_partition)
    # shares of key 0 before each of its tuples: 0/4, 1/5 cold (hash 0); 2/6 hot, new ->
    # least loaded 1; 3/7 > 2/6 -> grow to 2; 4/8 -> 3; 5/9 -> 0; (key 1 -> 0)
    assert routed[:11] == [0, 1, 2, 3, 0, 0, 1, 2, 3, 0, 0]
    # 6/11 > recorded, but every partition is mapped: least loaded of all (loads 5,2,2,2) -> 1
    assert routed[11] == 1
    # keys 1..4 are cold (hashed); then key 0's share 7/16 fell below the recorded
    # one: the least loaded of its mapped partitions (loads 6,4,3,3) -> 2
    assert routed[12:] == [0, 1, 2, 3, 2]


def test_dalton_values_follow_the_published_reward():
    key_hash = np.arange(5)  # key 0 -> partition 0 of 2
    world = two_batches([1, 2, 3, 4], [0, 0, 0, 0], partitions=2, key_hash=key_hash)
    router = Dalton(world, epsilon=0.0)
    router.reset(np.arange(1), [np.random.default_rng(0)])
    world.step(router.act(), world.hold_action())
    routed = list(router.act().tuple_partition)
    assert routed == [0, 0, 0, 0]  # 2 cold tuples (count <= 4/2), then greedy from hash 0
    slot = router.slot_of[0, 0]
    # hot tuple 3: loads (3, 0), mean 1.5: cost_map = 1.5 / 3, cost_reduce = 1/2,
    # r = -0.5, Q = -2 + 0.1 (r + 2) = -1.85; tuple 4: loads (4, 0): r = -0.5 again
    q0 = -2 + 0.1 * (-0.5 + 2)
    assert router.q[0, slot, 0] == pytest.approx(q0 + 0.1 * (-0.5 - q0))
    assert router.q[0, slot, 1] == -2.0


def test_dalton_explores_every_partition_with_epsilon_one():
    world = two_batches(range(1, 41), [0] * 40, partitions=4, key_hash=np.arange(41))
    router = Dalton(world, epsilon=1.0)
    router.reset(np.arange(1), [np.random.default_rng(0)])
    world.step(router.act(), world.hold_action())
    routed = router.act().tuple_partition
    assert set(routed[11:]) == {0, 1, 2, 3}  # hot from its 11th tuple (count > 40 / 4)


def test_dalton_is_hash_where_no_word_exceeds_a_partitions_share():
    # Les Misérables' top word is 7.1% of the text: over 10 partitions no key is hot
    # under Dalton's fair-share rule, so it routes exactly like hash (issue 9)
    data = Path(__file__).parents[2] / "data"
    trace = TextSource(source="text", path="les_miserables_pg135.txt.gz").read(data)
    n = 60_000
    world = tiny_world(trace.keys[:n], batch_size=10_000, partitions=10,
                       key_hash=trace.key_hash[:trace.keys[:n].max() + 1])
    dalton = Dalton(world)
    dalton.reset(np.arange(1), [np.random.default_rng(0)])
    for _ in range(5):
        routing = dalton.act()
        hashed = [choice(h, 0, 10) for h in world.batches.trace.key_hash[
            world.batches.trace.keys[world.view.tuples()[0]]]]
        assert list(routing.tuple_partition) == hashed
        world.step(routing, world.hold_action())
    assert (dalton.hot_until == -1).all()
