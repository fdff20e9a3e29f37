"""Capacity figures of a policy pair.

* **Maximum sustainable throughput**, the headline figure of the PKG papers (Nasir et
  al., ICDE 2015/2016) and SaSPartitioner: the highest input rate at which the backlog
  stays bounded. The stream is replayed ``rate_scale`` times faster; a rate is
  sustainable on an episode when the backlog over its second half grows by less than 1% of a batch interval per micro-batch and ends
  below the deadline. Bisection on ``rate_scale`` between a sustainable and an
  unsustainable rate, once per non-overlapping episode of the test period; the figure
  is the mean over those episodes with its 95% Student-t interval.
* **Whole-trace objectives** of HDeepRM for finite traces: the test period (the whole
  trace where nothing is held out) is played once from its beginning; makespan = its
  length in batch intervals plus the backlog left at the end (the time to drain), with
  the average utilization and the total node cost (an energy proxy).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from marl_part.config import EnvConfig
from marl_part.evaluation.evaluate import Actor, Episodes, episode_seed, period_episodes, rollout
from marl_part.evaluation.stats import mean_ci95
from marl_part.workloads import load_batches

GROWTH_LIMIT = 0.01  # backlog growth per micro-batch, in batch intervals


def max_sustainable_throughput(config: EnvConfig, actors: dict[str, Actor],
                               episodes: int | None = None, tolerance: float = 0.02,
                               max_doublings: int = 12) -> dict:
    """The highest sustainable rate, bisected to within ``tolerance`` on each of the
    test period's non-overlapping episodes (``episodes`` of them, or all): mean and 95%
    interval over the episodes, and each episode's bisection."""
    plan = period_episodes(config, "test", episodes, 1)
    per_episode = bisect_rates(config, actors, plan, tolerance, max_doublings)
    return {"tuples_per_second": mean_ci95([p["tuples_per_second"] for p in per_episode]),
            "rate_scale": mean_ci95([p["rate_scale"] for p in per_episode]),
            "episodes": plan.count, "per_episode": per_episode}


def bisect_rates(config: EnvConfig, actors: dict[str, Actor], plan: Episodes,
                 tolerance: float, max_doublings: int) -> list[dict]:
    """One bisection per episode of ``plan``, run in lockstep: each round probes every
    unfinished episode's next rate in one batched rollout (the rate scale is per env)."""
    searches = [_bisection(tolerance, max_doublings) for _ in range(len(plan))]
    probes = {env: next(search) for env, search in enumerate(searches)}
    results = {}
    while probes:
        active = np.array(list(probes))
        run = rollout(config, actors, Episodes(plan.period, plan.starts[active],
                                               [plan.seeds[e] for e in active],
                                               np.arange(len(active))),
                      rate_scale=np.array([probes[e] for e in active]))
        for column, env in enumerate(active):
            outcome = _sustainable(config, run.metrics["backlog"][:, column],
                                   run.metrics["arrival_rate"][:, column])
            try:
                probes[env] = searches[env].send(outcome)
            except StopIteration as finished:
                results[env] = finished.value
                del probes[env]
    return [results[env] for env in range(len(plan))]


def _sustainable(config: EnvConfig, backlog: np.ndarray, arrival_rate: np.ndarray):
    """(sustainable, mean arrival rate in tuples/s) of one episode: (steps,) each."""
    half = backlog[len(backlog) // 2:]
    slope = np.polyfit(np.arange(len(half)), half, 1)[0] if len(half) > 1 else half[0]
    interval, deadline = config.cluster.batch_interval, config.cluster.deadline
    bounded = (slope < GROWTH_LIMIT * interval) and (backlog[-1] < deadline)
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
    """Makespan, average utilization and node cost of playing the test period (the
    whole trace without a split) once, from its first batch to its last."""
    batches = load_batches(config.workload, config.cluster.batch_interval, Path(config.base_dir))
    start, end = batches.periods.test
    whole = dataclasses.replace(config, episode_length=end - start)
    run = rollout(whole, actors, Episodes("test", np.full(seeds, start),
                                          [episode_seed(s, 0) for s in range(seeds)],
                                          np.zeros(seeds, dtype=np.int64)))
    interval = config.cluster.batch_interval
    makespan = (end - start) * interval + run.metrics["backlog"][-1]
    return {"makespan": mean_ci95(makespan),
            "average_utilization": mean_ci95(run.metrics["utilization"].mean(axis=0)),
            "node_cost": mean_ci95(run.metrics["node_cost"].sum(axis=0)),
            "deadline_misses": mean_ci95(run.metrics["deadline_miss"].sum(axis=0))}
