"""PKG, D-Choices, W-Choices and their SpaceSaving, on hand-made streams."""

from __future__ import annotations

from collections import Counter

import numpy as np
from baseline_worlds import tiny_world

from marl_part.baselines.choices import PKG, DChoices, WChoices, choices_for_head
from marl_part.baselines.common import choice
from marl_part.baselines.reference import dchoices_d
from marl_part.baselines.space_saving import SpaceSaving, space_saving_add


def hash_with(want_first, want_second, n):
    """A key hash whose two hash choices among n partitions are the given ones."""
    return next(h for h in range(100000) if choice(np.uint64(h), 0, n) == want_first
                and choice(np.uint64(h), 1, n) == want_second)


def test_pkg_sends_a_key_only_to_its_two_candidates_the_less_loaded_one():
    first, second = 1, 3
    key_hash = [hash_with(first, second, 4), hash_with(first, first, 4)]
    # key 1 (both choices = partition 1) loads partition 1 with 3, then key 0 arrives
    world = tiny_world([1, 1, 1, 0, 0, 0, 0, 0, 0], batch_size=9, partitions=4, key_hash=key_hash)
    routed = PKG(world).act().tuple_partition
    assert list(routed[:3]) == [1, 1, 1]
    # loads (p1, p3): (3,0) -> 3, (3,1) -> 3, (3,2) -> 3, (3,3) tie -> H1 = 1,
    # (4,3) -> 3, (4,4) -> 1
    assert list(routed[3:]) == [3, 3, 3, 1, 3, 1]


def test_pkg_load_estimate_is_work_and_restarts_every_batch():
    key_hash = [hash_with(0, 2, 4), hash_with(2, 2, 4)]
    world = tiny_world([1, 0, 0, 0, 0], batch_size=5, partitions=4, key_hash=key_hash,
                       work=[5.0, 1.0, 1.0, 1.0, 1.0])
    assert list(PKG(world).act().tuple_partition) == [2, 0, 0, 0, 0]  # 4 units < 5 on p2
    # key 0 chooses (H1, H2) = (2, 0); key 1 always 2
    key_hash = [hash_with(2, 0, 4), hash_with(2, 2, 4)]
    world = tiny_world([1, 0, 0, 1], batch_size=2, partitions=4, key_hash=key_hash,
                       work=[5.0, 1.0, 1.0, 5.0])
    pkg = PKG(world)
    routing = pkg.act()
    assert list(routing.tuple_partition) == [2, 0]
    world.step(routing, world.hold_action())
    # a fresh batch: both candidates are at 0, so H1 = 2 wins (a cumulative count says 0)
    assert list(pkg.act().tuple_partition) == [2, 2]


def dominant_stream(n_tuples=400, share=0.5, n_keys=200, seed=1):
    rng = np.random.default_rng(seed)
    keys = np.where(rng.random(n_tuples) < share, 0, rng.integers(1, n_keys, n_tuples))
    return keys


def test_w_choices_sends_head_keys_to_the_least_loaded_of_all_workers():
    keys = dominant_stream()
    world = tiny_world(keys, batch_size=len(keys), partitions=8)
    routed = WChoices(world).act().tuple_partition
    load, theta, seen, head_tuples = np.zeros(8), 0.2 / 8, Counter(), 0
    for i, (k, p) in enumerate(zip(keys, routed)):
        seen[k] += 1
        if (i + 1) * theta >= 1 and seen[k] >= theta * (i + 1):
            assert load[p] == load.min() and p == int(np.argmin(load))
            head_tuples += 1
        else:
            assert p in (choice(world.batches.trace.key_hash[k], 0, 8),
                         choice(world.batches.trace.key_hash[k], 1, 8))
        load[p] += 1
    assert head_tuples > 150
    assert len(set(routed[keys == 0])) == 8  # the head key is spread over all workers
    assert load.max() - load.min() <= 1


