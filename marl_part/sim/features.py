"""Observation features shared by the scenarios, every one scaled into [0, 1].

Each function returns an array (n_envs, width) for all envs of a world at once; a
scenario's ``observation`` and ``state`` concatenate the ones its agents should see. What a
partitioner sees of the *current* batch (it routes it now) and what a scheduler sees
of the *last* one (it sizes the cluster for the next) follow PartLy and the Spark
auto-scaling DQN.
"""

from __future__ import annotations

import numpy as np

from marl_part.sim.world import World
from marl_part.workloads.ragged import gather_segments


def hot_keys(world: World) -> np.ndarray:
    """(n_envs, 3K): each hot key's share of the batch's work; where its state is
    (``(home + 1) / P``, 0 if the key has no state yet); and the load its home would
    carry if it stayed there, the hotter keys living there staying too (the cold load
    there plus their work and its own), against the fair share of an active partition
    (up to 2x, halved; 0 without state)."""
    view = world.view
    envs = np.arange(world.n_envs)[:, None]
    total = np.maximum(world.batches.batch_work[world.cursor], 1e-12)
    work = view.at_hot(view.work)
    share = work / total[:, None]
    home, has_home = world.state_homes(view.hot)
    where = (home + 1) / world.max_partitions
    # (n_envs, K, K): hot key j is hotter than key k and lives on k's home
    hotter = np.tri(work.shape[1], k=-1, dtype=bool)[None]
    same_home = (home[:, :, None] == home[:, None, :]) & has_home[:, None, :] & hotter
    living_there = (same_home * work[:, None, :]).sum(axis=2)
    at_home = ((view.cold_load[envs, np.maximum(home, 0)] + living_there + work)
               / (total / world.n_active)[:, None])
    home_load = np.where(has_home, np.clip(at_home / 2.0, 0.0, 1.0), 0.0)
    return np.concatenate([share, where, home_load], axis=1)


def cold_load(world: World) -> np.ndarray:
    """(n_envs, P): the share of this batch's work that hash routing of the non-hot
    keys sends to each partition slot."""
    total = np.maximum(world.batches.batch_work[world.cursor], 1e-12)
    return world.view.cold_load / total[:, None]


def busy(world: World) -> np.ndarray:
    """(n_envs, P): each partition's busy time in the last batch, in batch intervals / 2."""
    return np.clip(world.last.times / world.cluster.batch_interval / 2.0, 0.0, 1.0)


def speed(world: World) -> np.ndarray:
    """(n_envs, P): each partition's speed relative to the fastest node; 0 if inactive."""
    return world.nodes.partition_speed(world.n_active, world.max_partitions) / world.nodes.speed.max()


def hot_key_matches(world: World) -> np.ndarray:
    """(n_envs, K * P): for each hot key, the fraction of its content bytes in this batch
    that each partition already stores (what a stateful dedup router samples)."""
    b, stores = world.batches, world.stores
    n_envs, k_max, n_parts = world.n_envs, world.hot_keys, world.max_partitions
    out = np.zeros((n_envs, k_max, n_parts))
    if stores is None:
        return out.reshape(n_envs, -1)
    groups, env, _ = gather_segments(b.group_offsets, world.cursor)
    hot_index = b.group_row[groups] - b.key_offsets[world.cursor][env]
    hot = hot_index < k_max
    groups, env, hot_index = groups[hot], env[hot], hot_index[hot]
    held = stores.holders(env, b.group_fingerprint[groups])
    size = b.group_bytes[groups]
    cell = (env * k_max + hot_index)
    np.add.at(out.reshape(n_envs * k_max, n_parts), cell, held * size[:, None])
    total = np.bincount(cell, weights=size, minlength=n_envs * k_max).reshape(n_envs, k_max)
    out /= np.maximum(total, 1e-12)[:, :, None]
    return out.reshape(n_envs, -1)


def _log_scale(seconds: np.ndarray, deadline: float) -> np.ndarray:
    """Seconds against the deadline on a log scale: 0 at 0, about 0.5 at ten deadlines,
    1 at a hundred (a growing backlog stays visible)."""
    return np.log1p(seconds / deadline) / np.log(101.0)


def cluster(world: World) -> np.ndarray:
    """(n_envs, 10; 12 with ``clock``): the load of the coming batch and of the last one
    against the whole cluster's capacity (their difference is the trend a scheduler
    extrapolates: nodes asked for now serve the batch after next), backlog and last
    latency against the deadline (log scale), nodes ready / on, active partitions, last
    imbalance, utilization and deadline miss; with ``clock``, the :func:`clock` columns.

    No progress through the episode: episodes end by truncation, and learners bootstrap
    there as if the stream went on, which is right only if the state shows no clock
    (Pardo et al., "Time Limits in Reinforcement Learning", ICML 2018). With t /
    episode_length in it, they bootstrapped from states with progress 1 that they never
    trained on."""
    c, last = world.cluster, world.last
    capacity = (world.nodes.speed.sum() * c.slots_per_node * c.batch_interval)
    demand = world.batches.batch_work[world.cursor] * world.rate_scale / capacity
    columns = [
        demand / 2.0,
        last.work / capacity / 2.0,
        _log_scale(world.backlog, c.deadline),
        _log_scale(last.latency, c.deadline),
        world.nodes.n_ready / c.max_nodes,
        world.nodes.n_on / c.max_nodes,
        world.n_active / world.max_partitions,
        last.imbalance / 4.0,
        last.utilization,
        last.deadline_miss,
    ]
    if world.settings.clock:
        columns += list(clock(world).T)
    return np.clip(np.stack(columns, axis=1), 0.0, 1.0)


def clock(world: World) -> np.ndarray:
    """(n_envs, 2): where the coming batch falls in the cycle of the rate profile that
    paced the stream, as (1 + sin, 1 + cos) / 2 of its phase angle, so that the end of
    the cycle meets its start. It is the workload's time (the hour of the week), not the
    episode's: the no-progress argument above does not apply to it."""
    angle = 2 * np.pi * world.batches.batch_phase[world.cursor]
    return np.stack([(1 + np.sin(angle)) / 2, (1 + np.cos(angle)) / 2], axis=1)
