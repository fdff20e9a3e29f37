"""Shared test helpers: small configs on the shipped test samples."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from marl_part.scenarios import SHIPPED

DATA = Path(__file__).parent / "data"
FUZZ_COUNTS: Counter = Counter()  # (kind, outcome) of generated inputs (test_generated_inputs)

WORKLOADS = {
    "text": {"source": "text", "path": str(DATA / "shakespeare_head.txt.gz"),
             "batch": {"tuples": 200}, "content": {"change_rate": 0.1, "chunk_bytes": 512}},
    "keys_csv": {"source": "keys_csv", "path": str(DATA / "flask_git_file_events_head.csv"),
                 "batch": {"tuples": 50}},
    "swf": {"source": "swf", "path": str(DATA / "nasa_ipsc_1993_head.swf"),
            "batch": {"time_compression": 600}},
    "arrivals_csv": {"source": "arrivals_csv", "path": str(DATA / "azure_llm_conv_2023_head.csv"),
                     "batch": {"time_compression": 2}},
    "chunks_csv": {"source": "chunks_csv", "path": str(DATA / "flask_quarterly_chunks_q0-3.csv"),
                   "batch": {"tuples": 4}, "region_bytes": 16384, "domains": 16},
    "zipf": {"source": "zipf", "keys": 500, "rate": 300, "seconds": 40,
             "content": {"change_rate": 0.05}},
}

SCENARIO_WORKLOAD = {"partition": "text", "autoscale": "swf", "dedup_route": "chunks_csv",
                     "partition_schedule": "text"}
CLOCK_SCHEDULERS = ("scheduled", "predictive")  # they follow the workload's cycle


def paced_batch(tuples: int) -> dict:
    """A batching that paces a stream by real arrivals (the Azure sample in 30 s
    windows, replayed as a cycle): a workload with a cycle, as the schedulers of
    :data:`CLOCK_SCHEDULERS` need."""
    return {"tuples": tuples, "rate_profile": {
        "path": str(DATA / "azure_llm_conv_2023_head.csv"), "time_col": "TIMESTAMP",
        "window": 30}}


def paced_override(tuples: int) -> str:
    """:func:`paced_batch` as a ``--set`` override."""
    return "workload.batch=" + yaml.safe_dump(paced_batch(tuples), default_flow_style=True).strip()


def small_config(scenario: str = "partition_schedule", workload: str | None = None, **extra) -> dict:
    """A small config dict: 2 node types (heterogeneous), 16 partitions at most."""
    config = {
        "name": f"test-{scenario}",
        "scenario": scenario,
        "workload": dict(WORKLOADS[workload or SCENARIO_WORKLOAD[scenario]]),
        "cluster": {"nodes": [{"count": 2, "speed": 40.0, "price": 1.0},
                              {"count": 2, "speed": 80.0, "price": 2.5}],
                    "slots_per_node": 4, "initial_nodes": 2},
        "partitioner": {"hot_keys": 4, "split_ways": 2},
        "episode_length": 12,
    }
    if scenario == "dedup_route":
        config["cluster"] = {"nodes": [{"count": 4, "speed": 1e6}], "slots_per_node": 1,
                             "initial_nodes": 4}
        config["scheduler"] = {"parallelism": "tied"}
        config["partitioner"] = {"hot_keys": 4, "split_ways": 2, "choices": "partition"}
    config.update(extra)
    return config


def random_valid_config(rng: np.random.Generator) -> dict:
    scenario = str(rng.choice(SHIPPED))
    workload = "chunks_csv" if scenario == "dedup_route" else str(
        rng.choice([w for w in WORKLOADS if w != "chunks_csv"]))
    config = small_config(scenario, workload)
    config["episode_length"] = int(rng.integers(3, 10))
    config["partitioner"] = {"hot_keys": int(rng.integers(1, 6)), "split_ways": int(rng.integers(1, 4))}
    if scenario != "dedup_route":
        config["cluster"]["slots_per_node"] = int(rng.integers(1, 5))
        config["cluster"]["provisioning_delay"] = int(rng.integers(0, 3))
        config["scheduler"] = {"parallelism": str(rng.choice(["free", "tied"])),
                               "max_scale_step": int(rng.integers(0, 4))}
    if rng.random() < 0.5:
        config["reward"] = {"balance": float(rng.random()), "dedup": float(rng.random())}
    return config


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """Torch on one thread, as :func:`marl_part.trainers.runner.train` runs it. (One
    conftest for all tests: helpers are imported from it by name, and a second module
    named conftest shadowed it depending on collection order.)"""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def write_config(tmp_path):
    """Write a config dict as YAML; returns its path."""
    def write(config: dict, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path
    return write


def pytest_terminal_summary(terminalreporter):
    """The counts of the generated-input tests: tried, accepted, clean refusal, traceback."""
    for kind in sorted({kind for kind, _ in FUZZ_COUNTS}):
        counts = {o: FUZZ_COUNTS[kind, o] for o in ("accepted", "clean refusal", "traceback")}
        terminalreporter.write_line(f"generated {kind}s: tried {sum(counts.values())}, "
                                    + ", ".join(f"{o} {n}" for o, n in counts.items()))
