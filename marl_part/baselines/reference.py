"""Plain-Python reference versions of the compiled per-tuple routers.

Each one routes one env's micro-batch tuple by tuple, written from the algorithm's
definition with dicts and lists and no numba; the tests check that the compiled
kernels (all envs in one call) route every tuple identically, and ``marl-part bench``
measures how much faster the kernels are. Only the hash choices
and the random stream are shared with the package (they are definitions, not logic).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from marl_part.baselines.common import choice, uniform


def least_loaded(load):
    return min(range(len(load)), key=lambda p: (load[p], p))


def less_loaded_choice(load, key_hash, ways):
    best = choice(key_hash, 0, len(load))
    for j in range(1, ways):
        q = choice(key_hash, j, len(load))
        if load[q] < load[best]:
            best = q
    return best


class PKGRef:
    def route(self, keys, hashes, works, n, t):
        load, out = [0.0] * n, []
        for k, h, w in zip(keys, hashes, works):
            p = less_loaded_choice(load, h, 2)
            load[p] += w
            out.append(p)
        return out


class ChoicesRef:
    """D-Choices (``all_workers=False``) or W-Choices, with exact counts (the test
    stream has fewer keys than SpaceSaving has counters, so its counts are exact)."""

    def __init__(self, all_workers, theta_factor=0.2, epsilon=1e-4):
        self.all_workers, self.theta_factor, self.epsilon = all_workers, theta_factor, epsilon
        self.counts, self.total = defaultdict(int), 0

    def d_for(self, n, theta):
        if self.total == 0 or n <= 2:
            return n
        head = [c / self.total for c in self.counts.values() if c / self.total > theta]
        return dchoices_d(head, n, self.epsilon)

    def route(self, keys, hashes, works, n, t):
        theta = self.theta_factor / n
        d = self.d_for(n, theta)
        load, out = [0.0] * n, []
        for k, h, w in zip(keys, hashes, works):
            self.counts[k] += 1
            self.total += 1
            head = self.total * theta >= 1 and self.counts[k] > theta * self.total
            if head and (self.all_workers or d >= n):
                p = least_loaded(load)
            else:
                p = less_loaded_choice(load, h, d if head else 2)
            load[p] += w
            out.append(p)
        return out


class CAMRef:
    def route(self, keys, hashes, works, n, t):
        load, holds, out = [0.0] * n, defaultdict(set), []
        for k, h, w in zip(keys, hashes, works):
            first, second = choice(h, 0, n), choice(h, 1, n)
            if first in holds[k]:
                p = first
            elif second in holds[k]:
                p = second
            else:
                p = second if load[second] < load[first] else first
            holds[k].add(p)
            load[p] += w
            out.append(p)
        return out


class HotRule:
    """A key is hot in batch t once its count in t exceeds ``fraction`` x the previous
    batch's tuple count / n, and stays hot through batch t + 1."""

    def __init__(self, fraction=1.0):
        self.hot_until, self.prev_total, self.fraction = {}, 0, fraction

    def start(self):
        self.count = defaultdict(int)

    def is_hot(self, k, n, t):
        self.count[k] += 1
        if self.prev_total > 0 and self.count[k] > self.fraction * self.prev_total / n:
            self.hot_until[k] = t + 1
        return self.hot_until.get(k, -1) >= t


class DAGreedyRef:
    def __init__(self, affinity_weight=0.5, hot_fraction=0.01):
        self.rule, self.lam = HotRule(hot_fraction), affinity_weight

    def route(self, keys, hashes, works, n, t):
        self.rule.start()
        load, holds, out = [0.0] * n, defaultdict(set), []
        for k, h, w in zip(keys, hashes, works):
            if self.rule.is_hot(k, n, t):
                mean = sum(load) / n
                scores = [self.lam * (q in holds[k])
                          - (1 - self.lam) * ((load[q] - mean) / mean if mean > 0 else 0.0)
                          for q in range(n)]
                p = scores.index(max(scores))
            else:
                p = choice(h, 0, n)
            holds[k].add(p)
            load[p] += w
            out.append(p)
        self.rule.prev_total = len(keys)
        return out


