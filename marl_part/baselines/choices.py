"""Key splitting by the power of choices: PKG, D-Choices and W-Choices.

One compiled kernel routes every tuple of every env per step. The *sender* (one per
env) keeps a local load estimate per partition: the work it has sent to each one in
the current micro-batch. We reset that estimate at every batch, because the world
measures balance per micro-batch and the scheduler may change the partition count
between batches (a cumulative count would flood newly added partitions). That is our
adaptation; the papers' senders count since the start of the stream. Loads are work
(1 per tuple in word streams); the hash choices are :func:`~marl_part.baselines.common.choice`.

D- and W-Choices count key frequencies with SpaceSaving over the whole episode (as
published) with m = 10 P counters, so the estimation error N / m stays below half of
the smallest threshold theta = 1 / (5P). A key is in the head when its estimated
count is at least theta times the tuples counted, once at least 1 / theta tuples have
been counted (before that no frequency of theta can be told apart; our guard).
"""

from __future__ import annotations

import numba
import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.common import choice, gather_tuples, least_loaded
from marl_part.baselines.space_saving import SpaceSaving, space_saving_add
from marl_part.sim.routing import TupleRouting

MODE_PKG, MODE_D, MODE_W = 0, 1, 2


@numba.njit(cache=True)
def choices_for_head(counts, size, total, e, n, theta, epsilon):
    """D-Choices' d for env ``e``: the least d in [2, n) with

        sum_head p + (b/n)^2 * sum_tail p <= (b/n) * (1 + epsilon),
        b = n - n * ((n - 1) / n) ** (h * d),

    (h head keys, p their estimated frequencies), i.e. the b workers that the head's
    d choices cover can absorb the head plus the tail keys whose two choices both fall
    among them. Returns n (use every worker) when no d < n suffices.
    """
    if total[e] == 0 or n <= 2:
        return n
    head_sum, h = 0.0, 0
    for i in range(size[e]):
        p = counts[e, i] / total[e]
        if p >= theta:
            head_sum += p
            h += 1
    tail_sum = max(0.0, 1.0 - head_sum)
    for d in range(2, n):
        covered = 1.0 - ((n - 1.0) / n) ** (h * d)  # b / n
        if head_sum + covered * covered * tail_sum <= covered * (1.0 + epsilon):
            return d
    return n


@numba.njit(cache=True)
def _route(mode, env_starts, key, key_hash, work, n_active, theta_factor, epsilon,
           keys, counts, slot, size, total, out):
    n_envs = len(env_starts) - 1
    for e in range(n_envs):
        n = n_active[e]
        load = np.zeros(n)
        theta = theta_factor / n
        d = 2
        if mode == MODE_D:
            d = choices_for_head(counts, size, total, e, n, theta, epsilon)
        for i in range(env_starts[e], env_starts[e + 1]):
            head = False
            if mode != MODE_PKG:
                estimate = space_saving_add(keys, counts, slot, size, total, e, key[i])
                # a frequency of theta is measurable once 1 / theta tuples have been seen
                head = total[e] * theta >= 1.0 and estimate >= theta * total[e]
            if head and (mode == MODE_W or d >= n):
                p = least_loaded(load, n)
            else:
                ways = d if head else 2
                p = choice(key_hash[i], 0, n)
                for j in range(1, ways):
                    q = choice(key_hash[i], j, n)
                    if load[q] < load[p]:
                        p = q
            load[p] += work[i]
            out[i] = p


class _Choices(Baseline):
    """The shared machinery; subclasses set ``mode``."""

    role = "partitioner"
    mode = MODE_PKG

    def __init__(self, world, head_threshold: float = 0.2, epsilon: float = 1e-4,
                 counters: int | None = None):
        super().__init__(world)
        self.theta_factor, self.epsilon = head_threshold, epsilon  # theta = factor / n
        # SpaceSaving error <= N / m: m = 10 P keeps it under theta / 2 for every n <= P
        m = counters or max(8, int(np.ceil(2.0 / (head_threshold / world.max_partitions))))
        n_keys = world.batches.trace.n_keys if self.mode != MODE_PKG else 1
        self.summary = SpaceSaving(world.n_envs, n_keys, m if self.mode != MODE_PKG else 1)

    def reset(self, env_ids, rngs):
        self.summary.reset(env_ids)

    def act(self) -> TupleRouting:
        t = gather_tuples(self.world)
        out = np.empty(len(t.key), dtype=np.int64)
        _route(self.mode, t.starts, t.key, t.key_hash, t.work, self.world.n_active,
               self.theta_factor, self.epsilon, *self.summary.arrays, out)
        return TupleRouting(out)


class PKG(_Choices):
    """Partial Key Grouping (Nasir, De Francisci Morales, García-Soriano, Kourtellis,
    Serafini, "The Power of Both Choices: Practical Load Balancing for Distributed
    Stream Processing Engines", ICDE 2015).

    Key splitting with two choices: every tuple of key k goes to whichever of its two
    hash candidates H1(k), H2(k) the sender has loaded less (local load estimation).
    H1 is the hash partition; H1 wins ties. Load is work (1 per tuple in word streams).
    """

    name, mode = "pkg", MODE_PKG


class DChoices(_Choices):
    """D-Choices (Nasir, De Francisci Morales, Kourtellis, Serafini, "When Two Choices
    Are not Enough: Balancing at Scale in Distributed Stream Processing", ICDE 2016).

    The sender finds the *head* with SpaceSaving over the episode's stream: keys whose
    estimated frequency is at least theta = 1 / (5n) (the paper's threshold as we
    recall it, without the paper at hand: an assumption). A head key's tuple goes to
    the least loaded of its d hash choices, the tail keeps PKG's two. d is recomputed
    at every micro-batch from the head frequencies by :func:`choices_for_head` (our
    reconstruction of the paper's condition, with epsilon = 1e-4); when no d < n
    suffices, the head uses every worker (as W-Choices).
    """

    name, mode = "d_choices", MODE_D


class WChoices(_Choices):
    """W-Choices (Nasir et al., ICDE 2016, as :class:`DChoices`): head keys (SpaceSaving
    frequency >= theta = 1 / (5n)) go to the least loaded of *all* n workers, tail keys
    to the less loaded of their two hash choices."""

    name, mode = "w_choices", MODE_W
