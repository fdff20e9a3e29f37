"""Per-key credit for the partitioner: the difference reward of each hot key.

One team reward scores all K x S dimensions of the partitioner's action at once, so the
signal a single key's choice gets is buried under the other keys' and the scheduler's.
A difference reward (Wolpert and Tumer, "Optimal payoff functions for members of
collectives", 2001; Agogino and Tumer, AAMAS 2004) isolates it: the team reward of the
batch minus the reward the batch would have earned had only that key gone to its
*default*, here its home partition (where its state is, else its hash partition),
unsplit. The subtracted part does not depend on the key's own choice, so the
difference keeps the reward's gradient for that choice and drops most of the noise.

The simulator computes it exactly for the step's terms that a placement changes
(balance, batch time and so deadline miss, lateness and backlog growth, merge and
migration time), holding every other key where it went. Dedup and storage terms are
held at their actual values (a content counterfactual would re-store the batch).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from marl_part.sim.rewards import TERMS
from marl_part.sim.routing import BatchView, KeyRouting, distinct_choices


def key_difference_rewards(world, view: BatchView, routing: KeyRouting, home: np.ndarray,
                           speed: np.ndarray, previous_backlog: np.ndarray, record
                           ) -> np.ndarray:
    """(n_envs, K): the difference reward of each hot key of the batch ``view`` that
    ``routing`` placed and whose outcome is ``record`` (0 where a batch has fewer than K
    keys). ``home`` (n_envs, K) is where each hot key's state was before the batch (-1:
    nowhere), ``speed`` (n_envs, P) the partitions' speeds and ``previous_backlog``
    (n_envs,) the backlog before it."""
    n_envs, n_keys = view.hot.shape
    cluster = world.cluster
    valid = view.hot_valid
    choices = (routing.hot_split if routing.hot_split is not None
               else view.at_hot(routing.row_partition)[:, :, None])
    distinct = distinct_choices(choices) & valid[:, :, None]
    ways = distinct.sum(axis=2)
    work = view.at_hot(view.work) * world.rate_scale[:, None]
    env, key = np.ogrid[:n_envs, :n_keys]
    # the load without each key, then with it at its default partition
    loads = np.repeat(record.loads[:, None, :], n_keys, axis=1)
    share = work / np.maximum(ways, 1)
    for s in range(choices.shape[2]):
        loads[env, key, choices[:, :, s]] -= np.where(distinct[:, :, s], share, 0.0)
    active = record.parallelism
    has_home = (home >= 0) & (home < active[:, None])
    default = np.where(has_home, home, view.at_hot(view.hash_partition))
    loads[env, key, default] += np.where(valid, work, 0.0)

    times = np.divide(loads, speed[:, None, :], out=np.zeros_like(loads),
                      where=speed[:, None, :] > 0)
    mean_time = times.sum(axis=2) / active[:, None]
    imbalance = np.divide(times.max(axis=2), mean_time, out=np.ones_like(mean_time),
                          where=mean_time > 0) - 1.0
    merge_time = (record.merge_time[:, None]
                  - cluster.merge_cost * np.clip(ways - 1, 0, None) / active[:, None])
    moved = (home >= 0) & (home != choices[:, :, 0]) & valid
    moved_by_default = (home >= 0) & (home != default) & valid
    migration_time = (record.migration_time[:, None] + cluster.migration_cost
                      * (moved_by_default.astype(float) - moved) / active[:, None])
    batch_time = times.max(axis=2) + merge_time + migration_time
    latency = previous_backlog[:, None] + batch_time
    backlog = np.maximum(0.0, latency - cluster.batch_interval)
    changed = {"imbalance": imbalance, "merge_time": merge_time,
               "migration_time": migration_time, "batch_time": batch_time, "latency": latency,
               "backlog": backlog, "backlog_growth": backlog - previous_backlog[:, None],
               "deadline_miss": (latency > cluster.deadline).astype(np.float64),
               "lateness": np.maximum(0.0, latency - cluster.deadline) / cluster.deadline}
    held = {f.name: getattr(record, f.name)[:, None] for f in fields(record)
            if f.name not in changed and getattr(record, f.name).ndim == 1}
    counterfactual = replace(record, **held, **changed)
    difference = sum(weight * (TERMS[name](record, world)[:, None]
                               - TERMS[name](counterfactual, world))
                     for name, weight in world.reward_weights.items())
    return np.where(valid, difference, 0.0)
