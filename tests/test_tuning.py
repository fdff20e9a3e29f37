"""Tuning baseline pairs on the validation period, scoring them on the test period,
and the oracle static."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import small_config

from marl_part.cli import main
from marl_part.config import TuneSettings, load_config
from marl_part.evaluation.evaluate import episode_seed, evaluate
from marl_part.evaluation.tuning import (
    best_row,
    classical_bar,
    oracle_static,
    tune_pair,
    tuning_seed,
    with_pair,
)
from marl_part.experiments.grid import run_grid
from marl_part.sim.world import World


def one_node_stream() -> dict:
    """An autoscale config whose stream needs most of its 6 nodes, starting with 1:
    training batches [0, 120), validation [120, 210), test [210, 300), three episodes
    in each of the last two."""
    return {**small_config("autoscale"), "episode_length": 30,
            "workload": {"source": "zipf", "keys": 200, "exponent": 0.5, "rate": 250,
                         "seconds": 300, "rate_curve": [0.6, 1.0, 0.8],
                         "periods": {"validation": 120, "test": 210}},
            "cluster": {"nodes": [{"count": 6, "speed": 30.0}], "slots_per_node": 2,
                        "initial_nodes": 1, "provisioning_delay": 1},
            "roles": {"partitioner": "hash"}, "scheduler": {"parallelism": "tied"}}


@pytest.fixture
def config(write_config):
    return load_config(write_config(one_node_stream()))


def states(seeds) -> set[tuple[int, ...]]:
    return {tuple(s.generate_state(4)) for s in seeds}


def test_tuning_picks_a_strictly_better_setting_and_scores_it_on_unseen_episodes(
        config, monkeypatch):
    seen = []  # (period, batch) of every micro-batch the searches process
    real_step = World.step

    def recording_step(world, routing, schedule):
        seen.extend((world.period, int(batch)) for batch in world.cursor)
        return real_step(world, routing, schedule)

    monkeypatch.setattr(World, "step", recording_step)
    pairs = ({"scheduler": "static"}, {"scheduler": "ds2"})
    for pair in pairs:
        tune_pair(config, pair, TuneSettings(episodes=None))
    assert {period for period, _ in seen} == {"validation"}
    assert {batch for _, batch in seen} == set(range(120, 210))  # all of it, nothing else
    monkeypatch.undo()

    rows = classical_bar(config, pairs, TuneSettings(episodes=None), episodes=None, seeds=1,
                         log=lambda _: None)
    assert [row.kind for row in rows] == ["default", "tuned", "default", "tuned", "oracle",
                                          "hindsight"]
    static, static_tuned, ds2, ds2_tuned, oracle, planned = rows
    # the hindsight plan changes the size batch by batch: no fixed size does better
    assert planned.result.team_reward["mean"] >= oracle.result.team_reward["mean"]
    assert planned.pair == {"partitioner": "hash", "scheduler": "hindsight plan"}
    # the default (1 node; DS2 at the observed rate) is beaten on the validation episodes
    assert static_tuned.pair == {"scheduler": "static:nodes=6"}
    assert ds2_tuned.pair["scheduler"].startswith("ds2:headroom=")
    for row in (static_tuned, ds2_tuned):
        assert row.tuning.tuned_score["mean"] > row.tuning.default_score["mean"]
        assert not row.tuning.kept_default
    # ... and on the 3 episodes of the test period, which the searches never ran
    assert static_tuned.result.episodes == 3 and static_tuned.result.period == "test"
    assert static_tuned.result.team_reward["mean"] > static.result.team_reward["mean"] + 50
    assert ds2_tuned.result.team_reward["mean"] > ds2.result.team_reward["mean"]
    # the tuned row is the same evaluation as `eval` of the tuned spec
    again = evaluate(with_pair(config, static_tuned.pair), {}, None, 1)
    assert again.team_reward == static_tuned.result.team_reward


def test_tuning_seeds_are_a_pool_apart_from_every_evaluation_seed():
    tuning_states = states(tuning_seed(e) for e in range(100))
    evaluation_states = states(episode_seed(s, e) for s in range(20) for e in range(100))
    assert len(tuning_states) == 100 and not tuning_states & evaluation_states


def test_a_default_nothing_beats_is_kept(config):
    result = tune_pair(config, {"scheduler": "static:nodes=6"}, TuneSettings(episodes=2))
    assert result.axes == [] and result.method == "none" and result.tuned == result.pair
    fixed = tune_pair(config, {"scheduler": "threshold:target=0.7,tolerance=0.1,window=10"},
                      TuneSettings(episodes=2))
    assert fixed.axes == [] and fixed.kept_default


def test_knobs_given_in_a_spec_stay_fixed_and_a_grid_can_be_given(config):
    settings = TuneSettings(episodes=2, grid={"threshold": {"target": (0.4, 0.95)}})
    result = tune_pair(config, {"scheduler": "threshold:window=3"}, settings)
    assert [a.label for a in result.axes] == ["threshold.target", "threshold.tolerance"]
    assert result.axes[0].values == (0.4, 0.7, 0.95)  # the default is always tried
    assert result.settings_scored == 3 * 3 and result.method == "grid"
    assert "window=3" in result.tuned["scheduler"]


def test_a_grid_larger_than_max_settings_is_searched_a_knob_at_a_time(config):
    settings = TuneSettings(episodes=2, max_settings=10)
    result = tune_pair(config, {"scheduler": "linear_regression"}, settings)
    sizes = [len(a.values) for a in result.axes]
    assert result.method == "coordinate" and np.prod(sizes) > 10
    # each sweep scores every value of every knob once (repeats are cached), at most 3 sweeps
    assert sum(sizes) - len(sizes) < result.settings_scored <= 3 * sum(sizes)
    assert result.tuned_score["mean"] >= result.default_score["mean"]


def test_the_oracle_static_is_the_best_size_on_the_evaluation_episodes(config):
    oracle = oracle_static(config, None, episodes=2, seeds=2)
    by_size = {n: evaluate(with_pair(config, {"scheduler": f"static:nodes={n}"}), {}, 2, 2)
               for n in range(1, 7)}
    for n, result in by_size.items():
        assert oracle.by_size[n] == pytest.approx(result.team_reward["mean"], rel=1e-12)
    best = max(by_size, key=lambda n: by_size[n].team_reward["mean"])
    assert oracle.nodes == best and oracle.pair == {"scheduler": f"static:nodes={best}"}
    assert 1 < best <= 6


def test_the_oracle_sizes_every_partitioner_of_the_tuned_pairs_and_keeps_the_best(config):
    """Hash on a well-sized static cluster is the best tuned pair, shuffle being listed
    only on 2 nodes; shuffle sized in hindsight beats both."""
    pairs = ({"partitioner": "hash", "scheduler": "static"},
             {"partitioner": "shuffle", "scheduler": "static:nodes=2"})
    rows = classical_bar(config, pairs, TuneSettings(episodes=2), episodes=2, seeds=1,
                         log=lambda _: None)
    assert best_row(rows).pair["partitioner"] == "hash"
    shuffle = oracle_static(config, "shuffle", episodes=2, seeds=1)
    assert shuffle.by_size[shuffle.nodes] > oracle_static(config, "hash", 2, 1).by_size[6]
    assert [row.kind for row in rows][-2:] == ["oracle", "hindsight"]
    oracle, planned = rows[-2:]
    assert oracle.pair == shuffle.pair
    assert oracle.result.team_reward["mean"] == pytest.approx(shuffle.by_size[shuffle.nodes])
    # planned in hindsight with each partitioner too, the best kept
    assert planned.pair["partitioner"] == "shuffle"
    assert planned.result.team_reward["mean"] >= oracle.result.team_reward["mean"]


def test_no_oracle_where_the_scheduler_is_no_part_of_the_task(write_config):
    config = load_config(write_config(small_config("partition", roles={"partitioner": "hash"})))
    assert oracle_static(config, "hash", episodes=1, seeds=1) is None


def test_tune_writes_its_table_and_json(write_config, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write_config({**one_node_stream(),
                         "train": {"final_episodes": 2, "final_seeds": 2},
                         "tune": {"episodes": 2, "pairs": [{"scheduler": "static"}]}})
    assert main(["tune", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| partitioner=hash + scheduler=static:nodes=6 | tuned |" in out
    assert "Best classical pair (tuned): scheduler=static:nodes=6 (tuned)" in out
    (run_dir,) = (tmp_path / "runs").iterdir()
    data = json.loads((run_dir / "tune.json").read_text())
    assert [row["kind"] for row in data["rows"]] == ["default", "tuned", "oracle", "hindsight"]
    assert data["rows"][1]["tuning"]["searched"] == {"static.nodes": [1, 2, 3, 4, 5, 6]}
    assert data["best"] == {"scheduler": "static:nodes=6"}
    assert (run_dir / "tune.md").read_text() in out


def test_tune_needs_pairs(write_config, capsys):
    assert main(["tune", str(write_config(one_node_stream()))]) == 2
    assert "no pairs to tune: list them under tune.pairs" in capsys.readouterr().err


def test_a_tuned_grid_entry_shows_each_row_for_what_it_is(write_config, tmp_path):
    config = write_config({**one_node_stream(), "tune": {"episodes": 2}})
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({
        "episodes": 2, "seeds": 2, "columns": ["team_reward", "nodes_on"],
        "entries": [{"name": "stream", "config": config.name, "tune": True,
                     "pairs": [{"scheduler": "static"}, {"scheduler": "ds2"}]}]}))
    out = tmp_path / "out"
    out.mkdir()
    rows = run_grid(grid, out, log=lambda _: None)
    assert [row.kind for row in rows] == ["default", "tuned", "default", "tuned", "oracle",
                                          "hindsight"]
    assert rows[1].pair["scheduler"] == "static:nodes=6"
    # from 1 node (cluster.initial_nodes) to 6 at the first decision, of 30 batches
    assert rows[1].values["nodes_on"]["mean"] == pytest.approx((1 + 29 * 6) / 30)
    table = (out / "grid.md").read_text().splitlines()
    assert table[2] == "| partitioner | scheduler | team_reward | nodes_on | row |"
    assert table[5].startswith("| hash | static:nodes=6 | ") and table[5].endswith("| tuned |")
    assert table[8].endswith("| oracle |") and table[9].endswith("| hindsight |")
    assert "*tuned*: each pair's knobs searched on 2 episodes of the validation period" \
        in table[11]
    assert "static.nodes {1, 2, 3, 4, 5, 6}" in table[11]
    assert table[13].startswith("*oracle*: the static size with the best mean team reward")
    assert table[15].startswith("*hindsight*: not a policy: per scored episode, a dynamic")
    assert "*bound*: no policy pair can score more than" in table[15]
