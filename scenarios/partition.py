"""partition: PartLy's partitioner alone (Abdelhamid & Aref, aiDM 2020).

A fixed set of partitions (the scheduler role holds the cluster still); the
partitioner assigns or splits the K hottest keys of each micro-batch; the reward is
the size equality of the partitions minus the cost of splitting (PK2) and of moving
key state.

| | |
|---|---|
| Import | ``scenario: partition`` |
| Agents | ``partitioner`` (the scheduler role is filled by ``static`` unless ``roles.scheduler`` names another baseline) |
| Action | ``MultiDiscrete([R] * K*S)``: S choices per hot key, each a load rank (0: where its state is, or with ``partitioner.stay_below`` x the least busy partition if its home would pass x the fair share; r: the r-th least busy active partition; R = ``partitioner.rank_choices``) or, with ``partitioner.choices: partition``, a partition index modulo the active partitions (R = P); distinct choices split the key; with ``partitioner.defer``, R + 1 choices, the last leaving the key to the tail router (``partitioner.tail``, hash by default), which routes every other key |
| Observation | ``Box(0, 1, (3K + 3P + 10,))``: hot-key shares, homes and the load each would keep at home, cold load, busy times, speeds, cluster |
| State | same as the observation |
| Reward terms (default weight) | balance 1, split 1, migration 0.5 |
| Episode | ``episode_length`` micro-batches, ended by truncation |

Config keys (defaults): ``partitioner.hot_keys`` K=16, ``partitioner.split_ways`` S=2,
``partitioner.choices`` load_rank, ``partitioner.rank_choices`` R=4,
``partitioner.stay_below`` null, ``cluster.*`` (P = nodes x slots_per_node; the active
partitions are the initial nodes' slots unless ``scheduler.initial_parallelism`` says
fewer), ``episode_length`` 200, ``reward.<term>``, ``clock`` false (true: 2 more columns
in every observation and the state, the phase of the workload's rate profile).
"""

import numpy as np

# reset_world and reward are the shared ones (the scenario interface)
from marl_part.scenarios.common import build_world, reset_world, reward  # noqa: F401
from marl_part.sim import features

ROLES = {"partitioner": "learn", "scheduler": "static"}
REWARD_WEIGHTS = {"balance": 1.0, "split": 1.0, "migration": 0.5}
OBSERVATION_BOUNDS = (0.0, 1.0)
ITEM_FEATURES = {"partitioner": 3}  # its observation starts with 3 features x K hot keys


def make_world(config, n_envs=1):
    return build_world(config, n_envs, REWARD_WEIGHTS)


def observation(agent, world):
    """The partitioner sees the batch it routes now and the partitions it routes onto."""
    return np.concatenate([
        features.hot_keys(world),  # 3K: share of the batch, home, the load it would keep at home
        features.cold_load(world),  # P: where hashing puts the other keys
        features.busy(world),  # P: busy time of each partition in the last batch
        features.speed(world),  # P: speed of each partition (0: inactive)
        features.cluster(world),  # 10: demand now and last, backlog, latency, nodes, last batch
    ], axis=1)


def state(world):
    return observation("partitioner", world)
