"""Capacity figures of a policy pair.

* **Maximum sustainable throughput**, the headline figure of the PKG papers (Nasir et
  al., ICDE 2015/2016) and SaSPartitioner: the highest input rate at which the backlog
  stays bounded. The stream is replayed ``rate_scale`` times faster; a rate is
  sustainable when, averaged over the episodes, the backlog over the second half of an
  episode grows by less than 1% of a batch interval per micro-batch and ends below the
  deadline. Bisection on ``rate_scale`` between a sustainable and an unsustainable rate.
* **Whole-trace objectives** of HDeepRM for finite traces: the trace is played once
  from its beginning; makespan = its length in batch intervals plus the backlog left
  at the end (the time to drain), with the average utilization and the total node
  cost (an energy proxy).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from marl_part.config import EnvConfig
from marl_part.evaluation.evaluate import Actor, episode_seed, rollout
from marl_part.evaluation.stats import mean_ci95
from marl_part.workloads import load_batches

GROWTH_LIMIT = 0.01  # backlog growth per micro-batch, in batch intervals


def is_sustainable(config: EnvConfig, actors: dict[str, Actor], episodes: int) -> tuple[bool, float]:
    """Whether ``config``'s rate is sustainable, and its mean arrival rate (tuples/s)."""
    run = rollout(config, actors, [episode_seed(0, e) for e in range(episodes)])
    backlog = run.metrics["backlog"]
    half = backlog[len(backlog) // 2:]
    steps = np.arange(len(half))
    slope = np.polyfit(steps, half, 1)[0] if len(half) > 1 else half.mean(axis=0)
    interval, deadline = config.cluster.batch_interval, config.cluster.deadline
    bounded = (np.mean(slope) < GROWTH_LIMIT * interval) and (backlog[-1].mean() < deadline)
    return bool(bounded), float(run.metrics["arrival_rate"].mean())


def max_sustainable_throughput(config: EnvConfig, actors: dict[str, Actor], episodes: int = 3,
                               tolerance: float = 0.02, max_doublings: int = 12) -> dict:
    """Bisect ``rate_scale`` to within ``tolerance``; the highest sustainable rate."""
    def probe(scale):
        return is_sustainable(dataclasses.replace(config, rate_scale=scale), actors, episodes)

    low, high = 0.0, 1.0
    low_rate = 0.0
    ok, rate = probe(high)
    doublings = 0
    while ok and doublings < max_doublings:  # find an unsustainable upper bound
        low, low_rate, high = high, rate, high * 2
        ok, rate = probe(high)
        doublings += 1
    if ok:
        return {"rate_scale": high, "tuples_per_second": rate, "bounded_above": False}
    while high - low > tolerance * high:
        middle = (low + high) / 2
        ok, rate = probe(middle)
        if ok:
            low, low_rate = middle, rate
        else:
            high = middle
    return {"rate_scale": low, "tuples_per_second": low_rate, "bounded_above": True}


def whole_trace_objectives(config: EnvConfig, actors: dict[str, Actor], seeds: int = 1) -> dict:
    """Makespan, average utilization and node cost of playing the whole trace once."""
    batches = load_batches(config.workload, config.cluster.batch_interval, Path(config.base_dir))
    whole = dataclasses.replace(config, episode_start="beginning",
                                episode_length=batches.n_batches)
    run = rollout(whole, actors, [episode_seed(s, 0) for s in range(seeds)])
    interval = config.cluster.batch_interval
    makespan = batches.n_batches * interval + run.metrics["backlog"][-1]
    return {"makespan": mean_ci95(makespan),
            "average_utilization": mean_ci95(run.metrics["utilization"].mean(axis=0)),
            "node_cost": mean_ci95(run.metrics["node_cost"].sum(axis=0)),
            "deadline_misses": mean_ci95(run.metrics["deadline_miss"].sum(axis=0))}
