"""The benchmark runs at its small size (so it cannot rot); timings are not asserted."""

from __future__ import annotations

import json
import math

from marl_part.cli import main


def test_bench_small_writes_every_measurement(tmp_path):
    out, page = tmp_path / "bench.json", tmp_path / "BENCH.md"
    assert main(["bench", "--size", "small", "--json", str(out), "--markdown", str(page)]) == 0
    results = json.loads(out.read_text())
    names = set(results["measurements"])
    for scenario in ("partition", "autoscale", "dedup_route", "partition_schedule"):
        assert {f"env/{scenario}/n1", f"env/{scenario}/n8"} <= names
    for name, figures in results["measurements"].items():
        assert figures["peak_rss_mb"] > 0, name
        assert all(value > 0 for key, value in figures.items() if key.endswith("_per_s")), name
    assert results["measurements"]["vector_env/partition_schedule/n8"]["ratio"] > 0
    assert page.read_text().startswith("# Benchmarks")
    assert results["measurements"]["training/headline/n8"]["env_steps"] >= 512
    to_bar = results["measurements"]["training/headline/time_to_bar"]
    assert to_bar["bar_team_reward"] < 0 and to_bar["tuning_seconds"] > 0
    assert math.isnan(to_bar["env_steps_to_bar"]) or 0 <= to_bar["env_steps_to_bar"] <= 512
