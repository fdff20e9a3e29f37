"""Baseline knobs: written NAME:knob=value,..., checked like every other key, and as
per-env arrays the same as one setting per run."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from marl_part.baselines import BASELINES, parse_policy
from marl_part.baselines.knobs import PolicySpec
from marl_part.cli import main
from marl_part.config import load_config
from marl_part.errors import InputError
from marl_part.evaluation.evaluate import Episodes, period_episodes, rollout
from marl_part.sim.settings import WorldSettings


def test_a_spec_names_typed_knobs_and_prints_back():
    spec = parse_policy("scheduler", "threshold:target=0.85, tolerance=0.05")
    assert spec == PolicySpec("threshold", {"target": 0.85, "tolerance": 0.05})
    assert str(spec) == "threshold:target=0.85,tolerance=0.05"
    nodes = parse_policy("scheduler", "static:nodes=6").knobs["nodes"]
    assert nodes == 6 and isinstance(nodes, int)
    assert parse_policy("partitioner", "pkg") == PolicySpec("pkg", {})


@pytest.mark.parametrize("role, spec, message", [
    ("scheduler", "threshold:targt=0.8", "'threshold' has no knob 'targt'; its knobs: target, "
                                         "tolerance, window"),
    ("scheduler", "threshold:target=3", "target=3 is outside [0.05, 1.5]"),
    ("scheduler", "threshold:window=2.5", "window=2.5: expected an integer"),
    ("scheduler", "threshold:target=high", "target=high: expected a number"),
    ("scheduler", "threshold:target", "write knobs as threshold:knob=value,knob=value"),
    ("scheduler", "threshold:target=0.8,target=0.9", "knob 'target' given twice"),
    ("scheduler", "static:nodes=0", "nodes=0 is outside [1, the cluster's node count]"),
    ("partitioner", "pkg:d=3", "'pkg' has no knob 'd'; its knobs: none"),
    ("partitioner", "dalton:epsilon=1.5", "epsilon=1.5 is outside [0, 1]"),
])
def test_bad_specs_name_the_knob_and_its_range(role, spec, message):
    with pytest.raises(InputError) as error:
        parse_policy(role, spec)
    assert message in str(error.value)


def test_a_range_that_depends_on_the_cluster_is_checked_against_it():
    settings = WorldSettings()  # 8 nodes
    assert parse_policy("scheduler", "static:nodes=8", settings).knobs == {"nodes": 8}
    with pytest.raises(InputError, match=r"nodes=9 is outside \[1, 8\]"):
        parse_policy("scheduler", "static:nodes=9", settings)


def test_every_knob_is_documented_with_a_default_and_grid_in_range():
    settings = WorldSettings()
    for role, classes in BASELINES.items():
        for name, cls in classes.items():
            for knob in cls.knobs:
                assert f"``{knob.name}``: {knob.kind.__name__} in [" in cls.__doc__, (name, knob)
                low, high = knob.bounds(settings)
                grid = knob.grid_for(settings)
                assert low <= knob.default_for(settings) <= high, (name, knob.name)
                assert knob.default_for(settings) in grid and len(grid) >= 2, (name, knob.name)
                assert all(low <= v <= high for v in grid), (name, knob.name)


@pytest.mark.parametrize("change, fragment", [
    ({"roles": {"scheduler": "threshold:target=3"}},
     "key 'roles': scheduler: target=3 is outside [0.05, 1.5]"),
    ({"roles": {"scheduler": "static:nodes=5"}},  # small_config has 4 nodes
     "key 'roles': scheduler: nodes=5 is outside [1, 4]"),
    ({"train": {"compare_with": [{"partitioner": "pkg", "scheduler": "ds2:headroom=9"}]}},
     "key 'train.compare_with': [0] scheduler: headroom=9 is outside [0.25, 4]"),
    ({"train": {"compare_with": [{"scheduler": "static:nodes=7"}]}},
     "key 'train': compare_with[0] scheduler: nodes=7 is outside [1, 4]"),
    ({"tune": {"grid": {"threshold": {"tolerance": [0.1, 0.9]}}}},
     "key 'tune.grid': threshold: tolerance=0.9 is outside [0, 0.5]"),
    ({"tune": {"grid": {"thresh": {"tolerance": [0.1]}}}},
     "key 'tune.grid': unknown baseline 'thresh'; valid: one of: hash"),
])
def test_bad_knobs_in_a_config_exit_2_with_file_line_key_and_range(change, fragment,
                                                                  write_config, capsys):
    path = write_config({**small_config(), **change})
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and fragment in err and len(err.strip().splitlines()) == 1


def test_policy_knobs_on_the_command_line(write_config, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write_config(small_config())
    assert main(["eval", str(path), "--policy", "partitioner=hash", "--policy",
                 "scheduler=static:nodes=3", "--episodes", "1",
                 "--seeds", "1"]) == 0
    assert "scheduler=static:nodes=3" in capsys.readouterr().out
    assert main(["eval", str(path), "--policy", "scheduler=threshold:tolerance=-1"]) == 2
    assert "--policy scheduler=threshold:tolerance=-1: tolerance=-1 is outside [0, 0.5]" in \
        capsys.readouterr().err


@pytest.mark.parametrize("nodes", [1, 3])
def test_a_static_cluster_starts_where_every_scheduler_does_then_holds_its_size(nodes,
                                                                               write_config):
    config = load_config(write_config(small_config(roles={"partitioner": "hash",
                                                          "scheduler": f"static:nodes={nodes}"})))
    run = rollout(config, {}, period_episodes(config, "test", 1, 1))
    assert run.metrics["nodes_on"][0] == 2  # cluster.initial_nodes, as for any scheduler
    # asked for at the first decision: fewer nodes at once, more once provisioned
    settled = 1 if nodes < 2 else 1 + 1 + config.cluster.provisioning_delay
    assert (run.metrics["nodes_on"][1:] == nodes).all()
    assert (run.metrics["parallelism"][settled:] == 4 * nodes).all()  # 4 slots each


@pytest.mark.parametrize("partitioner, scheduler, knobs", [
    ("w_choices", "threshold", {"partitioner": {"head_threshold": [0.05, 1.0, 0.2]},
                                "scheduler": {"target": [0.5, 1.0, 0.7],
                                              "window": [1, 10, 4]}}),
    ("d_choices", "linear_regression", {"partitioner": {"epsilon": [1e-4, 1e-2, 0.1]},
                                        "scheduler": {"history": [3, 20, 5],
                                                      "horizon": [1, 4, 2]}}),
    ("dalton", "ds2", {"partitioner": {"epsilon": [0.0, 0.3, 0.1],
                                       "initial_value": [0.0, -2.0, 1.0]},
                       "scheduler": {"headroom": [0.8, 1.5, 1.0]}}),
    ("consistent_hash", "static", {"partitioner": {"virtual_nodes": [8, 64, 200]},
                                   "scheduler": {"nodes": [1, 4, 2]}}),
    ("dagreedy", "static", {"partitioner": {"hot_fraction": [0.01, 1.0, 0.3],
                                            "affinity_weight": [0.1, 0.9, 0.5]},
                            "scheduler": {"nodes": [2, 3, 4]}}),
    ("flexd", "static", {"partitioner": {"hot_share": [0.005, 0.2, 0.05], "growth": [1.05, 2, 1.1],
                                         "refresh_batches": [2, 5, 20]},
                         "scheduler": {"nodes": [4, 2, 3]}}),
])
def test_knobs_per_env_run_exactly_as_one_setting_per_run(partitioner, scheduler, knobs,
                                                          write_config):
    config = load_config(write_config(small_config(roles={"partitioner": partitioner,
                                                          "scheduler": scheduler})))
    episodes = period_episodes(config, "test", 3, 1)
    together = rollout(config, {}, episodes,
                       {role: {k: np.array(v) for k, v in values.items()}
                        for role, values in knobs.items()})
    for env in range(3):
        roles = {role: f"{name}:" + ",".join(f"{k}={v[env]}" for k, v in knobs[role].items())
                 for role, name in (("partitioner", partitioner), ("scheduler", scheduler))}
        one = Episodes("test", episodes.starts[env:env + 1], episodes.seeds[env:env + 1],
                       np.zeros(1, dtype=np.int64))
        alone = rollout(load_config(write_config(small_config(roles=roles), "alone.yaml")), {},
                        one)
        assert np.abs(together.reward[:, env] - alone.reward[:, 0]).max() < 1e-12, (env, roles)
