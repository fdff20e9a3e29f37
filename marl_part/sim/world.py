"""The micro-batch stream-processing world, for n_envs envs at once.

One step is one micro-batch (DESIGN.md "The world"):

1. the partitioner's :mod:`~marl_part.sim.routing` decision places the batch over the
   active partitions; loads ``L_i`` (work), times ``T_i = L_i / speed_i``;
2. batch time = max_i T_i + merge time of split keys + migration time of moved keys
   (each cost x count, shared by the active partitions);
   latency = backlog + batch time; the backlog carries what exceeds the batch
   interval; a deadline miss when latency > deadline;
3. every partition's fingerprint store takes the batch's content (dedup);
4. the scheduler's action scales the nodes (ready after the provisioning delay) and
   sets the active partitions for the next batch;
5. the next micro-batch arrives; an env whose episode has run ``episode_length``
   batches is truncated (the caller resets it).

All state is arrays with a leading env dimension and every step is a fixed number of
numpy calls, whatever the number of envs or tuples.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from marl_part.errors import FieldError, InputError
from marl_part.sim.cluster import Nodes
from marl_part.sim.credit import key_difference_rewards
from marl_part.sim.dedup import MAX_PARTITIONS, FingerprintStores
from marl_part.sim.routing import (
    BatchView,
    KeyRouting,
    LoadRankPlacer,
    Routing,
    TupleRouting,
    deal_hot_tuples,
    place_by_key,
    place_by_tuple,
    routed_load,
)
from marl_part.sim.settings import WorldSettings
from marl_part.workloads import Batches

MAX_STATE_BYTES = 4 * 2**30  # what the envs of a world and its routers keep per key


@dataclass(frozen=True)
class StepRecord:
    """What one micro-batch did, per env (per env and partition where 2-d)."""

    loads: np.ndarray  # (n_envs, P) work routed to each partition
    times: np.ndarray  # (n_envs, P) seconds each partition is busy
    arrival_rate: np.ndarray  # tuples per second of stream
    work: np.ndarray
    imbalance: np.ndarray  # max / mean - 1 of the active partitions' times
    nmad: np.ndarray  # normalized mean absolute deviation of the times
    replication_factor: np.ndarray  # mean partitions per key of the batch
    moved_keys: np.ndarray
    merge_time: np.ndarray
    migration_time: np.ndarray
    batch_time: np.ndarray
    latency: np.ndarray
    backlog: np.ndarray
    backlog_growth: np.ndarray  # backlog after this batch minus before it
    deadline_miss: np.ndarray  # 1.0 when latency > deadline
    lateness: np.ndarray  # max(0, latency - deadline) / deadline
    parallelism: np.ndarray  # active partitions that took the batch
    nodes_ready: np.ndarray
    nodes_on: np.ndarray  # ready or provisioning
    node_cost: np.ndarray  # price of the nodes on over the interval
    utilization: np.ndarray  # busy time / (ready slots x max(interval, batch time))
    stored_bytes: np.ndarray  # content bytes the partitions had to store
    ideal_bytes: np.ndarray  # ... that one store of everything would have had to store
    logical_bytes: np.ndarray  # ... that arrived
    dedup_ratio: np.ndarray  # logical / stored bytes, so far in the episode
    dedup_efficiency: np.ndarray  # ideal / stored bytes, so far in the episode
    storage_skew: np.ndarray  # max / mean - 1 of the bytes each partition stores, so far

    # the metrics every report shows (the per-partition arrays are for plots)
    METRICS = ("imbalance", "nmad", "replication_factor", "moved_keys", "batch_time",
               "latency", "backlog", "deadline_miss", "parallelism", "nodes_on",
               "node_cost", "utilization", "arrival_rate", "dedup_ratio", "dedup_efficiency",
               "storage_skew")

    @classmethod
    def zeros(cls, n_envs: int, n_partitions: int) -> StepRecord:
        return cls(**{f.name: np.zeros((n_envs, n_partitions) if f.name in ("loads", "times")
                                       else n_envs) for f in fields(cls)})

    def metrics(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.METRICS}


@dataclass
class EpisodeTotals:
    """Running sums over the current episode of each env."""

    logical_bytes: np.ndarray
    stored_bytes: np.ndarray
    ideal_bytes: np.ndarray
    partition_bytes: np.ndarray  # (n_envs, P) bytes each partition stores

    @classmethod
    def zeros(cls, n_envs: int, n_partitions: int) -> EpisodeTotals:
        return cls(np.zeros(n_envs), np.zeros(n_envs), np.zeros(n_envs),
                   np.zeros((n_envs, n_partitions)))

    def reset(self, env_ids: np.ndarray) -> None:
        for f in fields(self):
            getattr(self, f.name)[env_ids] = 0.0


class World:
    """n_envs independent copies of the stream-processing world, stepped together."""

    SNAPSHOT_STATIC = ("settings", "batches", "cluster")  # data, not state (marl_part.snapshot)

    def __init__(self, settings: WorldSettings, batches: Batches, n_envs: int = 1,
                 reward_weights: dict[str, float] | None = None):
        self.settings, self.batches, self.n_envs = settings, batches, n_envs
        self.reward_weights = dict(reward_weights or {})  # the scenario's, for its reward()
        cluster = settings.cluster
        self.cluster = cluster
        self.max_partitions = cluster.max_partitions
        self.hot_keys = settings.partitioner.hot_keys
        self.split_ways = settings.partitioner.split_ways
        self.max_scale_step = (cluster.max_nodes - 1 if settings.scheduler.max_scale_step is None
                               else min(settings.scheduler.max_scale_step, cluster.max_nodes - 1))
        check_state_size(settings, batches, n_envs)
        self.nodes = Nodes(cluster, n_envs)
        self.stores = (FingerprintStores(n_envs, batches.trace.n_fingerprints, self.max_partitions)
                       if batches.has_content else None)
        self.key_home = np.full((n_envs, batches.trace.n_keys), -1,
                                dtype=np.int16 if self.max_partitions < 2**15 else np.int32)
        self.cursor = np.zeros(n_envs, dtype=np.int64)
        self.t = np.zeros(n_envs, dtype=np.int64)
        self.n_active = np.ones(n_envs, dtype=np.int64)
        self.requested_parallelism = np.ones(n_envs, dtype=np.int64)
        self.backlog = np.zeros(n_envs)
        self.rate_scale = np.full(n_envs, settings.rate_scale)  # per env: capacity probes vary it
        self.totals = EpisodeTotals.zeros(n_envs, self.max_partitions)
        self.last = StepRecord.zeros(n_envs, self.max_partitions)
        self.view: BatchView | None = None
        # with key_credit, each step also gives every hot key's difference reward
        # (n_envs, K), :mod:`marl_part.sim.credit`
        self.key_credit, self.last_key_credit = False, None
        self.play("train")

    # ----------------------------------------------------------------- episode
    def play(self, period: str, starts: np.ndarray | None = None) -> None:
        """Play episodes of ``period`` (of ``batches.periods``) from now on: each env's
        episodes begin at ``starts[env]`` if given (evaluation's non-overlapping
        episodes), else where ``episode_start`` says, within the period."""
        self.batches.periods.check_fits(self.settings.episode_length, (period,))
        low, end = self.batches.periods.of(period)
        high = end - self.settings.episode_length  # the last start whose episode fits
        if starts is not None:
            starts = np.asarray(starts, dtype=np.int64)
            if starts.shape != (self.n_envs,) or np.any((starts < low) | (starts > high)):
                raise ValueError(f"episode starts outside the {period} period's [{low}, {high}]")
        self.period, self.start_range, self.fixed_starts = period, (low, high), starts

    def reset(self, env_ids: np.ndarray, rngs: list[np.random.Generator]) -> None:
        """Start new episodes in ``env_ids``, each drawing its start (within the period
        it plays, see :meth:`play`) from its own rng."""
        settings, cluster = self.settings, self.cluster
        low, high = self.start_range
        for env, rng in zip(env_ids, rngs):
            if self.fixed_starts is not None:
                self.cursor[env] = self.fixed_starts[env]
            else:
                self.cursor[env] = low if settings.episode_start == "beginning" else rng.integers(
                    low, high + 1)
        self.t[env_ids] = 0
        self.backlog[env_ids] = 0.0
        self.key_home[env_ids] = -1
        if self.stores is not None:
            self.stores.reset(env_ids)
        self.totals.reset(env_ids)
        for f in fields(StepRecord):
            getattr(self.last, f.name)[env_ids] = 0.0
        # every episode starts from cluster.initial_nodes ready nodes, whatever the
        # scheduler, with every slot of them active (or scheduler.initial_parallelism)
        slots = cluster.initial_nodes * cluster.slots_per_node
        initial = settings.scheduler.initial_parallelism or slots
        self.nodes.reset(env_ids, np.full(len(env_ids), cluster.initial_nodes))
        self.requested_parallelism[env_ids] = initial
        self.n_active[env_ids] = min(initial, slots)
        self.view = BatchView(self.batches, self.cursor, self.hot_keys, self.n_active,
                              self.max_partitions)

    @property
    def truncated(self) -> np.ndarray:
        return self.t >= self.settings.episode_length

    # -------------------------------------------------------------- decisions
    def hash_routing(self) -> KeyRouting:
        """Every key to its hash partition, nothing split."""
        return KeyRouting(self.view.hash_partition.copy(), cold_hashed=True)

    def set_tail_routing(self, routing: Routing) -> None:
        """How the tail router (``partitioner.tail``) routes the current batch, every
        key of it, with ``partitioner.tail_stay`` applied; the cold load the partitioner
        sees becomes what it sends of the keys that are not hot."""
        view = self.view
        if self.settings.partitioner.tail_stay is not None:
            routing = self._keep_tail_state(routing)
        view.tail = routing
        view.cold_load = routed_load(view, routing, view.cold, self.max_partitions)

    def state_homes(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where the state of each of the batch's key ``rows`` (indices into the view's
        rows, any shape; -1: no row) lies: its partition (-1: none yet) and whether
        that partition is active."""
        view = self.view
        valid = rows >= 0
        home = np.full(rows.shape, -1, dtype=np.int64)
        home[valid] = self.key_home[view.env[rows[valid]], view.key[rows[valid]]]
        env_active = np.zeros(rows.shape, dtype=np.int64)
        env_active[valid] = self.n_active[view.env[rows[valid]]]
        return home, (home >= 0) & (home < env_active)

    def _keep_tail_state(self, routing: KeyRouting) -> KeyRouting:
        """``routing`` with each non-hot key on its state's active partition, unless that
        partition's tail load passes ``tail_stay`` x the mean: its keys then go where
        ``routing`` sends them (Dong et al., FAST 2011, keep a stream's chunks on the
        node that stores them; the load cap bounds the skew, as in consistent hashing
        with bounded loads, Mirrokni et al., SODA 2018)."""
        view = self.view
        cold = view.cold
        home, has_home = self.state_homes(np.arange(len(view.rows)))
        kept = KeyRouting(np.where(has_home & cold, home, routing.row_partition))
        load = routed_load(view, kept, cold, self.max_partitions)
        cap = self.settings.partitioner.tail_stay * load.sum(axis=1) / self.n_active
        over = (load > cap[:, None])[view.env, kept.row_partition]
        return KeyRouting(np.where(over, routing.row_partition, kept.row_partition))

    def hot_key_routing(self, choices: np.ndarray, stay_below: np.ndarray | None = None
                        ) -> Routing:
        """The tail router's routing (hash by default), except that the K hottest keys
        go where ``choices`` say.

        ``choices`` (n_envs, K, S) are partition indices taken modulo each env's active
        partitions, or load ranks (``partitioner.choices``, see
        :class:`~marl_part.sim.routing.LoadRankPlacer`); a hot key goes to the
        distinct partitions among its S choices. With ``partitioner.defer`` the last
        choice leaves the key to the tail router (in dimension s > 0: adds no partition).
        A per-tuple tail router makes the result per tuple: a placed key's tuples are
        dealt round-robin over its partitions. ``stay_below`` (n_envs,) overrides
        ``partitioner.stay_below`` (0: always home).
        """
        view = self.view
        choices = np.asarray(choices, dtype=np.int64).reshape(
            self.n_envs, self.hot_keys, self.split_ways)
        defer = (choices == self.partitioner_choice_count() - 1 if self.settings.partitioner.defer
                 else np.zeros(choices.shape, dtype=bool))
        deferred = defer[:, :, 0] & view.hot_valid  # keys left to the tail router
        # a deferred split dimension repeats the first choice (no extra partition)
        choices = np.where(defer, np.where(defer[:, :, :1], 0, choices[:, :, :1]), choices)
        tail = view.tail if view.tail is not None else self.hash_routing()
        if self.settings.partitioner.choices == "load_rank":
            partitions = self.load_rank_placer(deferred, stay_below).place_all(choices)
        else:
            partitions = choices % self.n_active[:, None, None]
        if isinstance(tail, TupleRouting):
            return TupleRouting(deal_hot_tuples(view, tail.tuple_partition, partitions,
                                                view.hot_valid & ~deferred))
        tail_partition = view.at_hot(tail.row_partition)
        partitions = np.where(deferred[:, :, None], tail_partition[:, :, None], partitions)
        routing = KeyRouting(tail.row_partition.copy(), cold_hashed=tail.cold_hashed)
        valid = view.hot_valid
        routing.row_partition[view.hot[valid]] = partitions[..., 0][valid]
        routing.hot_split = partitions if self.split_ways > 1 else None
        return routing

    def load_rank_placer(self, deferred: np.ndarray | None = None,
                         stay_below: np.ndarray | None = None) -> LoadRankPlacer:
        """A placer of this batch's hot keys by load rank, counting the load the tail
        router sends of the cold keys and of the ``deferred`` (n_envs, K) hot keys;
        ``stay_below`` (n_envs,) defaults to ``partitioner.stay_below``."""
        if stay_below is None:
            stay_below = np.full(self.n_envs, self.settings.partitioner.stay_below or 0.0)
        view, n_parts = self.view, self.max_partitions
        base_load = view.cold_load
        if deferred is not None and deferred.any():
            rows = np.zeros(len(view.rows), dtype=bool)
            rows[view.hot[deferred]] = True
            tail = view.tail if view.tail is not None else self.hash_routing()
            base_load = base_load + routed_load(view, tail, rows, n_parts)
        home, has_home = self.state_homes(view.hot)
        return LoadRankPlacer(view, self.nodes.partition_speed(self.n_active, n_parts),
                              self.n_active, np.where(has_home, home, -1), stay_below,
                              base_load, deferred)

    def partitioner_choice_count(self) -> int:
        """Choices per dimension of the partitioner's action (K x S dimensions); with
        ``partitioner.defer``, the last leaves the key to the tail router."""
        config = self.settings.partitioner
        count = (min(config.rank_choices, self.max_partitions + 1) if config.choices == "load_rank"
                 else self.max_partitions)
        return count + config.defer

    def scheduler_action_sizes(self) -> tuple[int, ...]:
        """Choices per dimension of the scheduler's action: scale, then parallelism."""
        scale = (self.cluster.max_nodes if self.settings.scheduler.action == "target"
                 else 2 * self.max_scale_step + 1)
        if self.settings.scheduler.parallelism == "tied":
            return (scale,)
        return (scale, self.max_partitions)

    def scale_choice(self, target_nodes: np.ndarray) -> np.ndarray:
        """The choice of the scale dimension that moves every env toward ``target_nodes``
        nodes on (within 1..N and at most y per step)."""
        target = np.clip(np.asarray(target_nodes, dtype=np.int64), 1, self.cluster.max_nodes)
        if self.settings.scheduler.action == "target":
            return target - 1
        y = self.max_scale_step
        return np.clip(target - self.nodes.n_on, -y, y) + y

    def hold_action(self) -> np.ndarray:
        """The scheduler action that changes nothing."""
        action = np.empty((self.n_envs, len(self.scheduler_action_sizes())), dtype=np.int64)
        action[:, 0] = self.scale_choice(self.nodes.n_on)
        if action.shape[1] > 1:
            action[:, 1] = self.requested_parallelism - 1
        return action

    # -------------------------------------------------------------------- step
    def step(self, routing: Routing, schedule: np.ndarray) -> StepRecord:
        """Process the current micro-batch of every env, then advance to the next one."""
        view, cluster, n_parts = self.view, self.cluster, self.max_partitions
        self._check_routing(routing)
        if self.key_credit and isinstance(routing, TupleRouting):
            raise InputError("per-key credit needs a per-key tail router (partitioner.tail: "
                             "hash, consistent_hash, lpt, ...), not a per-tuple one",
                             key="learner.key_credit")
        hot_homes = self.state_homes(view.hot)[0] if self.key_credit else None
        if isinstance(routing, TupleRouting):
            placement = place_by_tuple(view, routing, n_parts)
        else:
            placement = place_by_key(view, routing, n_parts, self.key_home)

        loads = placement.loads * self.rate_scale[:, None]
        speed = self.nodes.partition_speed(self.n_active, n_parts)
        times = np.divide(loads, speed, out=np.zeros_like(loads), where=speed > 0)
        active = self.n_active.astype(np.float64)
        mean_time = times.sum(axis=1) / active
        imbalance = np.divide(times.max(axis=1), mean_time, out=np.ones_like(mean_time),
                              where=mean_time > 0) - 1.0
        within = np.arange(n_parts)[None, :] < self.n_active[:, None]
        deviation = (np.abs(times - mean_time[:, None]) * within).sum(axis=1) / active
        nmad = np.divide(deviation, mean_time, out=np.zeros_like(deviation), where=mean_time > 0)

        # merging partial states and moving key state run on all active partitions
        merge_time = cluster.merge_cost * (placement.partitions_per_key - view.n_rows) / active
        migration_time = cluster.migration_cost * placement.moved_keys / active
        batch_time = times.max(axis=1) + merge_time + migration_time
        latency = self.backlog + batch_time
        previous_backlog = self.backlog
        self.backlog = np.maximum(0.0, latency - cluster.batch_interval)
        deadline_miss = (latency > cluster.deadline).astype(np.float64)
        busy_capacity = self.nodes.ready_slots() * np.maximum(cluster.batch_interval, batch_time)

        logical, stored, ideal = self._store_content(placement)
        totals = self.totals
        totals.logical_bytes += logical
        totals.stored_bytes += stored.sum(axis=1)
        totals.ideal_bytes += ideal
        totals.partition_bytes += stored
        mean_stored = totals.partition_bytes.sum(axis=1) / active
        batch = self.cursor
        self.last = StepRecord(
            loads=loads, times=times,
            arrival_rate=self.batches.batch_tuples[batch] * self.rate_scale
            / cluster.batch_interval,
            work=self.batches.batch_work[batch] * self.rate_scale,
            imbalance=imbalance, nmad=nmad,
            replication_factor=_ratio(placement.partitions_per_key, view.n_rows.astype(np.float64)),
            moved_keys=placement.moved_keys.astype(np.float64),
            merge_time=merge_time, migration_time=migration_time, batch_time=batch_time,
            latency=latency, backlog=self.backlog.copy(),
            backlog_growth=self.backlog - previous_backlog, deadline_miss=deadline_miss,
            lateness=np.maximum(0.0, latency - cluster.deadline) / cluster.deadline,
            parallelism=active, nodes_ready=self.nodes.n_ready.astype(np.float64),
            nodes_on=self.nodes.n_on.astype(np.float64), node_cost=self.nodes.cost(),
            utilization=np.divide(times.sum(axis=1), busy_capacity,
                                  out=np.zeros_like(batch_time), where=busy_capacity > 0),
            stored_bytes=stored.sum(axis=1), ideal_bytes=ideal, logical_bytes=logical,
            dedup_ratio=_ratio(totals.logical_bytes, totals.stored_bytes),
            dedup_efficiency=_ratio(totals.ideal_bytes, totals.stored_bytes),
            storage_skew=np.divide(totals.partition_bytes.max(axis=1), mean_stored,
                                   out=np.ones_like(mean_stored), where=mean_stored > 0) - 1.0)
        if self.key_credit:
            self.last_key_credit = key_difference_rewards(self, view, routing, hot_homes, speed,
                                                          previous_backlog, self.last)
        self._schedule(np.asarray(schedule, dtype=np.int64).reshape(self.n_envs, -1))
        self.t += 1
        self.cursor = np.minimum(self.cursor + 1, self.batches.n_batches - 1)
        self.view = BatchView(self.batches, self.cursor, self.hot_keys, self.n_active,
                              self.max_partitions)
        return self.last

    def _check_routing(self, routing: Routing) -> None:
        if isinstance(routing, TupleRouting):
            env, part = self.view.tuples()[1], routing.tuple_partition
        else:
            env, part = self.view.env, routing.row_partition
        if len(part) and (part.min() < 0 or np.any(part >= self.n_active[env])):
            raise ValueError("a routing sent work to a partition that is not active")

    def _store_content(self, placement):
        zeros = np.zeros(self.n_envs)
        if self.stores is None:
            return zeros, np.zeros((self.n_envs, self.max_partitions)), zeros
        result = placement.store_content(self.stores)
        logical = self.batches.batch_bytes[self.cursor]
        return logical, result.stored_bytes, result.ideal_bytes

    def _schedule(self, action: np.ndarray) -> None:
        y = self.max_scale_step
        if self.settings.scheduler.action == "target":
            self.nodes.scale(np.clip(action[:, 0] + 1 - self.nodes.n_on, -y, y))
        else:
            self.nodes.scale(action[:, 0] - y)
        self.nodes.tick()
        if self.settings.scheduler.parallelism == "free":
            self.requested_parallelism = action[:, 1] + 1
        else:
            self.requested_parallelism = self.nodes.ready_slots()
        self.n_active = np.clip(self.requested_parallelism, 1,
                                np.maximum(self.nodes.ready_slots(), 1))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.ones_like(numerator), where=denominator > 0)


