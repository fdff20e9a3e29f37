"""A simulation's state, captured and restored into a fresh one, continues exactly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CLOCK_SCHEDULERS, paced_batch, small_config

from marl_part import snapshot
from marl_part.baselines import BASELINES
from marl_part.config import load_config
from marl_part.envs.simulation import Simulation
from marl_part.snapshot import SnapshotError

N_ENVS = 3
DEDUP_ROUTERS = ("dedup_first", "dedup_min", "dedup_max", "dedup_stateful", "dedup_q",
                 "dedup_q_plain")


def _step(simulation: Simulation, rng: np.random.Generator):
    """One step with random agent actions; finished episodes start over."""
    actions = {agent: rng.integers(0, simulation.action_nvec(agent),
                                   size=(N_ENVS, len(simulation.action_nvec(agent))))
               for agent in simulation.agents}
    outcome = simulation.step(actions)
    done = np.flatnonzero(outcome.truncated)
    if len(done):
        simulation.reset(done, [None] * len(done))
    return outcome


def _pair(config, seeds=(11, 12)):
    """Two simulations of ``config``, seeded differently."""
    simulations = []
    for seed in seeds:
        simulation = Simulation(config, N_ENVS)
        simulation.reset(np.arange(N_ENVS), [seed * 100 + i for i in range(N_ENVS)])
        simulations.append(simulation)
    return simulations


def _assert_same_future(a: Simulation, b: Simulation, steps: int) -> None:
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    for _ in range(steps):
        out_a, out_b = _step(a, rng_a), _step(b, rng_b)
        assert np.array_equal(out_a.reward, out_b.reward)
        for name in out_a.metrics:
            assert np.array_equal(out_a.metrics[name], out_b.metrics[name]), name
        observations_b = b.observations()
        for agent, observation in a.observations().items():
            assert np.array_equal(observation, observations_b[agent])


def _cases():
    cases = [(scenario, {}) for scenario in ("partition", "partition_schedule", "autoscale",
                                              "dedup_route")]
    cases += [("dedup_route", {"partitioner": name}) for name in DEDUP_ROUTERS]
    cases += [("partition_schedule", {"partitioner": name, "scheduler": "learn"})
              for name in BASELINES["partitioner"] if name not in DEDUP_ROUTERS]
    cases += [("partition_schedule", {"partitioner": "learn", "scheduler": name})
              for name in BASELINES["scheduler"]]
    return cases


@pytest.mark.parametrize("scenario, roles", _cases(),
                         ids=lambda c: c if isinstance(c, str) else "-".join(c.values()))
def test_a_restored_simulation_continues_exactly(scenario, roles, write_config):
    """Every scenario and every baseline: 2.5 episodes in, the state is captured and
    written into a simulation seeded otherwise; both then step (and reset episodes)
    identically."""
    config = small_config(scenario, roles=roles)
    if roles.get("scheduler") in CLOCK_SCHEDULERS:
        config["workload"]["batch"] = paced_batch(200)
    config = load_config(write_config(config))
    original, fresh = _pair(config)
    rng = np.random.default_rng(0)
    for _ in range(int(2.5 * config.episode_length)):
        _step(original, rng)
    assert not np.array_equal(original.world.t, fresh.world.t)
    snapshot.restore(fresh, snapshot.capture(original))
    _assert_same_future(original, fresh, 2 * config.episode_length)


class Tracker:
    """What another engineer might add to the world: a new object holding arrays."""

    def __init__(self, n_envs: int):
        self.seen = np.zeros(n_envs)
        self.history = [np.zeros(2)]
        self.rng = np.random.default_rng(0)


def test_attributes_added_later_are_captured_and_aliases_stay_one(write_config):
    config = load_config(write_config(small_config()))
    original, fresh = _pair(config)
    for simulation in (original, fresh):  # as a constructor would add them
        simulation.world.extra = np.zeros(N_ENVS, dtype=np.int32)
        simulation.world.tracker = Tracker(N_ENVS)
        simulation.world.tracker.same_extra = simulation.world.extra
    original.world.extra += 7
    original.world.tracker.seen[1] = 2.5
    original.world.tracker.history.append(np.ones(3))
    draws = original.world.tracker.rng.random(3)
    record = snapshot.capture(original)
    original.world.extra += 1  # the record is a copy, not a view of the state

    snapshot.restore(fresh, record)
    world = fresh.world
    assert world.extra.tolist() == [7] * N_ENVS and world.extra.dtype == np.int32
    assert world.tracker.same_extra is world.extra  # one array again, reached two ways
    assert world.tracker.seen.tolist() == [0.0, 2.5, 0.0]
    assert [h.tolist() for h in world.tracker.history] == [[0.0, 0.0], [1.0, 1.0, 1.0]]
    assert world.tracker.rng.random(3).tolist() == original.world.tracker.rng.random(3).tolist()
    assert not np.array_equal(draws, world.tracker.rng.random(3))
    for baseline in fresh.baselines.values():
        assert baseline.world is world  # the baselines still act on the restored world


def test_env_seed_sequences_continue_where_they_were(write_config):
    config = load_config(write_config(small_config()))
    original, fresh = _pair(config)
    original.reset(np.arange(N_ENVS), [None] * N_ENVS)  # each reset spawns 2 children
    snapshot.restore(fresh, snapshot.capture(original))
    for env, (ours, theirs) in enumerate(zip(fresh._seed_sequences, original._seed_sequences)):
        assert (ours.entropy, ours.n_children_spawned) == (1100 + env, 4)
        assert ours.entropy == theirs.entropy
    fresh.reset(np.arange(N_ENVS), [None] * N_ENVS)
    original.reset(np.arange(N_ENVS), [None] * N_ENVS)
    assert np.array_equal(fresh.world.cursor, original.world.cursor)


def test_arrays_that_share_memory_are_refused(write_config):
    config = load_config(write_config(small_config()))
    simulation, _ = _pair(config)
    simulation.world.head = simulation.world.backlog[:2]
    with pytest.raises(SnapshotError, match=r"world.head is a view of .*world.backlog"):
        snapshot.capture(simulation)


def test_a_record_of_another_shape_of_world_is_refused(write_config):
    config = load_config(write_config(small_config()))
    simulation, other = _pair(config)
    other.world.nodes = None
    with pytest.raises(SnapshotError, match=r"world.nodes: holds a NoneType, the snapshot a Nodes"):
        snapshot.restore(other, snapshot.capture(simulation))
