"""Threshold (HPA), DS2 and the linear-regression scaler, with numbers."""

from __future__ import annotations

import numpy as np
import pytest
from baseline_worlds import tiny_world

from marl_part.baselines.schedulers import DS2, LinearRegression, Threshold, predict_linear


def world_after_a_batch(nodes_on=4, max_nodes=8, slots=1, **kwargs):
    world = tiny_world(np.zeros(40, dtype=np.int64), batch_size=4, partitions=nodes_on * slots,
                       max_partitions=max_nodes * slots, slots_per_node=slots,
                       nodes_on=nodes_on, **kwargs)
    world.t[:] = 1  # as if a batch had run; tests set world.last by hand
    return world


def measured(world, times, loads=None, work=0.0):
    last = world.last
    last.times[0, :] = 0.0
    last.times[0, :len(times)] = times
    last.loads[0, :] = 0.0
    last.loads[0, :len(times)] = times if loads is None else loads
    last.nodes_ready[0] = world.nodes.n_ready[0]
    last.work[0] = work


def target_nodes(world, action):
    return int(world.nodes.n_on[0] + action[0, 0] - world.max_scale_step)


def test_hpa_rule_and_tolerance():
    world = world_after_a_batch(nodes_on=4)
    hpa = Threshold(world, target=0.5, tolerance=0.1, window=3)
    hpa.reset(np.arange(1), [None])
    measured(world, [0.53] * 4)  # utilization 0.53: ratio 1.06, within 10%: hold
    assert target_nodes(world, hpa.act()) == 4
    measured(world, [0.6] * 4)  # ratio 1.2 -> ceil(4 * 1.2) = 5, scale-up at once
    action = hpa.act()
    assert target_nodes(world, action) == 5 and action[0, 1] + 1 == 5  # every slot
    measured(world, [1.5] * 4)  # overloaded batch: 1.5 / 0.5 = 3 -> 12, capped at 8
    assert target_nodes(world, hpa.act()) == 8


def test_hpa_scale_down_waits_for_the_stabilization_window():
    world = world_after_a_batch(nodes_on=4)
    hpa = Threshold(world, target=0.5, tolerance=0.1, window=3)
    hpa.reset(np.arange(1), [None])
    targets = []
    for _ in range(4):
        measured(world, [0.25] * 4)  # ratio 0.5 -> recommendation ceil(4 * 0.5) = 2
        targets.append(target_nodes(world, hpa.act()))
    # the window starts full of the initial 4; the highest of the last 3 decides
    assert targets == [4, 4, 2, 2]


def test_hpa_holds_before_any_measurement():
    world = world_after_a_batch(nodes_on=4)
    world.t[:] = 0
    hpa = Threshold(world)
    hpa.reset(np.arange(1), [None])
    assert (hpa.act() == world.hold_action()).all()


def test_ds2_parallelism_is_input_rate_over_true_rate():
    world = world_after_a_batch(nodes_on=2, max_nodes=8, slots=2)
    # 1,000 work processed in 3 busy seconds: true rate 333.3 per instance; 2,100
    # arrived in a 1 s interval: ceil(2100 / 333.3) = ceil(6.3) = 7 instances, 4 nodes
    measured(world, [1.0, 1.0, 0.5, 0.5], loads=[300, 300, 200, 200], work=2100.0)
    action = DS2(world).act()
    assert action[0, 1] + 1 == 7
    assert target_nodes(world, action) == 4


def test_ds2_caps_at_the_cluster_and_holds_at_the_start():
    world = world_after_a_batch(nodes_on=2, max_nodes=3, slots=2)
    measured(world, [1.0], loads=[100], work=10_000.0)
    action = DS2(world).act()
    assert action[0, 1] + 1 == 6 and target_nodes(world, action) == 3
    world.t[:] = 0
    assert (DS2(world).act() == world.hold_action()).all()


def test_linear_prediction():
    series = np.array([[0.0, 0.0, 100.0, 200.0, 300.0], [5.0, 5.0, 5.0, 5.0, 5.0]])
    assert predict_linear(series, np.array([3, 5]), 1) == pytest.approx([400.0, 5.0])
    assert predict_linear(series, np.array([3, 1]), 2) == pytest.approx([500.0, 5.0])


def test_linear_regression_sizes_nodes_for_the_predicted_batch():
    # batches of work 100, 200, 300, 400: after three, it predicts 400 for the next
    # batch (no provisioning delay); nodes of 100 work/s: 4 nodes for a 1 s interval
    work = np.repeat([100.0, 200.0, 300.0, 400.0], 4) / 4
    world = tiny_world(np.zeros(16, dtype=np.int64), batch_size=4, partitions=8,
                       max_partitions=8, work=work, speed=100.0)
    scaler = LinearRegression(world)
    scaler.reset(np.arange(1), [None])
    assert (scaler.act() == world.hold_action()).all()  # t = 0: nothing measured yet
    world.step(world.hash_routing(), world.hold_action())
    scaler.act()
    world.step(world.hash_routing(), world.hold_action())
    action = scaler.act()
    assert world.backlog[0] <= 1.0  # budget = min(interval 1 s, deadline 2 s - backlog) = 1 s
    assert target_nodes(world, action) == 4 and action[0, 1] + 1 == 4
