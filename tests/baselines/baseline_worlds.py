"""Tiny hand-made worlds and config runs for the baseline tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from marl_part.config import load_config
from marl_part.envs.simulation import Simulation
from marl_part.sim.cluster import ClusterConfig, NodeType
from marl_part.sim.settings import PartitionerConfig, SchedulerConfig, WorldSettings
from marl_part.sim.world import World
from marl_part.workloads.batches import aggregate, batch_bounds_by_count
from marl_part.workloads.trace import Trace, stable_key_hash

CONFIGS = Path(__file__).parent / "configs"


def tiny_world(keys, batch_size: int, n_envs: int = 1, partitions: int = 4,
               max_partitions: int | None = None, work=None, key_hash=None,
               speed: float = 1.0, fingerprints=None, chunk_bytes=None,
               attributes=None, slots_per_node: int = 1, nodes_on: int | None = None,
               partitioner=PartitionerConfig(hot_keys=2, split_ways=1), **cluster) -> World:
    """A world over the stream ``keys`` cut into batches of ``batch_size`` tuples; every
    env starts at the first batch with ``partitions`` active partitions (one per node)
    and free parallelism up to ``max_partitions`` (nodes x ``slots_per_node``; every
    node is on unless ``nodes_on`` says fewer).
    ``fingerprints`` (one list per tuple) gives content; ``cluster`` overrides other
    :class:`ClusterConfig` fields."""
    keys = np.asarray(keys, dtype=np.int64)
    n_keys = int(keys.max()) + 1
    trace = Trace(keys=keys, work=np.ones(len(keys)) if work is None else np.asarray(work, float),
                  times=None, key_names=np.array([f"k{k}" for k in range(n_keys)]),
                  key_hash=stable_key_hash(n_keys) if key_hash is None else
                  np.asarray(key_hash, dtype=np.uint64),
                  attributes=attributes or {})
    if fingerprints is not None:
        offsets = np.concatenate([[0], np.cumsum([len(f) for f in fingerprints])]).astype(np.int64)
        flat = np.concatenate([np.asarray(f, dtype=np.int64) for f in fingerprints])
        size = np.full(len(flat), 100.0) if chunk_bytes is None else np.asarray(chunk_bytes, float)
        trace = Trace(trace.keys, trace.work, None, trace.key_names, trace.key_hash, offsets,
                      flat, size, trace.attributes)
    batches = aggregate(trace, batch_bounds_by_count(len(keys), batch_size))
    nodes = (max_partitions or partitions) // slots_per_node
    cluster = {"provisioning_delay": 0, **cluster}
    settings = WorldSettings(
        cluster=ClusterConfig(nodes=(NodeType(count=nodes, speed=speed),),
                              slots_per_node=slots_per_node,
                              initial_nodes=nodes_on or nodes, **cluster),
        partitioner=partitioner,
        scheduler=SchedulerConfig(parallelism="free", initial_parallelism=partitions),
        episode_length=batches.n_batches, episode_start="beginning")
    world = World(settings, batches, n_envs)
    world.reset(np.arange(n_envs), [np.random.default_rng(e) for e in range(n_envs)])
    return world


def set_parallelism(world: World, parallelism) -> np.ndarray:
    """A scheduler action that keeps the nodes and sets each env's parallelism."""
    action = world.hold_action()
    action[:, 1] = np.asarray(parallelism) - 1
    return action


def simulation(config: str, n_envs: int, overrides=(), **roles) -> Simulation:
    overrides = [f"roles.{role}={name}" for role, name in roles.items()] + list(overrides)
    sim = Simulation(load_config(CONFIGS / config, overrides), n_envs)
    sim.reset(np.arange(n_envs), list(range(n_envs)))
    return sim
