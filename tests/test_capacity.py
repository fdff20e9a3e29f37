"""Maximum sustainable throughput, whole-trace objectives, and comparison grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import WORKLOADS, small_config
from scipy import stats

from marl_part import typed_yaml
from marl_part.config import load_config
from marl_part.evaluation.capacity import (
    bisect_rates,
    max_sustainable_throughput,
    whole_trace_objectives,
)
from marl_part.evaluation.evaluate import Episodes, period_episodes
from marl_part.evaluation.policies import role_overrides
from marl_part.experiments.grid import Grid, run_grid

GRIDS = sorted((Path(__file__).parent.parent / "configs" / "grids").glob("*.yaml"))


def zipf_partition(exponent: float) -> dict:
    """8 partitions of speed 100 (capacity 800 tuples/s); 400 tuples/s of Zipf keys."""
    return {**small_config("partition"), "episode_length": 30,
            "roles": {"partitioner": "hash"},
            "workload": {"source": "zipf", "keys": 5000, "exponent": exponent, "rate": 400,
                         "seconds": 60},
            "cluster": {"nodes": [{"count": 2, "speed": 100.0}], "slots_per_node": 4,
                        "initial_nodes": 2}}


def test_max_throughput_reaches_capacity_without_skew_and_less_with_it(write_config):
    uniform = load_config(write_config(zipf_partition(0.05), "uniform.yaml"))
    skewed = load_config(write_config(zipf_partition(1.4), "skewed.yaml"))
    flat = max_sustainable_throughput(uniform, {}, episodes=2)
    hot = max_sustainable_throughput(skewed, {}, episodes=2)
    assert flat["per_episode"][0]["bounded_above"] and hot["per_episode"][0]["bounded_above"]
    flat, hot = flat["tuples_per_second"]["mean"], hot["tuples_per_second"]["mean"]
    # hash over 8 partitions of a near-uniform stream: close to the 800 tuples/s capacity
    assert 600 < flat <= 800
    # exponent 1.4: the hottest key alone holds about a third of the stream
    assert hot < 0.6 * flat


def test_max_throughput_is_bisected_per_episode_and_reported_with_its_spread(write_config):
    bursty = zipf_partition(0.8)
    bursty["workload"].update(rate_curve=[0.4, 1.6, 0.8, 1.2], burst_probability=0.2,
                              burst_factor=2.0, seconds=90)  # three episodes of 30 batches
    config = load_config(write_config(bursty))
    result = max_sustainable_throughput(config, {}, episodes=3)
    rates = [p["tuples_per_second"] for p in result["per_episode"]]
    assert len(set(rates)) == 3  # each stretch of the stream has its own bursts
    assert result["tuples_per_second"]["mean"] == pytest.approx(np.mean(rates))
    half = stats.t.ppf(0.975, 2) * np.std(rates, ddof=1) / np.sqrt(3)
    assert result["tuples_per_second"]["ci95"] == pytest.approx(half) and half > 0
    plan = period_episodes(config, "test", 3, 1)
    second = Episodes("test", plan.starts[1:2], plan.seeds[1:2], np.zeros(1, dtype=np.int64))
    alone = bisect_rates(config, {}, second, tolerance=0.02, max_doublings=12)
    assert result["per_episode"][1] == alone[0]  # as if bisected alone


def test_whole_trace_makespan_counts_the_backlog_left(write_config):
    config = small_config("autoscale", roles={"scheduler": "static"})
    config["workload"] = dict(WORKLOADS["swf"])
    slow = load_config(write_config(config, "slow.yaml"))
    fast_config = {**config, "cluster": {**config["cluster"], "initial_nodes": 4}}
    fast = load_config(write_config(fast_config, "fast.yaml"))
    slow_result = whole_trace_objectives(slow, {})
    fast_result = whole_trace_objectives(fast, {})
    assert slow_result["makespan"]["mean"] >= fast_result["makespan"]["mean"]
    assert 0 < fast_result["average_utilization"]["mean"] < slow_result["average_utilization"]["mean"] <= 1
    assert fast_result["node_cost"]["mean"] > slow_result["node_cost"]["mean"]


def test_grid_writes_one_table_for_all_pairs(tmp_path, write_config):
    config = write_config(small_config("partition_schedule"))
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({
        "episodes": 2, "seeds": 1, "columns": ["team_reward", "imbalance", "nodes_on"],
        "entries": [{"name": "words", "config": config.name,
                     "pairs": [{"partitioner": "hash", "scheduler": "static"}],
                     "set": ["cluster.initial_nodes=3"]}]}))
    out = tmp_path / "out"
    out.mkdir()
    rows = run_grid(grid, out, log=lambda _: None)
    assert len(rows) == 1 and rows[0].values["nodes_on"]["mean"] == pytest.approx(3)
    table = (out / "grid.md").read_text().splitlines()
    assert table[0] == "### words"
    assert table[2] == "| partitioner | scheduler | team_reward | imbalance | nodes_on |"
    assert table[4].startswith("| hash | static | ")
    lines = (out / "grid.csv").read_text().splitlines()
    assert lines[0] == "workload,partitioner,scheduler,row,column,mean,ci95"
    assert any(line.startswith("words,hash,static,default,nodes_on,3.0,") for line in lines)
    assert (out / "grid.png").exists()


@pytest.mark.parametrize("grid_path", GRIDS, ids=lambda p: p.name)
def test_every_shipped_grid_entry_loads(grid_path):
    """Each entry's config, with its overrides and first pair: a typo in a shipped grid
    fails here, not an hour into regenerating a results page."""
    grid = typed_yaml.load(Grid, grid_path)
    for entry in grid.entries:
        config = load_config(grid_path.parent / entry.config,
                             role_overrides(entry.pairs[0]) + list(entry.set))
        assert config.role_fills().items() >= entry.pairs[0].items()