def check_state_size(settings: WorldSettings, batches: Batches, n_envs: int) -> None:
    """Refuse, before allocating, envs whose state would pass :data:`MAX_STATE_BYTES`:
    per env, each key's home and a router's counters (up to 32 bytes, plus a bit per
    partition), a store word per fingerprint and the per-partition arrays."""
    partitions = settings.cluster.max_partitions
    per_env = (batches.trace.n_keys * (32 + partitions / 8) + batches.trace.n_fingerprints * 8
               + partitions * 8 * 64)
    if n_envs * per_env > MAX_STATE_BYTES:
        raise InputError(f"{n_envs:,} envs of this world would keep about "
                         f"{n_envs * per_env / 2**30:.3g} GiB ({batches.trace.n_keys:,} keys, "
                         f"{batches.trace.n_fingerprints:,} fingerprints, {partitions:,} "
                         f"partitions); at most {MAX_STATE_BYTES / 2**30:.3g} GiB: run fewer "
                         "envs or episodes, or a smaller workload")


def check_partition_limit(settings: WorldSettings, batches: Batches) -> None:
    """Fingerprint stores keep one bit per partition in a 64-bit word."""
    if batches.has_content and settings.cluster.max_partitions > MAX_PARTITIONS:
        raise FieldError("cluster", f"with content (dedup), at most {MAX_PARTITIONS} partitions "
                         f"(nodes x slots_per_node); this cluster has "
                         f"{settings.cluster.max_partitions}")
