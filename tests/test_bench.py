"""The benchmark runs at its small size (so it cannot rot); timings are not asserted."""

from __future__ import annotations

import json

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
