"""PNG plots of an evaluated episode and of a workload's demand (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marl_part.evaluation.evaluate import EvalResult  # noqa: E402
from marl_part.sim.world import World  # noqa: E402


def plot_episode(result: EvalResult, out_dir: Path) -> list[Path]:
    """Per-partition load, imbalance, nodes against arrival rate, and dedup ratio over
    the first evaluated episode; returns the files written."""
    run, label = result.rollout, ", ".join(f"{r}={p}" for r, p in result.policies.items())
    series = {name: values[:, 0] for name, values in run.metrics.items()}
    steps = np.arange(len(run.first_loads))
    written = []

    def save(fig, name):
        fig.suptitle(label, fontsize=9)
        fig.tight_layout()
        path = out_dir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    fig, ax = plt.subplots(figsize=(8, 4))
    image = ax.imshow(run.first_loads.T, aspect="auto", origin="lower", cmap="viridis")
    ax.set(xlabel="micro-batch", ylabel="partition", title="work per partition")
    fig.colorbar(image, ax=ax, label="work")
    save(fig, "partition_load.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(steps, series["imbalance"])
    ax.set(xlabel="micro-batch", ylabel="max/mean - 1", title="imbalance")
    save(fig, "imbalance.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(steps, series["nodes_on"], color="tab:blue", label="nodes on")
    ax.set(xlabel="micro-batch", ylabel="nodes")
    other = ax.twinx()
    other.plot(steps, series["arrival_rate"], color="tab:orange", label="arrival rate")
    other.set_ylabel("tuples / s")
    fig.legend(loc="upper right", fontsize=8)
    ax.set_title("nodes against arrival rate")
    save(fig, "nodes_vs_rate.png")

    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(steps, series["dedup_ratio"])
    ax.set(xlabel="micro-batch", ylabel="logical / stored bytes", title="dedup ratio")
    save(fig, "dedup_ratio.png")
    return written


def plot_demand(world: World, episode_length: int, title: str, path: Path) -> None:
    """The work of every micro-batch of the workload in node-capacities (work / what
    one node serves in a batch interval), with the cluster's sizes and one episode's
    length marked."""
    cluster = world.cluster
    per_node = world.nodes.speed.mean() * cluster.slots_per_node * cluster.batch_interval
    demand = world.batches.batch_work * world.rate_scale / per_node
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ax.plot(demand, lw=1, label="work per batch / one node's capacity")
    ax.axhline(cluster.max_nodes, color="k", ls="--", lw=0.8,
               label=f"all {cluster.max_nodes} nodes")
    ax.axvspan(0, episode_length, color="orange", alpha=0.15,
               label=f"one episode ({episode_length} batches)")
    ax.set(xlabel="micro-batch", ylabel="nodes' worth of work", title=title, ylim=(0, None))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
