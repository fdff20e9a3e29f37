"""Every compiled per-tuple router routes a small stream exactly as its plain-Python
reference does, for several envs whose parallelism changes between batches."""

from __future__ import annotations

import numpy as np
import pytest
from baseline_worlds import set_parallelism, tiny_world

from marl_part.baselines import BASELINES
from marl_part.baselines.common import rng_states
from marl_part.baselines.dedup import relative_storage
from marl_part.baselines.reference import (
    CAMRef,
    ChoicesRef,
    DAGreedyRef,
    DaltonRef,
    DedupQRef,
    FlexDRef,
    PKGRef,
)

N_ENVS = 3
PARALLELISM = [[4, 3, 6], [5, 3, 2], [5, 6, 2], [3, 6, 4], [3, 2, 4], [6, 4, 5],
               [2, 5, 6], [4, 4, 4]]


def skewed_stream(n_tuples=2400, n_keys=40, seed=7):
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_keys + 1) ** 1.3
    keys = rng.choice(n_keys, size=n_tuples, p=weights / weights.sum())
    return keys, rng.integers(1, 4, size=n_tuples).astype(float)


def run_against_reference(name, make_reference, **kwargs):
    keys, work = skewed_stream()
    world = tiny_world(keys, batch_size=300, n_envs=N_ENVS, partitions=4, max_partitions=6,
                       work=work)
    router = BASELINES["partitioner"][name](world, **kwargs)
    rngs = [np.random.default_rng(100 + e) for e in range(N_ENVS)]
    router.reset(np.arange(N_ENVS), rngs)
    seeds = rng_states([np.random.default_rng(100 + e) for e in range(N_ENVS)])
    references = [make_reference(seeds[e]) for e in range(N_ENVS)]
    trace = world.batches.trace
    routed = 0
    for parallelism in PARALLELISM:
        routing = router.act()
        index, env, starts = world.view.tuples()
        for e in range(N_ENVS):
            mine = index[starts[e]:starts[e + 1]]
            keys = trace.keys[mine]
            expected = references[e].route(list(keys), list(trace.key_hash[keys]),
                                           list(trace.work[mine]), int(world.n_active[e]),
                                           int(world.t[e]))
            assert list(routing.tuple_partition[starts[e]:starts[e + 1]]) == expected, (name, e)
            routed += len(mine)
        world.step(routing, set_parallelism(world, parallelism))
    return routed


def test_pkg_matches_reference():
    assert run_against_reference("pkg", lambda seed: PKGRef()) == 2400 * N_ENVS


def test_d_choices_matches_reference():
    run_against_reference("d_choices", lambda seed: ChoicesRef(all_workers=False))


def test_w_choices_matches_reference():
    run_against_reference("w_choices", lambda seed: ChoicesRef(all_workers=True))


def test_cam_matches_reference():
    run_against_reference("cam", lambda seed: CAMRef())


def test_dagreedy_matches_reference():
    run_against_reference("dagreedy", lambda seed: DAGreedyRef())


def test_flexd_matches_reference():
    run_against_reference("flexd", lambda seed: FlexDRef(refresh=3), refresh_batches=3)


def test_dalton_matches_reference():
    run_against_reference("dalton", lambda seed: DaltonRef(seed, n_slots=2 * 6 + 2))


@pytest.mark.parametrize("name, penalty", [("dedup_q", 1.0), ("dedup_q_plain", 0.0)])
def test_dedup_q_matches_reference(name, penalty):
    rng = np.random.default_rng(3)
    n_regions, n_domains = 240, 8
    domains = rng.integers(0, n_domains, size=n_regions)
    # regions of one domain share content, so routing them together deduplicates
    regions = [list(domains[r] * 10 + rng.integers(0, 6, size=3)) for r in range(n_regions)]
    sizes = rng.integers(50, 150, size=3 * n_regions).astype(float)
    world = tiny_world(domains, batch_size=6, n_envs=N_ENVS, partitions=4, max_partitions=6,
                       key_hash=np.arange(n_domains), fingerprints=regions, chunk_bytes=sizes)
    router = BASELINES["partitioner"][name](world, epsilon=0.2)  # explore often, to test it
    router.reset(np.arange(N_ENVS), [np.random.default_rng(100 + e) for e in range(N_ENVS)])
    seeds = rng_states([np.random.default_rng(100 + e) for e in range(N_ENVS)])
    references = [DedupQRef(seeds[e], epsilon=0.2, load_penalty=penalty) for e in range(N_ENVS)]
    trace, stores = world.batches.trace, world.stores
    for step in range(world.batches.n_batches):
        relative = relative_storage(world)
        routing = router.act()
        index, env, starts = world.view.tuples()
        for e in range(N_ENVS):
            mine = index[starts[e]:starts[e + 1]]
            chunks = [[(trace.chunk_fingerprint[c], trace.chunk_bytes[c])
                       for c in range(trace.content_offsets[t], trace.content_offsets[t + 1])]
                      for t in mine]

            def pod_holds(fp, pod, e=e):
                return bool((int(stores.bits[e * stores.n_fingerprints + fp]) >> pod) & 1)

            expected = references[e].route(list(trace.keys[mine]), chunks, int(world.n_active[e]),
                                           pod_holds, relative[e])
            assert list(routing.tuple_partition[starts[e]:starts[e + 1]]) == expected, (step, e)
        world.step(routing, set_parallelism(world, PARALLELISM[step % len(PARALLELISM)]))
    assert np.abs(router.q).sum() > 0  # it learned something


def test_hot_key_routers_match_reference_at_other_hot_thresholds():
    run_against_reference("dagreedy", lambda seed: DAGreedyRef(hot_fraction=1.0),
                          hot_fraction=1.0)
    run_against_reference("dalton", lambda seed: DaltonRef(seed, n_slots=2 * 6 + 2,
                                                           hot_fraction=0.3),
                          hot_fraction=0.3)
