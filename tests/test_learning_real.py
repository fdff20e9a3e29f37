"""MAPPO on a small real-scenario config beats its default classical pairs.

Shakespeare's first 10,825 words, paced by the weekly commit cycle of the first 14
months of the Flask repository (load 7-28x within an episode), on a 4-node cluster that
starts at 2: the headline's task at a size that trains in half a minute. Credit
assignment over time matters here: a node asked for now serves two batches later, and
a missed deadline costs as much as a node. The learned team (partitioner cloned from
LPT, scheduler from scratch, the headline's protocol) must beat PKG and hash on the
config's static cluster, the default classical pairs, on the evaluation episodes.
At the reduced budget (20k env steps) one training seed; with
``MARL_PART_FULL_BUDGET=1`` (40k) the median of three.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import yaml
from conftest import DATA

from marl_part.config import load_config
from marl_part.evaluation.evaluate import evaluate
from marl_part.experiments.training_run import start_run, train_run

FULL_BUDGET = os.environ.get("MARL_PART_FULL_BUDGET") == "1"
BUDGET, SEEDS = (40_000, (0, 1, 2)) if FULL_BUDGET else (20_000, (0,))

CONFIG = {
    "name": "small-weekly",
    "scenario": "partition_schedule",
    "workload": {
        "source": "text", "path": str(DATA / "shakespeare_head.txt.gz"),
        "batch": {"tuples": 100, "rate_profile": {
            "path": str(DATA / "flask_git_file_events_head.csv"), "time_col": "timestamp",
            "window": 7200, "period": 604800, "smooth": 3, "distinct_times": True}},
        "content": {"change_rate": 0.05, "chunk_bytes": 512}},
    "cluster": {"nodes": [{"count": 4, "speed": 25.0, "price": 1.0}], "slots_per_node": 2,
                "initial_nodes": 2, "provisioning_delay": 1},
    "partitioner": {"hot_keys": 4, "split_ways": 2, "tail": "consistent_hash"},
    "scheduler": {"parallelism": "tied", "max_scale_step": 2, "action": "target"},
    "episode_length": 24,
    "reward": {"node_cost": 1.0},
    "learner": {"algorithm": "mappo", "rollout_env_steps": 768, "num_minibatches": 4,
                "ppo_epochs": 10, "gamma": 0.9, "gae_lambda": 0.9},
    "train": {"budget_env_steps": BUDGET, "n_envs": 16, "eval_every_env_steps": BUDGET // 2,
              "final_episodes": 5, "final_seeds": 4, "compare_with": [],
              "imitation": {"teacher": {"partitioner": "lpt:split=2"}}},
}


@pytest.mark.slow
def test_mappo_beats_the_default_classical_pairs_on_a_real_stream(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(CONFIG, sort_keys=False))
    learned = []
    for seed in SEEDS:
        config = load_config(path, [f"seed={seed}"])
        summary = train_run(config, start_run(config, tmp_path / f"seed{seed}"),
                            show_progress=False)
        learned.append(summary["eval"]["team_reward"]["mean"])
    config = load_config(path)
    train = config.train
    for partitioner in ("pkg", "hash"):
        pair = {"partitioner": partitioner, "scheduler": "static"}
        fixed = load_config(path, [f"roles.{role}={name}" for role, name in pair.items()])
        bar = evaluate(fixed, {}, train.final_episodes, train.final_seeds)
        print(f"learned {learned} vs {pair}: {bar.team_reward['mean']:.2f}")
        assert np.median(learned) > bar.team_reward["mean"]
