"""Dedup routers: where each region (super-chunk) of a backup stream is stored.

Partitioner-role baselines for ``marl_part.scenarios.dedup_route``; partitions are storage
pods, tuples are regions and a region's content is its chunks. They read the pods'
fingerprint stores (``world.stores.bits``: bit p of word (env, fingerprint) = pod p
stores it) and the bytes each pod stores (``world.totals.partition_bytes``) as they
are at the start of the batch; regions of one batch do not see each other's writes
(the world stores a batch's content after routing it).
"""

from __future__ import annotations

import numba
import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.common import require_content, rng_states, uniform
from marl_part.baselines.knobs import Knob
from marl_part.errors import InputError
from marl_part.sim.routing import TupleRouting
from marl_part.workloads.ragged import gather_segments
from marl_part.workloads.trace import mix64


def relative_storage(world) -> np.ndarray:
    """(n_envs, P): bytes each pod stores over the mean of the active pods (1 when
    nothing is stored yet)."""
    stored = world.totals.partition_bytes
    active = np.arange(world.max_partitions)[None, :] < world.n_active[:, None]
    mean = (stored * active).sum(axis=1) / world.n_active
    return np.divide(stored, mean[:, None], out=np.ones_like(stored), where=mean[:, None] > 0)


class _Stateless(Baseline):
    """Stateless routing (Dong et al., FAST 2011, "Tradeoffs in Scalable Data Routing
    for Deduplication Clusters"; the dedup-routing course report's domains and bins).

    A region's feature (its first, smallest or largest chunk fingerprint) modulo the
    domain count D gives its domain; domains are binned onto the active pods as
    ``domain mod n``. D is the workload's ``domains`` (the trace's key count). Needs
    the region features of a ``chunks_csv`` trace.
    """

    role = "partitioner"
    per_tuple = True
    feature = "max"

    def __init__(self, world):
        super().__init__(world)
        trace = world.batches.trace
        column = f"{self.feature}_fp"
        if column not in trace.attributes:
            raise InputError(f"partitioner '{self.name}' routes regions by their {self.feature} "
                             "fingerprint; it needs a chunks_csv workload", key="roles.partitioner")
        self.domain = (trace.attributes[column] % np.uint64(trace.n_keys)).astype(np.int64)

    def act(self) -> TupleRouting:
        index, env, _ = self.world.view.tuples()
        return TupleRouting(self.domain[index] % self.world.n_active[env])


class DedupFirst(_Stateless):
    __doc__ = _Stateless.__doc__
    name, feature = "dedup_first", "first"


class DedupMin(_Stateless):
    __doc__ = _Stateless.__doc__
    name, feature = "dedup_min", "min"


class DedupMax(_Stateless):
    __doc__ = _Stateless.__doc__
    name, feature = "dedup_max", "max"


class DedupStateful(Baseline):
    """Stateful routing (Dong, Douglis, Li, Patterson, Reddy, Shilane, "Tradeoffs in
    Scalable Data Routing for Deduplication Clusters", FAST 2011).

    The router samples the region's fingerprints (content-defined: a fingerprint is a
    sample when its hash is 0 mod ``sample_every``, so every copy of a chunk is
    sampled alike), asks every active pod how many samples it already stores, and
    sends the region to the pod with the most matches divided by its relative storage
    load (its stored bytes over the active pods' mean), so that a full pod must match
    more to win; lowest pod on ties. A region with no match anywhere falls back to
    stateless routing (its domain, binned as ``domain mod n``). Assumption: sample
    1 in 2 (regions here hold about 8 chunks, far fewer than the paper's 1 MB
    super-chunks, so sparser sampling would leave most regions without a sample).
    """

    role, name = "partitioner", "dedup_stateful"
    per_tuple = True
    knobs = (Knob("sample_every", int, 1, 1024, 2, (1, 2, 4, 8),
                  "1 in this many fingerprints is a sample"),)

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        require_content(world, self.name)
        trace = world.batches.trace
        self.chunk_hash = mix64(trace.chunk_fingerprint.astype(np.uint64))

    def is_sample(self, chunks: np.ndarray, env: np.ndarray) -> np.ndarray:
        """Whether each chunk is a sample in its env's sampling."""
        return self.chunk_hash[chunks] % self.sample_every[env].astype(np.uint64) == 0

    def matches(self):
        """(tuples, P) sampled fingerprints of each region of the batch already on each pod."""
        world = self.world
        index, env, _ = world.view.tuples()
        trace, stores = world.batches.trace, world.stores
        chunks, owner, _ = gather_segments(trace.content_offsets, index)
        keep = self.is_sample(chunks, env[owner])
        chunks, owner = chunks[keep], owner[keep]
        held = stores.holders(env[owner], trace.chunk_fingerprint[chunks])
        out = np.zeros((len(index), world.max_partitions))
        np.add.at(out, owner, held.astype(np.float64))
        return out

    def act(self) -> TupleRouting:
        world = self.world
        _, env, _ = world.view.tuples()
        matches = self.matches()
        active = np.arange(world.max_partitions)[None, :] < world.n_active[env][:, None]
        score = np.where(active, matches / np.maximum(relative_storage(world)[env], 1e-9), -1.0)
        best = score.argmax(axis=1)
        fallback = world.view.hash_partition[world.view.tuple_row_position()]
        return TupleRouting(np.where((matches * active).max(axis=1) > 0, best, fallback))


