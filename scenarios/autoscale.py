"""autoscale: the scheduler alone, as in the Spark auto-scaling DQN (Thonglek et al.,
OLA 2019).

Keys are hash-partitioned (the partitioner role is filled by ``hash`` unless
``roles.partitioner`` names another baseline); the scheduler scales out or in by y
nodes or holds (2(N-1)+1 choices), under a deadline T and at most N nodes, paying
for the nodes it keeps.

| | |
|---|---|
| Import | ``scenario: autoscale`` |
| Agents | ``scheduler`` |
| Action | ``MultiDiscrete([2y+1, P])``: scale by ``a0 - y`` nodes (with ``scheduler.action: target``, ``[N, P]``: ``a0 + 1`` nodes, at most y more or fewer a step); ``a1 + 1`` active partitions (``[2y+1]`` with ``scheduler.parallelism: tied``) |
| Observation | ``Box(0, 1, (10 + P,))``: load of the coming and the last batch against capacity, backlog, latency, nodes ready/on, parallelism, imbalance, utilization, miss; busy time per partition |
| State | ``Box(0, 1, (3K + 3P + 10,))``: the hash-routed batch as the partitioner of `partition` would see it, and the scheduler's observation |
| Reward terms (default weight) | deadline_miss 1, lateness 0.5, backlog 1, node_cost 0.5 |
| Episode | ``episode_length`` micro-batches, ended by truncation |

Config keys (defaults): ``cluster.nodes`` (N = their count), ``cluster.deadline`` T = 2 s,
``cluster.provisioning_delay`` 1, ``scheduler.max_scale_step`` y = N-1,
``scheduler.parallelism`` free, ``episode_length`` 200, ``reward.<term>``, ``clock`` false
(true: 2 more columns in every observation and the state, the phase of the workload's rate
profile).
"""

import numpy as np

# reset_world and reward are the shared ones (the scenario interface)
from marl_part.scenarios.common import build_world, reset_world, reward  # noqa: F401
from marl_part.sim import features

ROLES = {"partitioner": "hash", "scheduler": "learn"}
REWARD_WEIGHTS = {"deadline_miss": 1.0, "lateness": 0.5, "backlog": 1.0, "node_cost": 0.5}
OBSERVATION_BOUNDS = (0.0, 1.0)


def make_world(config, n_envs=1):
    return build_world(config, n_envs, REWARD_WEIGHTS)


def observation(agent, world):
    """The scheduler sees the cluster and how busy each partition was."""
    return np.concatenate([
        features.cluster(world),  # 10: demand now and last, backlog, latency, nodes, last batch
        features.busy(world),  # P: busy time of each partition in the last batch
    ], axis=1)


def state(world):
    """Also what the hash-routed batch looks like, for a centralized critic."""
    return np.concatenate([features.hot_keys(world), features.cold_load(world),
                           features.busy(world), features.speed(world),
                           features.cluster(world)], axis=1)