def test_d_choices_d_is_the_least_that_balances_head_and_tail():
    # two head keys of frequency 0.2 among n = 20: 0.4 + 0.6 b^2 <= b needs b >= 2/3,
    # b = 1 - 0.95 ** (2 d) >= 2/3  <=>  d >= ln 3 / (2 ln(1 / 0.95)) = 10.7  ->  d = 11
    summary = summary_of([0] * 200 + [1] * 200 + [k for k in range(2, 102) for _ in range(6)])
    counts, size, total = summary.counts, summary.size, summary.total
    assert choices_for_head(counts, size, total, 0, 20, 0.2 / 20, 1e-4) == 11
    assert dchoices_d([0.2, 0.2], 20, 1e-4) == 11
    b10, b11 = 1 - 0.95 ** 20, 1 - 0.95 ** 22
    assert 0.4 + 0.6 * b10 ** 2 > b10 and 0.4 + 0.6 * b11 ** 2 <= b11
    # a key of frequency 0.6 needs every worker
    summary = summary_of([0] * 600 + [k for k in range(2, 102) for _ in range(4)])
    counts, size, total = summary.counts, summary.size, summary.total
    assert choices_for_head(counts, size, total, 0, 20, 0.01, 1e-4) == 20


def test_d_choices_d_also_lets_the_top_keys_choices_absorb_it():
    # head: key 0 at 0.3 and ten keys at 0.02 (p_H = 0.5), tail 0.5, n = 20, theta 0.01.
    # The head's spread alone, 0.5 + 0.5 b^2 <= b + 1e-4 with b = 1 - 0.95 ** (11 d),
    # holds from d = 8; the top key's 8 choices cover c = 1 - 0.95 ** 8 = 0.337 of the
    # workers, short of 0.3 + 0.2 c^8 + 0.5 c^2 = 0.357; d = 9 covers 0.370 >= 0.368
    stream = [0] * 300 + [k for k in range(1, 11) for _ in range(20)]
    stream += [k for k in range(11, 111) for _ in range(5)]
    summary = summary_of(stream)
    counts, size, total = summary.counts, summary.size, summary.total
    assert choices_for_head(counts, size, total, 0, 20, 0.01, 1e-4) == 9
    assert dchoices_d([0.3] + [0.02] * 10, 20, 1e-4) == 9
    c8, c9 = 1 - 0.95 ** 8, 1 - 0.95 ** 9
    assert 0.3 + 0.2 * c8 ** 8 + 0.5 * c8 ** 2 > c8 and 0.3 + 0.2 * c9 ** 9 + 0.5 * c9 ** 2 <= c9
    assert (1 - 0.95 ** 88) >= 1 - (2e-4) ** 0.5  # the head's condition alone: d = 8


def summary_of(stream, counters=256, n_keys=300):
    summary = SpaceSaving(1, n_keys, counters)
    for k in stream:
        space_saving_add(*summary.arrays, 0, k)
    return summary


def test_d_choices_sends_head_tuples_only_to_their_d_hash_choices():
    keys = dominant_stream(n_tuples=2000, share=0.2, n_keys=400)
    world = tiny_world(keys, batch_size=1000, partitions=16)
    router = DChoices(world)
    world.step(router.act(), world.hold_action())  # learn the head in the first batch
    summary = router.summary
    counts, size, total = summary.counts, summary.size, summary.total
    d = choices_for_head(counts, size, total, 0, 16, 0.2 / 16, 1e-4)
    assert 2 < d < 16
    routed = router.act().tuple_partition
    key_hash = world.batches.trace.key_hash[0]
    allowed = {choice(key_hash, j, 16) for j in range(d)}
    used = set(routed[keys[1000:] == 0])
    assert used <= allowed and len(used) > 2


def test_space_saving_counts_over_estimate_within_n_over_m():
    rng = np.random.default_rng(0)
    stream = rng.zipf(1.5, size=5000) % 300
    m = 40
    summary = summary_of(stream.tolist(), counters=m)
    counts, true = summary.estimates(0), Counter(stream.tolist())
    assert summary.total[0] == 5000 and len(counts) == m
    for k, c in counts.items():
        assert true[k] <= c <= true[k] + 5000 / m
    assert {k for k, c in true.items() if c > 5000 / m} <= set(counts)  # all above N/m
    # the heap's root is the minimum; counts sum to the stream's length
    assert summary.counts[0, 0] == min(counts.values())
    assert all(summary.counts[0, (i - 1) // 2] <= summary.counts[0, i] for i in range(1, m))
    assert sum(counts.values()) == 5000


def test_space_saving_takes_over_the_minimum_counter():
    summary = summary_of([7, 7, 8, 9], counters=2, n_keys=10)
    assert summary.estimates(0) == {7: 2, 9: 2}  # 9 took over 8's counter: 1 + 1
    summary.reset([0])
    assert summary.estimates(0) == {} and (summary.slot[0] == -1).all()
