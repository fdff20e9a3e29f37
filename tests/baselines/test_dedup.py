"""Dedup routers: stateless features, stateful matching, Q-learning's start."""

from __future__ import annotations

import numpy as np
import pytest
from baseline_worlds import tiny_world

from marl_part.baselines.dedup import DedupFirst, DedupMax, DedupMin, DedupQLearning, DedupStateful
from marl_part.errors import InputError


def region_world(fingerprints, domains, n_domains=8, partitions=4, attributes=None, **kwargs):
    return tiny_world(domains, batch_size=len(domains), partitions=partitions,
                      key_hash=np.arange(n_domains), fingerprints=fingerprints,
                      attributes=attributes, **kwargs)


def test_stateless_routers_bin_the_feature_domain_onto_pods():
    features = {"first_fp": np.array([17, 40, 9], dtype=np.uint64),
                "min_fp": np.array([3, 12, 21], dtype=np.uint64),
                "max_fp": np.array([30, 45, 62], dtype=np.uint64)}
    world = region_world([[0], [1], [2]], [0, 7, 0], n_domains=8, partitions=3,
                         attributes=features)
    # domain = feature mod 8, pod = domain mod 3
    assert list(DedupFirst(world).act().tuple_partition) == [1 % 3, 0 % 3, 1 % 3]
    assert list(DedupMin(world).act().tuple_partition) == [3 % 3, 4 % 3, 5 % 3]
    assert list(DedupMax(world).act().tuple_partition) == [6 % 3, 5 % 3, 6 % 3]


def test_stateless_routers_need_region_features():
    world = region_world([[0], [1]], [0, 1])
    with pytest.raises(InputError, match="chunks_csv"):
        DedupMax(world)


def store(world, fingerprint, pod, env=0):
    world.stores.bits[env * world.stores.n_fingerprints + fingerprint] |= np.uint64(1 << pod)


def test_stateful_sends_a_region_to_the_pod_holding_its_fingerprints():
    # region 0 (domain 1) holds fingerprints 0..3, all stored on pod 2; region 1
    # (domain 3) has nothing stored anywhere: stateless fallback, domain 3 mod 4 = 3
    world = region_world([[0, 1, 2, 3], [4, 5, 6, 7], [8]], [1, 3, 1], n_domains=8)
    for fp in range(4):
        store(world, fp, 2)
    router = DedupStateful(world, sample_every=1)
    assert list(router.act().tuple_partition) == [2, 3, 1]


def test_stateful_discounts_matches_by_relative_storage():
    world = region_world([[0, 1, 2, 3]], [0], n_domains=8)
    for fp in (0, 1):
        store(world, fp, 1)  # pod 1 holds 2 of 4
    for fp in (0, 1, 2):
        store(world, fp, 2)  # pod 2 holds 3 of 4
    router = DedupStateful(world, sample_every=1)
    world.totals.partition_bytes[0, :4] = [100.0, 100.0, 100.0, 100.0]
    assert router.act().tuple_partition[0] == 2  # 3 / 1 beats 2 / 1
    world.totals.partition_bytes[0, :4] = [50.0, 100.0, 200.0, 50.0]  # mean 100
    assert router.act().tuple_partition[0] == 1  # 2 / 1 beats 3 / 2


def test_stateful_samples_by_content_so_copies_sample_alike():
    world = region_world([list(range(64))], [0], n_domains=8)
    router = DedupStateful(world, sample_every=4)
    chunks = np.arange(len(world.batches.trace.chunk_fingerprint))
    sampled = router.is_sample(chunks, np.zeros_like(chunks))
    assert 5 < sampled.sum() < 30
    fingerprint = world.batches.trace.chunk_fingerprint
    assert (sampled == (np.isin(fingerprint, fingerprint[sampled]))).all()


def test_q_learning_starts_as_stateless_and_needs_content():
    world = region_world([[d] for d in range(8)], list(range(8)), n_domains=8, partitions=3)
    router = DedupQLearning(world, epsilon=0.0)
    router.reset(np.arange(1), [np.random.default_rng(0)])
    assert list(router.act().tuple_partition) == [d % 3 for d in range(8)]
    plain = tiny_world([0, 1, 2, 3], batch_size=2, partitions=2)
    with pytest.raises(InputError, match="content"):
        DedupQLearning(plain)