class FlexDRef:
    def __init__(self, hot_share=0.01, growth=1.1, refresh=10):
        self.hot_share, self.growth, self.refresh = hot_share, growth, refresh
        self.period = -1

    def route(self, keys, hashes, works, n, t):
        if t // self.refresh != self.period:
            self.period = t // self.refresh
            self.count, self.total, self.recorded, self.mapped = defaultdict(int), 0, {}, {}
        load, out = [0.0] * n, []
        for k, h, w in zip(keys, hashes, works):
            share = self.count[k] / self.total if self.total * self.hot_share >= 1 else 0.0
            if share < self.hot_share:
                p = choice(h, 0, n)
            elif k not in self.recorded:
                p = least_loaded(load)
                self.recorded[k], self.mapped[k] = share, {p}
            else:
                grow = share > self.recorded[k]
                pool = [q for q in range(n) if (q in self.mapped[k]) != grow]
                p = min(pool, key=lambda q: (load[q], q)) if pool else least_loaded(load)
                if grow:
                    self.recorded[k] *= self.growth
                self.mapped[k].add(p)
            self.count[k] += 1
            self.total += 1
            load[p] += w
            out.append(p)
        return out


class DaltonRef:
    def __init__(self, seed_state, n_slots, epsilon=0.1, step=0.1, initial=-2.0,
                 hot_fraction=1.0):
        self.rule = HotRule(hot_fraction)
        self.slots = [None] * n_slots  # (key, Q row) per slot, taken in slot order
        self.rng = np.array([seed_state], dtype=np.uint64)
        self.epsilon, self.step, self.initial = epsilon, step, initial

    def row_for(self, k, t):
        for slot in self.slots:
            if slot is not None and slot[0] == k:
                return slot[1]
        for i, slot in enumerate(self.slots):
            if slot is None or self.rule.hot_until[slot[0]] < t:
                self.slots[i] = (k, [self.initial] * 64)
                return self.slots[i][1]
        return None

    def forget(self, k):
        """A key whose hot spell expired loses its row."""
        self.slots = [None if slot is not None and slot[0] == k else slot
                      for slot in self.slots]

    def route(self, keys, hashes, works, n, t):
        self.rule.start()
        load, holds, out = [0.0] * n, defaultdict(set), []
        for k, h, w in zip(keys, hashes, works):
            row = None
            if self.rule.is_hot(k, n, t):
                row = self.row_for(k, t)
            else:
                self.forget(k)
            if row is None:
                p = choice(h, 0, n)
            elif uniform(self.rng, 0) < 1 - self.epsilon:
                p = choice(h, 0, n)
                for r in range(n):
                    if row[r] > row[p]:
                        p = r
            else:
                p = min(int(uniform(self.rng, 0) * n), n - 1)
            holds[k].add(p)
            load[p] += w
            out.append(p)
            if row is not None:
                mean = sum(load) / n
                top = max(load[p], mean)
                reward = -(0.5 * ((load[p] - mean) / top if top > 0 else 0.0)
                           + 0.5 * len(holds[k]) / n)
                row[p] += self.step * (reward - row[p])
        self.rule.prev_total = len(keys)
        return out


class DedupQRef:
    """Q-learning on domains; ``pod_holds(fingerprint, pod)`` and ``relative[pod]``
    describe the stores at the start of the batch."""

    def __init__(self, seed_state, epsilon=0.01, gamma=0.9, step=0.5, load_penalty=1.0):
        self.q = defaultdict(lambda: defaultdict(float))
        self.rng = np.array([seed_state], dtype=np.uint64)
        self.epsilon, self.gamma, self.step, self.penalty = epsilon, gamma, step, load_penalty
        self.pending = None

    def route(self, domains, regions, n, pod_holds, relative):
        out = []
        for s, chunks in zip(domains, regions):
            if self.pending is not None:
                ps, pa, pr = self.pending
                best_next = max(self.q[s][a] for a in range(n))
                self.q[ps][pa] += self.step * (pr + self.gamma * best_next - self.q[ps][pa])
            if uniform(self.rng, 0) < self.epsilon:
                a = min(int(uniform(self.rng, 0) * n), n - 1)
            else:
                a = s % n
                for b in range(n):
                    if self.q[s][b] > self.q[s][a]:
                        a = b
            total = sum(size for _, size in chunks)
            duplicate = sum(size for fp, size in chunks if pod_holds(fp, a))
            reward = (duplicate / total if total else 0.0) - self.penalty * (relative[a] - 1)
            self.pending = (s, a, reward)
            out.append(a)
        return out


def dchoices_d(head, n, epsilon):
    """D-Choices' d, by hand: head = the head keys' frequencies."""
    p_head, p_top = sum(head), max(head, default=0.0)
    tail = max(0.0, 1 - p_head)
    for d in range(max(2, round(p_top * n)), n):
        b = 1 - ((n - 1) / n) ** (len(head) * d)  # share of workers the head covers
        c = 1 - ((n - 1) / n) ** d  # share the top key's d choices cover
        if (p_head + tail * b ** 2 <= b + epsilon
                and p_top + (p_head - p_top) * c ** d + tail * c ** 2 <= c + epsilon):
            return d
    return n

