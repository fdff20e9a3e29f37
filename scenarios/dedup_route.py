"""dedup_route: regions of a backup fingerprint trace routed to storage pods.

After the dedup-routing study on FSL backup traces and Dong et al. (FAST 2011): a
stream of chunk fingerprints is grouped into regions (super-chunks); a region's key
is its *domain* (first, smallest or largest fingerprint modulo the domain count, set by
the workload's ``region_key`` and ``domains``); domains not placed by the agent are
binned onto pods (domain mod pods). The router re-places the K domains with the most
bytes in each batch, trading deduplication (regions of one domain find their
duplicates on one pod) against the skew of the bytes the pods store.

| | |
|---|---|
| Import | ``scenario: dedup_route`` |
| Agents | ``partitioner`` (the router; the scheduler role holds the pods still) |
| Action | ``MultiDiscrete([P] * K*S)``: a pod per hot domain (S > 1 deals its regions over several pods); needs ``partitioner.choices: partition``, so that choices name pods as the match features do (the default, load ranks, gives ``[R] * K*S``) |
| Observation | ``Box(0, 1, (3K + K*P + 3P + 10,))``: hot-domain shares, homes and the load each would keep at home, the fraction of each hot domain's bytes already stored on each pod, cold load, busy times, speeds, cluster |
| State | same as the observation |
| Reward terms (default weight) | dedup 1, storage_balance 0.2 |
| Episode | ``episode_length`` micro-batches, ended by truncation |

Config keys (defaults): ``workload`` must be a ``chunks_csv`` trace (``region_bytes`` 32
KiB, ``domains`` 64, ``region_key`` max); ``cluster.nodes`` / ``slots_per_node`` give the
pods (P at most 64); ``partitioner.hot_keys`` K, ``partitioner.split_ways`` S;
``episode_length``; ``reward.<term>``; ``clock`` false (true: 2 more columns in every
observation and the state, the phase of the workload's rate profile).
"""

import numpy as np

from marl_part.errors import InputError

# reset_world and reward are the shared ones (the scenario interface)
from marl_part.scenarios.common import build_world, reset_world, reward  # noqa: F401
from marl_part.sim import features

ROLES = {"partitioner": "learn", "scheduler": "static"}
REWARD_WEIGHTS = {"dedup": 1.0, "storage_balance": 0.2}
OBSERVATION_BOUNDS = (0.0, 1.0)


def make_world(config, n_envs=1):
    if config.workload.source != "chunks_csv":
        raise InputError(f"dedup_route routes backup regions; its workload source must be "
                         f"chunks_csv, not {config.workload.source}", key="workload.source")
    return build_world(config, n_envs, REWARD_WEIGHTS)


def observation(agent, world):
    return np.concatenate([features.hot_keys(world), features.hot_key_matches(world),
                           features.cold_load(world), features.busy(world),
                           features.speed(world), features.cluster(world)], axis=1)


def state(world):
    return observation("partitioner", world)
