"""LPT places the hot keys greedily, in the learned partitioner's action space."""

from __future__ import annotations

import numpy as np
import pytest
from baseline_worlds import tiny_world

from marl_part.baselines.greedy import LPT
from marl_part.errors import InputError
from marl_part.sim import features
from marl_part.sim.settings import PartitionerConfig

# one batch: key 0 has 6 tuples, key 1 has 4, key 2 has 3, key 3 has 1 (work 1 each)
KEYS = [0] * 6 + [1] * 4 + [2] * 3 + [3]
HASH = [0, 1, 0, 0]  # every cold key (2, 3) hashes to partition 0


def world(split_ways=1, **partitioner):
    return tiny_world(KEYS, batch_size=len(KEYS), partitions=3, key_hash=HASH,
                      partitioner=PartitionerConfig(hot_keys=2, split_ways=split_ways,
                                                    **partitioner))


def test_hottest_first_each_to_the_least_busy_partition():
    w = world()
    routing = LPT(w).act()
    # cold load 0: 4 (keys 2, 3); key 0 (6) to the least busy, 1; key 1 (4) then to 2
    assert routing.row_partition[w.view.hot[0]].tolist() == [1, 2]
    assert w.step(routing, w.hold_action()).loads[0].tolist() == [4, 6, 4]


def test_split_spreads_the_hottest_keys_over_the_two_least_busy():
    w = world(split_ways=2)
    lpt = LPT(w, split=1)
    assert lpt.action().tolist() == [[1, 2, 1, 1]]  # key 0 on ranks 1 and 2, key 1 whole
    # key 0 (6) split over partitions 1 and 2 (3 each); key 1 (4) to the least busy, 1
    assert w.step(lpt.act(), w.hold_action()).loads[0].tolist() == [4, 7, 3]


def test_lpt_needs_load_ranks():
    with pytest.raises(InputError, match="load rank"):
        LPT(world(choices="partition"))
    with pytest.raises(InputError, match="split_ways >= 2"):
        LPT(world(), split=1)


def test_split_is_a_knob_per_env():
    w = tiny_world(KEYS, batch_size=len(KEYS), n_envs=2, partitions=3, key_hash=HASH,
                   partitioner=PartitionerConfig(hot_keys=2, split_ways=2))
    assert LPT(w, split=np.array([0, 2])).action().tolist() == [[1, 1, 1, 1], [1, 2, 1, 2]]


def test_stay_keeps_a_key_home_while_its_partition_is_within_the_fair_share():
    stay = [0.0, 1.05, 1.3, 2.0]
    w = tiny_world(KEYS * 2, batch_size=len(KEYS), n_envs=len(stay), partitions=3,
                   key_hash=HASH, partitioner=PartitionerConfig(hot_keys=2, split_ways=1))
    lpt = LPT(w, stay=np.array(stay))
    assert lpt.action().tolist() == [[1, 1]] * 4  # no key has state yet: LPT everywhere
    w.step(lpt.act(), w.hold_action())
    w.key_home[:, :2] = [2, 0]  # key 0 now lives on partition 2, key 1 on partition 0
    assert lpt.action().tolist() == [[1, 1]] + [[0, 0]] * 3
    routing = lpt.act()
    # fair share 14 / 3; cold load [4, 0, 0]. Key 0 (6) fits at home within 1.3x the
    # fair share (6.07), not within 1.05x (4.9); key 1 (4) at home would make 8 there,
    # within 2x (9.33) only; a key that does not fit goes to the least busy partition
    placed = [routing.row_partition[w.view.hot[e]].tolist() for e in range(len(stay))]
    assert placed == [[1, 2], [1, 2], [2, 1], [2, 0]]


def test_the_learner_sees_the_load_a_key_would_keep_at_home():
    """The stay rule's quantity, as the partitioner's hot-key features give it."""
    w = tiny_world(KEYS * 2, batch_size=len(KEYS), partitions=3, key_hash=HASH,
                   partitioner=PartitionerConfig(hot_keys=2, split_ways=1))
    assert features.hot_keys(w)[0, 4:].tolist() == [0, 0]  # no state yet
    w.step(LPT(w).act(), w.hold_action())  # key 0 now lives on partition 1, key 1 on 2
    fair = 14 / 3
    # against the fair share, halved: key 0 keeps 6 at home, key 1 keeps 4
    assert features.hot_keys(w)[0, 4:] == pytest.approx([6 / fair / 2, 4 / fair / 2])
    w.key_home[0, 1] = 1  # key 1 lives with the hotter key 0: 6 + 4 there (clipped at 2x)
    assert features.hot_keys(w)[0, 4:] == pytest.approx([6 / fair / 2, 1.0])
