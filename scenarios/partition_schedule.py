"""partition_schedule: a partitioner and a scheduler learn together (the headline).

The partitioner places the K hottest keys of every micro-batch (assign to one
partition, or split over up to S), all other keys hash over the active partitions;
the scheduler scales the nodes and sets the parallelism for the next batch. They
share one reward for load balance, deadlines, node cost, split and migration cost and
deduplication (DESIGN.md "The world"; PartLy's unfinished cooperative scenario).

| | |
|---|---|
| Import | ``scenario: partition_schedule`` |
| Agents | ``partitioner``, ``scheduler`` |
| Partitioner action | ``MultiDiscrete([R] * K*S)``: S choices per hot key, each a load rank (0: where its state is, or with ``partitioner.stay_below`` x the least busy partition if its home would pass x the fair share; r: the r-th least busy active partition; R = ``partitioner.rank_choices``) or, with ``partitioner.choices: partition``, a partition index modulo the active partitions (R = P); distinct choices split the key; with ``partitioner.defer``, R + 1 choices, the last leaving the key to the tail router (``partitioner.tail``, hash by default), which routes every other key |
| Scheduler action | ``MultiDiscrete([2y+1, P])``: scale by ``a0 - y`` nodes (with ``scheduler.action: target``, ``[N, P]``: ``a0 + 1`` nodes, at most y more or fewer a step); ``a1 + 1`` active partitions (``[2y+1]`` if ``scheduler.parallelism: tied``) |
| Partitioner observation | ``Box(0, 1, (3K + 3P + 10,))``: hot-key shares, homes and the load each would keep at home, cold load, busy times, speeds, cluster |
| Scheduler observation | ``Box(0, 1, (10 + P,))``: cluster, busy times |
| State | ``Box(0, 1, (3K + 3P + 10,))`` |
| Reward terms (default weight) | balance 0.5, deadline_miss 1, lateness 0.5, backlog 1, node_cost 0.5, split 1, migration 1, dedup 0.5 |
| Episode | ``episode_length`` micro-batches, ended by truncation |

Config keys (defaults): ``cluster.nodes`` (8 nodes, speed 400, price 1),
``cluster.slots_per_node`` 4, ``cluster.initial_nodes`` 4, ``cluster.provisioning_delay``
1, ``cluster.batch_interval`` 1 s, ``cluster.deadline`` 2 s, ``cluster.merge_cost`` 0.002
s, ``cluster.migration_cost`` 0.002 s, ``partitioner.hot_keys`` K=16,
``partitioner.split_ways`` S=2, ``partitioner.choices`` load_rank,
``partitioner.rank_choices`` R=4, ``partitioner.tail`` hash, ``partitioner.defer`` false,
``partitioner.stay_below`` null, ``scheduler.action`` relative, ``scheduler.parallelism``
free, ``scheduler.max_scale_step`` y=N-1, ``episode_length`` 200, ``rate_scale`` 1,
``reward.<term>``, ``clock`` false (true: 2 more columns in every observation and the
state, the phase of the workload's rate profile). P = nodes x slots_per_node.
"""

from marl_part.scenarios import autoscale, partition

# reset_world and reward are the shared ones (the scenario interface)
from marl_part.scenarios.common import build_world, reset_world, reward  # noqa: F401

ROLES = {"partitioner": "learn", "scheduler": "learn"}
REWARD_WEIGHTS = {"balance": 0.5, "deadline_miss": 1.0, "lateness": 0.5, "backlog": 1.0,
                  "node_cost": 0.5,
                  "split": 1.0, "migration": 1.0, "dedup": 0.5}
OBSERVATION_BOUNDS = (0.0, 1.0)
ITEM_FEATURES = {"partitioner": 3}  # its observation starts with 3 features x K hot keys


def make_world(config, n_envs=1):
    return build_world(config, n_envs, REWARD_WEIGHTS)


def observation(agent, world):
    """Each agent sees what it sees when it acts alone: the partitioner the batch it
    routes now and the partitions it routes onto, the scheduler the cluster and how
    busy each partition was."""
    if agent == "partitioner":
        return partition.observation(agent, world)  # 3K + 3P + 10
    return autoscale.observation(agent, world)  # 10 + P


def state(world):
    """The partitioner's view holds the scheduler's: the centralized critic sees both."""
    return observation("partitioner", world)
