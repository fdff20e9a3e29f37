"""The simulator's side of ``marl-part deploy``: how an engine's router applies a
partitioner (a window late, PKG as decided, Flink's key groups), the windows it replays,
and bad input (no Flink needed)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from marl_part.cli import main
from marl_part.config import load_config
from marl_part.deploy.engine import PreviousWindow, flink_subtask
from marl_part.deploy.lag import lag_cost
from marl_part.deploy.windows import DEAL, KEY_GROUPS, KEYBY, LEAST_LOADED, replay
from marl_part.envs.simulation import Simulation
from marl_part.evaluation.evaluate import episode_seed
from marl_part.evaluation.policies import role_overrides


def config_for(write_config, partitioner: str, scheduler: str = "static", **extra):
    path = write_config(small_config(**extra))
    return load_config(path, role_overrides({"partitioner": partitioner,
                                             "scheduler": scheduler}))


def test_flink_subtask_is_flinks_key_group_arithmetic():
    # KeyGroupRangeAssignment.assignKeyToParallelOperator(Row.of(key), 128, 8), asked of
    # Flink 2.3.0's JVM (the flink tests run keyBy jobs against this function)
    keys = np.array([0, 1, 2, 3, 12345, 2**40 + 7])
    assert flink_subtask(keys, 8).tolist() == [2, 2, 6, 6, 5, 0]
    assert flink_subtask(keys, 1).tolist() == [0] * 6


def test_each_window_goes_by_the_decision_taken_on_the_one_before(write_config):
    config = config_for(write_config, "lpt:split=2")
    simulation = Simulation(config, 2, period="test", engine=PreviousWindow)
    simulation.reset(np.arange(2), [episode_seed(0, e) for e in range(2)])
    engine = simulation.engine
    carried = 0
    for _ in range(config.episode_length):
        decided = engine.partition.copy()
        hot_keys, hot_split = engine.hot_key.copy(), engine.hot_split.copy()
        simulation.step({})
        routed = engine.routed[-1]
        view, routing = routed.view, routed.routing
        before = decided[view.env, view.key]
        kept = before >= 0  # the static cluster keeps every partition active
        assert np.array_equal(routing.row_partition[kept], before[kept])
        carried += int(kept.sum())
        # the hot rows of the window are the last window's hot keys, split as decided
        valid = view.hot >= 0
        assert np.array_equal(view.key[view.hot[valid]], hot_keys[valid])
        assert np.array_equal(routing.hot_split[valid], hot_split[valid])
    assert carried > 0


def test_a_window_late_changes_nothing_for_a_stateless_hash(write_config):
    config = config_for(write_config, "hash")
    late = lag_cost(config, {})
    assert late.cost["mean"] == 0.0
    assert late.same_window == late.previous_window


def test_a_window_late_costs_a_greedy_placement(write_config):
    config = config_for(write_config, "lpt:split=2")
    late = lag_cost(config, {})
    assert late.episodes >= 2
    assert late.cost["mean"] != 0.0


@pytest.mark.parametrize("partitioner, rule", [("lpt:split=2", DEAL), ("pkg", LEAST_LOADED),
                                               ("hash", KEYBY)])
def test_replayed_windows_hold_their_tuples_and_tables(write_config, partitioner, rule):
    config = config_for(write_config, partitioner)
    replayed = replay(config, {}, 15, partitioner)
    assert replayed.rule == rule
    assert len(replayed.windows) == 15  # over two consecutive episodes of 12
    for window in replayed.windows:
        assert len(window.keys) == 200 == window.loads(replayed.parallelism).sum()
        assert window.subtask.max() < window.n_active
        # every tuple's subtask is one its key's table names
        assert all(s in window.table[k] for k, s in zip(window.keys.tolist(),
                                                        window.subtask.tolist()))
    splits = [k for w in replayed.windows for k, v in w.table.items() if len(v) > 1]
    assert bool(splits) == (rule != KEYBY)


@pytest.mark.parametrize("partitioner, rule", [("lpt:split=2", DEAL), ("hash", KEY_GROUPS)])
def test_windows_go_to_the_schedulers_active_subtasks(write_config, partitioner, rule):
    config = config_for(write_config, partitioner, "static:nodes=1")
    replayed = replay(config, {}, 6, partitioner)
    active = [w.n_active for w in replayed.windows]
    assert active[0] == 8 and min(active) == 4  # from 2 nodes to 1 (4 slots each)
    assert all(w.subtask.max() < w.n_active for w in replayed.windows)
    assert replayed.rule == rule
    if rule == KEY_GROUPS:  # keyBy's hash, but onto the active subtasks only
        for w in replayed.windows:
            assert np.array_equal(w.subtask, flink_subtask(w.keys, w.n_active))


@pytest.mark.parametrize("argv, message", [
    (["--policy", "scheduler=static"], "name the partitioner to deploy"),
    (["--policy", "partitioner=hash", "--batches", "0"], "--batches: give at least 1"),
    (["--policy", "partitioner=hash", "--compare", "nope"], "unknown partitioner 'nope'"),
    (["--policy", "partitioner=hash", "--engine", "spark"], "invalid choice: 'spark'"),
])
def test_bad_deploy_arguments_are_refused(write_config, capsys, argv, message):
    path = write_config(small_config())
    assert status(["deploy", str(path), *argv]) == 2
    assert message in capsys.readouterr().err


def status(argv: list[str]) -> int:
    """The exit status of ``marl-part ARGV`` (a usage error exits inside argparse)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code
