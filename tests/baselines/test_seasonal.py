"""The scheduled (cron) scaler and the predictive hybrid: schedules from the training
period only, held ahead of the provisioning delay."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))
from conftest import small_config  # noqa: E402
from test_periods import PATTERN, config_of, paced  # noqa: E402

from marl_part.baselines.seasonal import Predictive, Scheduled  # noqa: E402
from marl_part.envs.simulation import Simulation  # noqa: E402
from marl_part.errors import InputError  # noqa: E402

PERIODS = {"validation": 24, "test": 36}
# the cluster of small_config: nodes of 40 and 80 work units a slot, 4 slots: 160, 160,
# 320, 320 work a batch interval, so 1, 2, 3 and 4 nodes process 160, 320, 640, 960


def scheduler(write_config, counts, spec="scheduled", name="config.yaml"):
    config = config_of(write_config, paced(counts[0], counts[1], PERIODS, tuples=100),
                       name, roles={"scheduler": spec})
    simulation = Simulation(config, 1, period="test")
    simulation.reset(np.arange(1), [0])
    return simulation.baselines["scheduler"], simulation.world


def test_the_schedule_is_a_quantile_of_each_phase_of_the_training_period(tmp_path,
                                                                         write_config):
    # training hours vary by phase and by cycle; validation and test hold other loads
    training = [c * (1 + (i // 4) % 3) for i, c in enumerate(PATTERN * 6)]
    counts = training + [5] * 24
    scaled, world = scheduler(write_config, (tmp_path, counts),
                              "scheduled:quantile=0.5,headroom=1.0")
    work = world.batches.batch_work[:24].reshape(6, 4)  # (cycle, phase)
    assert scaled.planned_work[0] == pytest.approx(np.median(work, axis=0))
    # a stormy validation and test period changes nothing of the schedule
    stormy, _ = scheduler(write_config, (tmp_path, training + [400] * 12 + [1] * 12),
                          "scheduled:quantile=0.5,headroom=1.0", "stormy.yaml")
    assert np.array_equal(stormy.planned_work, scaled.planned_work)


def test_the_count_covers_the_next_lead_batches_and_the_floor(tmp_path, write_config):
    # training work per phase: 40, 160, 80, 120 (100 tuples a batch on average)
    scaled, world = scheduler(write_config, (tmp_path, PATTERN * 12))
    assert scaled.planned_work[0] == pytest.approx([40, 160, 80, 120])
    world.cursor[:] = 36  # phase 0 now; phases 1 and 2 come next
    cases = [("lead=1,headroom=1", 1), ("lead=2,headroom=1", 1), ("lead=1,headroom=2.5", 3),
             ("lead=3,headroom=2.5", 3), ("lead=1,headroom=1,floor=3", 3)]
    for knobs, nodes in cases:  # 160 x 2.5 = 400 needs 3 nodes; 160 x 1 fits one
        planned = Scheduled(world, **dict(_knob(k) for k in knobs.split(",")))
        assert planned.scheduled_nodes().tolist() == [nodes], knobs
    world.cursor[:] = 38  # phase 2: next come phases 3 and 0
    assert Scheduled(world, lead=1, headroom=3.0).scheduled_nodes().tolist() == [3]  # 360
    assert Scheduled(world, lead=2, headroom=3.0).scheduled_nodes().tolist() == [3]
    world.cursor[:] = 39  # phase 3: next come phases 0 and 1
    assert Scheduled(world, lead=1, headroom=3.0).scheduled_nodes().tolist() == [1]  # 120
    assert Scheduled(world, lead=2, headroom=3.0).scheduled_nodes().tolist() == [3]  # 480
    assert Scheduled(world, lead=2, headroom=4.0).scheduled_nodes().tolist() == [3]  # 640
    assert Scheduled(world, lead=2, headroom=4.1).scheduled_nodes().tolist() == [4]


def test_predictive_takes_the_larger_of_the_schedule_and_the_arrived_load(tmp_path,
                                                                          write_config):
    _, world = scheduler(write_config, (tmp_path, PATTERN * 6 + [50] * 24))
    world.cursor[:] = 39  # phase 3 arrived with 200 tuples; phase 0 (40) comes next
    calm = Predictive(world, lead=1, headroom=1.0, reactive_headroom=1.0)
    assert world.batches.batch_work[39] == 200
    target = world.nodes.n_on + calm.act()[0, 0] - world.max_scale_step
    assert target.tolist() == [2]  # 200 needs 2 nodes, the schedule's 40 one
    assert calm.scheduled_nodes().tolist() == [1]


def test_a_clock_scheduler_needs_a_cycle(write_config):
    config = {**small_config("autoscale"), "roles": {"scheduler": "scheduled"}}
    with pytest.raises(InputError, match="'scheduled' follows the cycle of the workload's "
                                         "rate profile; this workload has none"):
        config_of(write_config, config["workload"], roles={"scheduler": "scheduled"})


def _knob(text):
    name, value = text.split("=")
    return name, float(value) if "." in value else int(value)