@numba.njit(cache=True)
def _q_route(starts, domain, index, content_offsets, fingerprint, chunk_bytes, bits,
             n_fingerprints, n_active, relative, q, pending, pending_reward, rng_state, epsilon,
             gamma, step_size, load_penalty, out):
    for e in range(len(starts) - 1):
        n = n_active[e]
        for i in range(starts[e], starts[e + 1]):
            s = domain[i]
            if pending[e, 0] >= 0:  # the previous region's update, now that s' is known
                ps, pa = pending[e, 0], pending[e, 1]
                best_next = q[e, s, 0]
                for a in range(1, n):
                    best_next = max(best_next, q[e, s, a])
                target = pending_reward[e] + gamma[e] * best_next
                q[e, ps, pa] += step_size[e] * (target - q[e, ps, pa])
            if uniform(rng_state, e) < epsilon[e]:
                a = min(int(uniform(rng_state, e) * n), n - 1)
            else:
                a = s % n  # the stateless bin wins ties
                for b in range(n):
                    if q[e, s, b] > q[e, s, a]:
                        a = b
            out[i] = a
            duplicate, total = 0.0, 0.0
            t = index[i]
            for c in range(content_offsets[t], content_offsets[t + 1]):
                total += chunk_bytes[c]
                word = bits[e * n_fingerprints + fingerprint[c]]
                if (word >> np.uint64(a)) & np.uint64(1):
                    duplicate += chunk_bytes[c]
            reward = duplicate / total if total > 0 else 0.0
            reward -= load_penalty * (relative[e, a] - 1.0)
            pending[e, 0], pending[e, 1], pending_reward[e] = s, a, reward


class DedupQLearning(Baseline):
    """Tabular Q-learning on domains, after the dedup-routing course report (FSL backup
    traces; stateless domains as in Dong et al., FAST 2011).

    State = the region's domain, action = a pod. Each region goes to the greedy pod of
    its domain (ties to the stateless bin ``domain mod n``, so an untrained table
    routes statelessly) or, with epsilon = 0.01, to a random active pod. Reward = the
    fraction of the region's bytes the chosen pod already stores, minus
    ``load_penalty * (relative storage of the pod - 1)``. The update uses the next
    region's domain as s': ``Q(s,a) += 0.5 (r + 0.9 max_a' Q(s',a') - Q(s,a))``.
    Learns online during the episode, forgets at reset. ``dedup_q`` uses a load
    penalty of 1, ``dedup_q_plain`` none.
    """

    role, name = "partitioner", "dedup_q"
    per_tuple = True
    load_penalty = 1.0
    knobs = (Knob("epsilon", float, 0.0, 1.0, 0.01, (0.0, 0.01, 0.05),
                  "exploration probability (the report's)"),
             Knob("gamma", float, 0.0, 1.0, 0.9, (0.0, 0.5, 0.9), "discount (the report's)"),
             Knob("step_size", float, 0.001, 1.0, 0.5, (0.1, 0.5, 0.9),
                  "learning rate (the report's)"))

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        require_content(world, self.name)
        n_envs, n_domains = world.n_envs, world.batches.trace.n_keys
        self.q = np.zeros((n_envs, n_domains, world.max_partitions), dtype=np.float32)
        self.pending = np.full((n_envs, 2), -1, dtype=np.int64)  # the last state and action
        self.pending_reward = np.zeros(n_envs)
        self.rng_state = np.zeros(n_envs, dtype=np.uint64)

    def reset(self, env_ids, rngs):
        self.q[env_ids] = 0.0
        self.pending[env_ids] = -1
        self.rng_state[env_ids] = rng_states(rngs)

    def act(self) -> TupleRouting:
        world = self.world
        index, env, starts = world.view.tuples()
        trace = world.batches.trace
        out = np.empty(len(index), dtype=np.int64)
        _q_route(starts, trace.keys[index], index, trace.content_offsets, trace.chunk_fingerprint,
                 trace.chunk_bytes, world.stores.bits, world.stores.n_fingerprints,
                 world.n_active, relative_storage(world), self.q, self.pending, self.pending_reward,
                 self.rng_state,
                 self.epsilon, self.gamma, self.step_size, self.load_penalty, out)
        return TupleRouting(out)


class DedupQLearningPlain(DedupQLearning):
    __doc__ = DedupQLearning.__doc__
    name, load_penalty = "dedup_q_plain", 0.0
