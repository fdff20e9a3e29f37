"""Capacity figures of a policy pair.

* **Maximum sustainable throughput**, the headline figure of the PKG papers (Nasir et
  al., ICDE 2015/2016) and SaSPartitioner: the highest input rate at which the backlog
  stays bounded. The stream is replayed ``rate_scale`` times faster; a rate is
  sustainable when, averaged over a seed's episodes, the backlog over the second half
  of an episode grows by less than 1% of a batch interval per micro-batch and ends
  below the deadline. Bisection on ``rate_scale`` between a sustainable and an
  unsustainable rate, once per evaluation seed (its episodes as ``evaluate`` runs
  them); the figure is the mean over seeds with its 95% Student-t interval.
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


def max_sustainable_throughput(config: EnvConfig, actors: dict[str, Actor], episodes: int = 3,
                               seeds: int = 3, tolerance: float = 0.02,
                               max_doublings: int = 12) -> dict:
    """The highest sustainable rate, bisected per seed on its ``episodes`` episodes to
    within ``tolerance``: mean and 95% interval over seeds, and each seed's bisection."""
    per_seed = bisect_rates(config, actors, list(range(seeds)), episodes, tolerance,
                            max_doublings)
    return {"tuples_per_second": mean_ci95([p["tuples_per_second"] for p in per_seed]),
            "rate_scale": mean_ci95([p["rate_scale"] for p in per_seed]),
            "seeds": seeds, "episodes": episodes, "per_seed": per_seed}


def bisect_rates(config: EnvConfig, actors: dict[str, Actor], seeds: list[int], episodes: int,
                 tolerance: float, max_doublings: int) -> list[dict]:
    """One bisection per evaluation seed on its ``episodes`` episodes, run in lockstep:
    each round probes every unfinished seed's next rate in one batched rollout (the
    rate scale is per env)."""
    searches = {seed: _bisection(tolerance, max_doublings) for seed in seeds}
    probes = {seed: next(search) for seed, search in searches.items()}
    results = {}
    while probes:
        active = list(probes)
        run = rollout(config, actors, [episode_seed(s, e) for s in active for e in range(episodes)],
                      rate_scale=np.repeat([probes[s] for s in active], episodes))
        for i, seed in enumerate(active):
            envs = slice(i * episodes, (i + 1) * episodes)
            outcome = _sustainable(config, run.metrics["backlog"][:, envs],
                                   run.metrics["arrival_rate"][:, envs])
            try:
                probes[seed] = searches[seed].send(outcome)
            except StopIteration as finished:
                results[seed] = finished.value
                del probes[seed]
    return [results[seed] for seed in seeds]


def _sustainable(config: EnvConfig, backlog: np.ndarray, arrival_rate: np.ndarray):
    """(sustainable, mean arrival rate in tuples/s) of a seed's episodes: (steps, episodes)."""
    half = backlog[len(backlog) // 2:]
    steps = np.arange(len(half))
    slope = np.polyfit(steps, half, 1)[0] if len(half) > 1 else half.mean(axis=0)
    interval, deadline = config.cluster.batch_interval, config.cluster.deadline
    bounded = (np.mean(slope) < GROWTH_LIMIT * interval) and (backlog[-1].mean() < deadline)
    return bool(bounded), float(arrival_rate.mean())


def _bisection(tolerance: float, max_doublings: int):
    """One seed's search, as a coroutine: yields the rate scale to probe, is sent back
    (sustainable, arrival rate), returns the highest sustainable rate found."""
    low, high, low_rate = 0.0, 1.0, 0.0
    ok, rate = yield high
    doublings = 0
    while ok and doublings < max_doublings:  # find an unsustainable upper bound
        low, low_rate, high = high, rate, high * 2
        ok, rate = yield high
        doublings += 1
    if ok:
        return {"rate_scale": high, "tuples_per_second": rate, "bounded_above": False}
    while high - low > tolerance * high:
        middle = (low + high) / 2
        ok, rate = yield middle
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
