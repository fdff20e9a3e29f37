"""The settings of the world a config gives: the cluster, what the partitioner and the
scheduler decide, episodes (:class:`marl_part.sim.world.World` runs them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from marl_part.errors import FieldError
from marl_part.sim.cluster import ClusterConfig

MAX_STAY_BELOW = 10.0  # x the fair share: beyond it, load rank 0 always stays home
MAX_ACTION_DIMS = 1024  # the partitioner's action: hot_keys x split_ways choices


@dataclass(frozen=True)
class PartitionerConfig:
    hot_keys: int = 16  # K: the hottest keys of each batch that the partitioner places
    split_ways: int = 2  # S: partitions a hot key may be split over (1: never split)
    # what a choice names: a partition index, or a load rank (0: where the key's state
    # is; r >= 1: the r-th least busy partition once the hotter keys are placed)
    choices: Literal["partition", "load_rank"] = "load_rank"
    rank_choices: int = 4  # load ranks offered per choice: 0 (stay) to rank_choices - 1
    # the router of the keys a learned partitioner leaves: a partitioner baseline,
    # NAME or NAME:knob=value,... (hash: every other key to its hash partition)
    tail: str = "hash"
    # one more choice per dimension: leave the key to the tail router (in a split
    # dimension: no further partition)
    defer: bool = False
    # load rank 0 keeps a key home only while its home stays within this x the fair
    # share of the batch, else sends it to the least busy partition (null: always home)
    stay_below: float | None = None
    # the tail router's keys stay on the partition holding their state while its tail
    # load is within this x the mean tail load of an active partition, else go where
    # the tail router sends them (null: the tail router decides alone)
    tail_stay: float | None = None

    def __post_init__(self):
        if self.hot_keys < 1:
            raise FieldError("hot_keys", "must be at least 1")
        if self.rank_choices < 2:
            raise FieldError("rank_choices", "must be at least 2 (stay, least busy)")
        if self.split_ways < 1:
            raise FieldError("split_ways", "must be at least 1")
        if self.stay_below is not None and not 0 < self.stay_below <= MAX_STAY_BELOW:
            raise FieldError("stay_below", f"must lie in (0, {MAX_STAY_BELOW}] (or null: "
                             f"always home), got {self.stay_below}")
        if self.tail_stay is not None and not 1 <= self.tail_stay <= MAX_STAY_BELOW:
            raise FieldError("tail_stay", f"must lie in [1, {MAX_STAY_BELOW}] (or null: the "
                             f"tail router decides alone), got {self.tail_stay}")
        if self.hot_keys * self.split_ways > MAX_ACTION_DIMS:
            raise FieldError("hot_keys", f"hot_keys x split_ways = "
                             f"{self.hot_keys * self.split_ways:,} "
                             f"action dimensions; at most {MAX_ACTION_DIMS:,}")


@dataclass(frozen=True)
class SchedulerConfig:
    parallelism: Literal["free", "tied"] = "free"  # tied: active partitions = ready slots
    # the scale dimension names a relative step (a0 - y nodes more) or a target size
    # (a0 + 1 nodes); either way the nodes on change by at most y per step
    action: Literal["relative", "target"] = "relative"
    max_scale_step: int | None = None  # y: largest scale out/in per step (default N-1)
    initial_parallelism: int | None = None  # default: every slot of the initial nodes

    def __post_init__(self):
        if self.max_scale_step is not None and self.max_scale_step < 0:
            raise FieldError("max_scale_step", "must not be negative")
        if self.initial_parallelism is not None and self.initial_parallelism < 1:
            raise FieldError("initial_parallelism", "must be at least 1")


@dataclass(frozen=True)
class WorldSettings:
    """The parts of a config that shape the world (see :class:`marl_part.config.EnvConfig`)."""

    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    partitioner: PartitionerConfig = field(default_factory=PartitionerConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    episode_length: int = 200
    # where an episode starts within its period: at random, or at the period's first batch
    episode_start: Literal["random", "beginning"] = "random"
    rate_scale: float = 1.0  # replay the stream this many times faster (work x rate_scale)
    # every agent and the critic also see where the coming batch falls in the cycle of
    # the workload's rate profile (as an operator knows the hour of the week)
    clock: bool = False
