"""Key splitting by the power of choices: PKG, D-Choices and W-Choices.

One compiled kernel routes every tuple of every env per step. The *sender* (one per
env) keeps a local load estimate per partition: the work it has sent to each one in
the current micro-batch. We reset that estimate at every batch, because the world
measures balance per micro-batch and the scheduler may change the partition count
between batches (a cumulative count would flood newly added partitions). That is our
adaptation; the papers' senders count since the start of the stream. Loads are work
(1 per tuple in word streams); the hash choices are :func:`~marl_part.baselines.common.choice`.

D- and W-Choices count key frequencies with SpaceSaving over the whole episode (as
published) with m = 2 P / ``head_threshold`` counters (10 P by default), so the
estimation error N / m stays below half of the smallest threshold theta =
``head_threshold`` / P. A key is in the head when its estimated
count exceeds theta times the tuples counted, once at least 1 / theta tuples have
been counted (before that no frequency of theta can be told apart; our guard).
"""

from __future__ import annotations

import numba
import numpy as np

from marl_part.baselines.base import Baseline
from marl_part.baselines.common import choice, gather_tuples, least_loaded
from marl_part.baselines.knobs import Knob
from marl_part.baselines.space_saving import SpaceSaving, space_saving_add
from marl_part.sim.routing import TupleRouting

MODE_PKG, MODE_D, MODE_W = 0, 1, 2
HEAD_THRESHOLD = Knob("head_threshold", float, 0.01, 1.0, 0.2, (0.05, 0.1, 0.2, 0.5, 1.0),
                      "theta n: a key is in the head above theta (T = 10 in the authors' "
                      "simulator, theta = 2 / (T n))")


@numba.njit(cache=True)
def choices_for_head(counts, size, total, e, n, theta, epsilon):
    """D-Choices' d for env ``e``: the least d in [max(2, round(p_1 n)), n) with

        p_H + p_T (b/n)^2 <= b/n + epsilon,        b/n = 1 - ((n - 1) / n) ** (h d),
        p_1 + (p_H - p_1) c^d + p_T c^2 <= c + epsilon,   c = 1 - ((n - 1) / n) ** d,

    (h head keys of total estimated frequency p_H, the top one p_1, tail p_T = 1 - p_H):
    the b workers that the head's d choices cover can absorb the head plus the tail
    keys whose two choices both fall among them, and the c n workers of the top key's
    d choices can absorb it plus the head and tail keys whose choices all fall among
    them. Returns n (use every worker) when no d < n suffices. As the authors'
    simulator computes it (github.com/anisnasir/SLBSimulator, ``LBDChoice.java``),
    whose search starts from round(p_1 n); we start at 2 or more, since the paper
    gives the head d >= 2 choices.
    """
    if total[e] == 0 or n <= 2:
        return n
    head_sum, top, h = 0.0, 0.0, 0
    for i in range(size[e]):
        p = counts[e, i] / total[e]
        if p > theta:
            head_sum += p
            top = max(top, p)
            h += 1
    tail_sum = max(0.0, 1.0 - head_sum)
    keep = (n - 1.0) / n
    for d in range(max(2, int(np.rint(top * n))), n):
        covered = 1.0 - keep ** (h * d)  # b / n
        top_covered = 1.0 - keep ** d
        if (head_sum + covered * covered * tail_sum <= covered + epsilon
                and top + (head_sum - top) * top_covered ** d
                + tail_sum * top_covered * top_covered <= top_covered + epsilon):
            return d
    return n


@numba.njit(cache=True)
def _route(mode, env_starts, key, key_hash, work, n_active, theta_factor, epsilon,
           keys, counts, slot, size, capacity, total, out):
    n_envs = len(env_starts) - 1
    for e in range(n_envs):
        n = n_active[e]
        load = np.zeros(n)
        theta = theta_factor[e] / n
        d = 2
        if mode == MODE_D:
            d = choices_for_head(counts, size, total, e, n, theta, epsilon[e])
        for i in range(env_starts[e], env_starts[e + 1]):
            head = False
            if mode != MODE_PKG:
                estimate = space_saving_add(keys, counts, slot, size, capacity, total, e,
                                            key[i])
                # a frequency of theta is measurable once 1 / theta tuples have been seen
                head = total[e] * theta >= 1.0 and estimate > theta * total[e]
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
    per_tuple = True
    mode = MODE_PKG

    def __init__(self, world, **knobs):
        super().__init__(world, **knobs)
        absent = np.zeros(world.n_envs)  # PKG has no head, W-Choices no d
        self.theta_factor = getattr(self, "head_threshold", absent)  # theta = factor / n
        self.d_tolerance = getattr(self, "epsilon", absent)
        n_keys, m = 1, 1
        if self.mode != MODE_PKG:
            # SpaceSaving error <= N / m: m = 2 P / factor keeps it under theta / 2 for n <= P
            n_keys = world.batches.trace.n_keys
            m = np.maximum(8, np.ceil(2.0 * world.max_partitions / self.theta_factor))
        self.summary = SpaceSaving(world.n_envs, n_keys, m)

    def reset(self, env_ids, rngs):
        self.summary.reset(env_ids)

    def act(self) -> TupleRouting:
        t = gather_tuples(self.world)
        out = np.empty(len(t.key), dtype=np.int64)
        _route(self.mode, t.starts, t.key, t.key_hash, t.work, self.world.n_active,
               self.theta_factor, self.d_tolerance, *self.summary.arrays, out)
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
    estimated frequency exceeds theta = 1 / (5n). (The authors' simulator,
    github.com/anisnasir/SLBSimulator, takes theta = 2 / (T n) with T a command-line
    argument; 1 / (5n) is T = 10. The paper was not at hand: an assumption.) A head
    key's tuple goes to the least loaded of its d hash choices, the tail keeps PKG's
    two. d comes from the head's frequencies by the two conditions of the authors'
    simulator (:func:`choices_for_head`, additive tolerance epsilon = 1e-4), recomputed
    at every micro-batch (theirs: at every head tuple); when no d < n suffices, the
    head uses every worker (as W-Choices).
    """

    name, mode = "d_choices", MODE_D
    knobs = (HEAD_THRESHOLD,
             Knob("epsilon", float, 0.0, 0.5, 1e-4, (1e-4, 1e-3, 1e-2),
                  "additive tolerance of d's two conditions (the authors' simulator)"))


class WChoices(_Choices):
    """W-Choices (Nasir et al., ICDE 2016, as :class:`DChoices`): head keys (SpaceSaving
    frequency > theta = 1 / (5n)) go to the least loaded of *all* n workers, tail keys
    to the less loaded of their two hash choices."""

    name, mode = "w_choices", MODE_W
    knobs = (HEAD_THRESHOLD,)
