"""Per-partition fingerprint stores, as in deduplicating storage clusters.

A chunk whose fingerprint the partition already stores costs nothing; a new one costs
its size (Dong et al., FAST 2011, "Tradeoffs in Scalable Data Routing for
Deduplication Clusters"). One bit per (env, fingerprint, partition) records what each
partition stores: a word per (env, fingerprint) of 8 to 64 bits, as few as the
partitions need (at most 64; smaller words keep more of the table in cache).
A fingerprint stored on no partition yet is new to the *ideal single store* too,
which gives the dedup efficiency (ideal bytes / stored bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

MAX_PARTITIONS = 64


@dataclass
class StoreResult:
    stored_bytes: np.ndarray  # (n_envs, n_partitions) bytes new to each partition
    ideal_bytes: np.ndarray  # (n_envs,) bytes new to a single store of everything


class FingerprintStores:
    def __init__(self, n_envs: int, n_fingerprints: int, n_partitions: int):
        if n_partitions > MAX_PARTITIONS:
            raise ValueError(f"fingerprint stores hold at most {MAX_PARTITIONS} partitions")
        self.n_envs, self.n_fingerprints, self.n_partitions = n_envs, n_fingerprints, n_partitions
        word = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64)
                    if np.iinfo(t).bits >= n_partitions)
        self.bits = np.zeros(n_envs * n_fingerprints, dtype=word)

    def reset(self, env_ids: np.ndarray) -> None:
        self.bits.reshape(self.n_envs, self.n_fingerprints)[env_ids] = 0

    def holders(self, env: np.ndarray, fingerprint: np.ndarray) -> np.ndarray:
        """(n, P): whether each partition of ``env`` stores each ``fingerprint``."""
        words = self.bits[env * self.n_fingerprints + fingerprint].astype(np.uint64)
        shifts = np.arange(self.n_partitions, dtype=np.uint64)
        return ((words[:, None] >> shifts) & np.uint64(1)).astype(bool)

    def store(self, env: np.ndarray, fingerprint: np.ndarray, partition: np.ndarray,
              chunk_bytes: np.ndarray) -> StoreResult:
        """Place chunks: ``fingerprint`` (of ``chunk_bytes``) on ``partition`` in ``env``.

        Returns the bytes each partition had to store (its first copy of a
        fingerprint) and the bytes an ideal single store would have had to store.
        """
        stored = np.zeros((self.n_envs, self.n_partitions))
        ideal = np.zeros(self.n_envs)
        _store(self.bits, self.n_fingerprints, env, fingerprint, partition, chunk_bytes,
               stored, ideal)
        return StoreResult(stored, ideal)

    def store_groups(self, view, row_partition: np.ndarray, choices: np.ndarray,
                     distinct: np.ndarray) -> StoreResult:
        """Place the content groups of a key-routed batch: every group on its key's
        partition, and a group of a split hot key with c copies also on the next
        min(c, m) - 1 of the key's m distinct partitions (``choices``, ``distinct``:
        (n_envs, K, S))."""
        b = view.batches
        stored = np.zeros((self.n_envs, self.n_partitions))
        ideal = np.zeros(self.n_envs)
        _store_groups(self.bits, self.n_fingerprints, b.group_offsets[view.cursor],
                      b.group_offsets[view.cursor + 1], b.group_row, b.group_fingerprint,
                      b.group_count, b.group_bytes, b.key_offsets[view.cursor], view.row_start,
                      row_partition, choices, distinct, stored, ideal)
        return StoreResult(stored, ideal)


# The two kernels below set a partition's bit in a fingerprint's word and count the
# bytes that made new, written out in each: the same lines as a shared inlined helper
# ran 2x slower in numba (8.5 against 4-6 ms per 64-env batch of 10,000 tuples).


@numba.njit(cache=True)
def _store(bits, n_fingerprints, env, fingerprint, partition, chunk_bytes, stored, ideal):
    for i in range(len(env)):
        slot = env[i] * n_fingerprints + fingerprint[i]
        word = np.int64(bits[slot])
        if (word >> partition[i]) & 1 == 0:
            stored[env[i], partition[i]] += chunk_bytes[i]
            if word == 0:
                ideal[env[i]] += chunk_bytes[i]
            bits[slot] = word | (np.int64(1) << partition[i])


@numba.njit(cache=True)
def _store_groups(bits, n_fingerprints, group_start, group_end, group_row, group_fingerprint,
                  group_count, group_bytes, first_row, row_start, row_partition, choices,
                  distinct, stored, ideal):
    hot_keys, ways = choices.shape[1], choices.shape[2]
    for env in range(len(group_start)):
        for g in range(group_start[env], group_end[env]):
            index = group_row[g] - first_row[env]  # the key's rank in its batch
            slot = env * n_fingerprints + group_fingerprint[g]
            copies = min(ways, group_count[g]) if index < hot_keys else 1
            placed = 0
            for s in range(ways):  # the key's partition, then its other distinct ones
                if placed == copies:
                    break
                if s == 0:
                    partition = row_partition[row_start[env] + index]
                elif distinct[env, index, s]:
                    partition = choices[env, index, s]
                else:
                    continue
                placed += 1
                word = np.int64(bits[slot])
                if (word >> partition) & 1 == 0:
                    stored[env, partition] += group_bytes[g]
                    if word == 0:
                        ideal[env] += group_bytes[g]
                    bits[slot] = word | (np.int64(1) << partition)
