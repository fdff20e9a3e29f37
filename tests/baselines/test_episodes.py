"""Every baseline runs a full episode, several envs at once, in every scenario where
its role exists, on a key stream and on the backup chunk trace."""

from __future__ import annotations

import numpy as np
import pytest
from baseline_worlds import simulation
from conftest import CLOCK_SCHEDULERS, paced_override

from marl_part.baselines import BASELINES
from marl_part.sim.routing import TupleRouting

SCENARIOS = ("partition", "autoscale", "dedup_route", "partition_schedule")
DEDUP_ONLY = {"dedup_first", "dedup_min", "dedup_max"}  # need region features
N_ENVS, EPISODE = 3, 8


def cases():
    for scenario in SCENARIOS:
        configs = ("chunks.yaml",) if scenario == "dedup_route" else ("zipf.yaml", "chunks.yaml")
        for config in configs:
            for name in BASELINES["partitioner"]:
                if config == "chunks.yaml" or name not in DEDUP_ONLY:
                    yield scenario, config, name, "static"
            for name in BASELINES["scheduler"]:
                if name != "static":  # hash + static ran with the partitioners
                    yield scenario, config, "hash", name


def clock(config: str, scheduler: str) -> list[str]:
    """An override that paces the config's stream, where the scheduler follows a cycle."""
    tuples = 8 if config == "chunks.yaml" else 1000
    return [paced_override(tuples)] if scheduler in CLOCK_SCHEDULERS else []


def run_episode(scenario, config, partitioner, scheduler):
    sim = simulation(config, N_ENVS, [f"scenario={scenario}", f"episode_length={EPISODE}",
                                      *clock(config, scheduler)],
                     partitioner=partitioner, scheduler=scheduler)
    assert sim.agents == ()
    world, steps = sim.world, 0
    while True:
        outcome = sim.step({})  # the world rejects a routing to an inactive partition
        steps += 1
        for name, values in outcome.metrics.items():
            assert values.shape == (N_ENVS,) and np.isfinite(values).all(), name
        if outcome.truncated.all():
            break
    assert steps == EPISODE
    return world


@pytest.mark.parametrize("scenario, config, partitioner, scheduler", list(cases()))
def test_full_episode(scenario, config, partitioner, scheduler):
    run_episode(scenario, config, partitioner, scheduler)


@pytest.mark.parametrize("name", sorted(BASELINES["partitioner"]))
def test_a_partitioner_says_whether_it_routes_tuples(name):
    """``per_tuple`` is what the config checks a tail router by (``tail_stay`` needs keys)."""
    sim = simulation("chunks.yaml", N_ENVS, partitioner=name, scheduler="static")
    routing = sim.baselines["partitioner"].act()
    assert isinstance(routing, TupleRouting) == BASELINES["partitioner"][name].per_tuple


def test_schedulers_change_the_cluster_under_load():
    moved = {}
    for name in ("threshold", "ds2", "linear_regression"):
        world = run_episode("autoscale", "zipf.yaml", "hash", name)
        moved[name] = (world.nodes.n_on != world.cluster.initial_nodes).any()
    assert all(moved.values()), moved


@pytest.mark.parametrize("scheduler", sorted(BASELINES["scheduler"]))
def test_schedulers_with_parallelism_tied_to_the_nodes(scheduler):
    sim = simulation("zipf.yaml", N_ENVS, ["scheduler.parallelism=tied",
                                           f"episode_length={EPISODE}",
                                           *clock("zipf.yaml", scheduler)],
                     partitioner="pkg", scheduler=scheduler)
    world = sim.world
    for _ in range(EPISODE):
        sim.step({})
        assert (world.n_active == np.maximum(world.nodes.ready_slots(), 1)).all()
    assert sim.baselines["scheduler"].act().shape == (N_ENVS, 1)


@pytest.mark.parametrize("scheduler", sorted(BASELINES["scheduler"]))
def test_schedulers_size_the_cluster_alike_in_relative_and_target_actions(scheduler):
    nodes_on = {}
    for action in ("relative", "target"):
        sim = simulation("zipf.yaml", N_ENVS, [f"scheduler.action={action}",
                                               f"episode_length={EPISODE}",
                                               *clock("zipf.yaml", scheduler)],
                         partitioner="hash", scheduler=scheduler)
        nodes_on[action] = [sim.step({}).metrics["nodes_on"].tolist() for _ in range(EPISODE)]
    assert nodes_on["relative"] == nodes_on["target"]
    assert (len({n for step in nodes_on["target"] for n in step}) > 1) == (scheduler != "static")
