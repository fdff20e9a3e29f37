"""The world's accounting, checked against micro-batches computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from marl_part.sim.cluster import ClusterConfig, NodeType
from marl_part.sim.dedup import FingerprintStores
from marl_part.sim.routing import TupleRouting
from marl_part.sim.settings import PartitionerConfig, SchedulerConfig, WorldSettings
from marl_part.sim.world import World
from marl_part.workloads.batches import aggregate
from marl_part.workloads.trace import Trace

A, B, C = 0, 1, 2
F0, F1, F2 = 0, 1, 2
SIZE = {F0: 100.0, F1: 50.0, F2: 10.0}


def hand_world(cluster: ClusterConfig, batches_of_tuples, hot_keys=1, split_ways=2,
               scheduler=SchedulerConfig(), n_envs=1, choices="partition", defer=False) -> World:
    """A world over tuples (key, work, fingerprint), a batch per list; key hash = key id."""
    flat = [t for batch in batches_of_tuples for t in batch]
    keys = np.array([t[0] for t in flat])
    fps = np.array([t[2] for t in flat])
    trace = Trace(keys=keys, work=np.array([float(t[1]) for t in flat]), times=None,
                  key_names=np.array(["A", "B", "C"]), key_hash=np.arange(3, dtype=np.uint64),
                  content_offsets=np.arange(len(flat) + 1), chunk_fingerprint=fps,
                  chunk_bytes=np.array([SIZE[f] for f in fps]))
    bounds = np.cumsum([0] + [len(b) for b in batches_of_tuples])
    settings = WorldSettings(cluster=cluster, episode_length=len(batches_of_tuples),
                             episode_start="beginning",
                             partitioner=PartitionerConfig(hot_keys, split_ways, choices,
                                                           defer=defer),
                             scheduler=scheduler)
    world = World(settings, aggregate(trace, bounds), n_envs)
    world.reset(np.arange(n_envs), [np.random.default_rng(0)] * n_envs)
    return world


THREE_PARTITIONS = ClusterConfig(nodes=(NodeType(count=1, speed=10.0, price=2.0),), slots_per_node=3,
                                 initial_nodes=1, batch_interval=1.0, deadline=1.5,
                                 merge_cost=0.3, migration_cost=0.15)


def test_three_partitions_by_hand():
    world = hand_world(THREE_PARTITIONS, [
        [(A, 1, F0)] * 4 + [(B, 2, F1)] * 2 + [(C, 3, F0)],  # A: 4 work, B: 4, C: 3
        [(C, 10, F2)] * 2 + [(A, 1, F0)],  # C: 20 work, A: 1
        [(B, 1, F1)],
    ])
    hold = world.hold_action()

    # batch 0: A (hottest; ties broken by key id) split over partitions 1 and 2,
    # B hashes to 1, C to 2. Loads 0 / 4/2 + 4 / 4/2 + 3 = 0 / 6 / 5.
    record = world.step(world.hot_key_routing([[1, 2]]), hold)
    assert record.loads[0] == pytest.approx([0, 6, 5])
    assert record.times[0] == pytest.approx([0, 0.6, 0.5])
    assert record.imbalance[0] == pytest.approx(0.6 / (1.1 / 3) - 1)
    assert record.merge_time[0] == pytest.approx(0.3 / 3)  # A on one extra partition
    assert record.replication_factor[0] == pytest.approx(4 / 3)
    assert record.moved_keys[0] == 0
    assert record.batch_time[0] == pytest.approx(0.7) and record.latency[0] == pytest.approx(0.7)
    assert record.backlog[0] == 0 and record.deadline_miss[0] == 0
    # A's content F0 (4 copies) lands on both its partitions, B's F1 on 1, C's F0 on 2
    # where A already put it: partition 1 stores 100 + 50, partition 2 stores 100.
    assert record.stored_bytes[0] == pytest.approx(250)
    assert record.ideal_bytes[0] == pytest.approx(150)
    assert record.logical_bytes[0] == pytest.approx(4 * 100 + 2 * 50 + 100)
    assert record.dedup_ratio[0] == pytest.approx(600 / 250)
    assert record.dedup_efficiency[0] == pytest.approx(150 / 250)
    assert record.node_cost[0] == pytest.approx(2.0) and record.parallelism[0] == 3

    # batch 1: C (20 work) assigned to 0, A hashes to 0: C moved (from 2), A moved (from 1).
    record = world.step(world.hot_key_routing([[0, 0]]), hold)
    assert record.loads[0] == pytest.approx([21, 0, 0])
    assert record.moved_keys[0] == 2 and record.migration_time[0] == pytest.approx(2 * 0.15 / 3)
    assert record.merge_time[0] == 0 and record.imbalance[0] == pytest.approx(2.0)
    assert record.batch_time[0] == pytest.approx(2.2) and record.latency[0] == pytest.approx(2.2)
    assert record.deadline_miss[0] == 1 and record.lateness[0] == pytest.approx(0.7 / 1.5)
    assert record.backlog[0] == pytest.approx(1.2)
    assert record.stored_bytes[0] == pytest.approx(100 + 10)  # F0 new to partition 0, F2 new
    assert record.ideal_bytes[0] == pytest.approx(10)
    assert record.utilization[0] == pytest.approx(2.1 / (3 * 2.2))

    # batch 2: the backlog delays B's single tuple (0.1 s on partition 1).
    record = world.step(world.hot_key_routing([[1, 1]]), hold)
    assert record.latency[0] == pytest.approx(1.3) and record.backlog[0] == pytest.approx(0.3)
    assert record.deadline_miss[0] == 0 and record.stored_bytes[0] == 0
    assert world.truncated[0]


def test_tuple_routing_counts_replication_not_migration():
    world = hand_world(THREE_PARTITIONS, [[(A, 1, F0)] * 4 + [(B, 2, F1)] * 2] * 2)
    routing = TupleRouting(np.array([0, 1, 0, 1, 2, 2]))  # A dealt over 0 and 1, B on 2
    record = world.step(routing, world.hold_action())
    assert record.loads[0] == pytest.approx([2, 2, 4])
    assert record.replication_factor[0] == pytest.approx(3 / 2)
    assert record.merge_time[0] == pytest.approx(0.1) and record.moved_keys[0] == 0
    assert record.stored_bytes[0] == pytest.approx(100 + 100 + 50)


def test_routing_to_an_inactive_partition_is_refused():
    world = hand_world(THREE_PARTITIONS, [[(A, 1, F0)]] * 2)
    with pytest.raises(ValueError, match="not active"):
        world.step(TupleRouting(np.array([3])), world.hold_action())


MIXED = ClusterConfig(nodes=(NodeType(count=2, speed=10.0, price=1.0),
                             NodeType(count=2, speed=30.0, price=4.0)),
                      slots_per_node=2, initial_nodes=1, provisioning_delay=2)


def test_scaling_waits_for_provisioning_and_pays_from_the_request():
    world = hand_world(MIXED, [[(A, 1, F0)]] * 6)
    y = world.max_scale_step
    assert world.scheduler_action_sizes() == (2 * 3 + 1, 8)
    routing = lambda: world.hash_routing()  # noqa: E731
    world.step(routing(), [[y + 2, 5]])  # scale out by 2, ask for 6 partitions
    assert world.nodes.n_on[0] == 3 and world.nodes.n_ready[0] == 1
    assert world.n_active[0] == 2  # only the first node's 2 slots are ready
    record = world.step(routing(), [[y, 5]])
    assert record.node_cost[0] == pytest.approx(1 + 1 + 4)  # nodes 0, 1 (cheap), 2 (fast)
    assert world.n_active[0] == 2
    world.step(routing(), [[y, 5]])  # asked 3 steps ago with delay 2: ready now
    assert world.nodes.n_ready[0] == 3 and world.n_active[0] == 6
    speeds = world.nodes.partition_speed(world.n_active, world.max_partitions)[0]
    assert speeds.tolist() == [10, 10, 30, 10, 10, 30, 0, 0]  # round-robin over ready nodes
    world.step(routing(), [[0, 0]])  # scale in by 3 (to the minimum of 1 node), 1 partition
    assert world.nodes.n_on[0] == 1 and world.n_active[0] == 1
    world.step(routing(), [[2 * y, 7]])  # scale out by 3: clipped to the 4 nodes there are
    assert world.nodes.n_on[0] == 4


def test_target_actions_name_a_size_reached_at_most_y_nodes_a_step():
    world = hand_world(MIXED, [[(A, 1, F0)]] * 6,
                       scheduler=SchedulerConfig(action="target", max_scale_step=2))
    assert world.scheduler_action_sizes() == (4, 8)  # 1..4 nodes, 1..8 partitions
    assert world.hold_action().tolist() == [[0, 1]]  # 1 node on, 2 partitions
    world.step(world.hash_routing(), [[3, 7]])  # 4 nodes: +2 now (y = 2)
    assert world.nodes.n_on[0] == 3
    assert world.hold_action()[0, 0] == 2  # holding means naming the 3 nodes on
    world.step(world.hash_routing(), [[3, 7]])  # the last one
    assert world.nodes.n_on[0] == 4
    world.step(world.hash_routing(), [[0, 0]])  # down to 1 node: -2 a step
    assert world.nodes.n_on[0] == 2
    assert world.scale_choice(np.array([9])).tolist() == [3]  # beyond N: all 4 nodes


def test_tied_parallelism_follows_ready_slots():
    world = hand_world(MIXED, [[(A, 1, F0)]] * 4, scheduler=SchedulerConfig(parallelism="tied"))
    y = world.max_scale_step
    assert world.scheduler_action_sizes() == (7,)
    assert world.n_active[0] == 2
    for _ in range(3):
        world.step(world.hash_routing(), [[y + 1]] if _ == 0 else [[y]])
    assert world.n_active[0] == 4


def test_envs_are_independent():
    world = hand_world(THREE_PARTITIONS, [[(A, 1, F0)] * 2 + [(B, 1, F1)]] * 2, n_envs=2)
    record = world.step(world.hot_key_routing([[[0, 0]], [[2, 1]]]), world.hold_action())
    assert record.loads.tolist() == [[2, 1, 0], [0, 2, 1]]
    assert record.moved_keys.tolist() == [0, 0]
    # env 0: F0 on 0, F1 on 1; env 1: A's two copies of F0 on 2 and 1, F1 on 1
    assert record.stored_bytes.tolist() == [150, 250]


def test_load_ranks_place_hot_keys_where_the_work_is_least():
    # B and C are cold (hot_keys=1) and hash to partitions 1 and 2 (busy 0.4 s and
    # 0.3 s); A (5 work) is the hot key
    world = hand_world(THREE_PARTITIONS, [[(A, 1, F0)] * 5 + [(B, 2, F1)] * 2 + [(C, 3, F0)]] * 3,
                       choices="load_rank")
    hold = world.hold_action()
    # rank 1: the least busy partition, 0
    assert world.step(world.hot_key_routing([[1, 1]]), hold).loads[0].tolist() == [5, 4, 3]
    # rank 0: where A's state is (partition 0); rank 4 = 1 modulo 3 partitions: also 0
    assert world.step(world.hot_key_routing([[0, 4]]), hold).loads[0].tolist() == [5, 4, 3]
    # ranks 2 and 3: the second and third least busy, partitions 2 and 1: A is split
    record = world.step(world.hot_key_routing([[2, 3]]), hold)
    assert record.loads[0].tolist() == [0, 6.5, 5.5]
    assert record.moved_keys[0] == 1  # A's state follows its first choice, to partition 2


@pytest.mark.parametrize("partitions", [8, 16, 32, 64])
def test_fingerprint_stores_count_first_copies_in_every_word_size(partitions):
    """A fingerprint costs its bytes once per partition, and once to the ideal single
    store; the highest partition's bit (the sign bit of a 64-bit word) counts too."""
    stores = FingerprintStores(2, 5, partitions)
    top = partitions - 1
    result = stores.store(env=np.array([0, 0, 0, 1, 1]), fingerprint=np.array([3, 3, 3, 3, 4]),
                          partition=np.array([top, 0, top, top, top]),
                          chunk_bytes=np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    assert result.stored_bytes[0, [0, top]].tolist() == [20.0, 10.0]
    assert result.stored_bytes[1, top] == 90.0 and result.stored_bytes.sum() == 120.0
    assert result.ideal_bytes.tolist() == [10.0, 90.0]
    holders = stores.holders(np.array([0, 1, 1]), np.array([3, 3, 2]))
    assert [row.nonzero()[0].tolist() for row in holders] == [[0, top], [top], []]
