"""PNG plots of an evaluated episode, of a workload's demand and of a comparison of
policies on one episode (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from marl_part.evaluation.evaluate import EvalResult  # noqa: E402
from marl_part.sim.cluster import ClusterConfig  # noqa: E402
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
    demand = nodes_worth(world.batches.batch_work * world.rate_scale, cluster)
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


def nodes_worth(work: np.ndarray, cluster: ClusterConfig) -> np.ndarray:
    """Work per batch in nodes' worth: over what one node (of the mean speed) serves in a
    batch interval, so that it reads against a count of nodes."""
    return work / (cluster.node_speed.mean() * cluster.slots_per_node * cluster.batch_interval)


def plot_comparison(demand: np.ndarray, episode: list[tuple[str, EvalResult]],
                    terms: list[tuple[str, dict[str, float]]], title: str, path: Path) -> None:
    """Above: one evaluation episode, the same for every policy (env 0 of each result's
    rollout): the load per batch (``demand``, in nodes' worth) and the nodes each of
    ``episode`` holds, its deadline misses marked. Below: the reward terms of every row
    of ``terms`` (term -> mean episode return), as stacked bars (their sum is the team
    reward)."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 4.5 + 0.3 * len(terms)),
                                      height_ratios=(3, 0.6 + 0.3 * len(terms)))
    steps = np.arange(1, len(demand) + 1)
    top.fill_between(steps, demand, step="mid", color="0.85", label="load (nodes' worth)")
    for index, (label, result) in enumerate(episode):
        nodes = result.rollout.metrics["nodes_on"][:, 0]
        missed = result.rollout.metrics["deadline_miss"][:, 0] > 0
        style = {"color": f"C{index}", "ls": ("-", "--", ":")[index % 3], "lw": 2.2 - 0.4 * index}
        top.step(steps, nodes, where="mid", **style,
                 label=f"{label}: {int(missed.sum())} deadline misses (x)")
        top.plot(steps[missed], nodes[missed], "x", color=style["color"], ms=7, mew=2)
    top.set(xlabel="micro-batch of the episode", ylabel="nodes on", ylim=(0, None),
            title=title)
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))

    names = list(dict.fromkeys(term for _, values in terms for term in values))
    rows = np.arange(len(terms))
    below, above = np.zeros(len(terms)), np.zeros(len(terms))
    for index, name in enumerate(names):
        values = np.array([row.get(name, 0.0) for _, row in terms])
        bottom.barh(rows, values, left=np.where(values < 0, below, above),
                    color=plt.cm.Set2(index % 8), label=name)  # not the policies' colours
        below, above = below + np.minimum(values, 0), above + np.maximum(values, 0)
    bottom.set_yticks(rows, [label for label, _ in terms], fontsize=8)
    bottom.invert_yaxis()
    bottom.axvline(0, color="k", lw=0.8)
    bottom.set(xlabel="reward terms: mean episode return (they sum to the team reward)")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
