"""Per-partition fingerprint stores, as in deduplicating storage clusters.

A chunk whose fingerprint the partition already stores costs nothing; a new one costs
its size (Dong et al., FAST 2011, "Tradeoffs in Scalable Data Routing for
Deduplication Clusters"). One bit per (env, fingerprint, partition) records what each
partition stores: a uint64 word per (env, fingerprint), so at most 64 partitions.
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
        self.bits = np.zeros(n_envs * n_fingerprints, dtype=np.uint64)

    def reset(self, env_ids: np.ndarray) -> None:
        self.bits.reshape(self.n_envs, self.n_fingerprints)[env_ids] = 0

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


@numba.njit(cache=True)
def _store(bits, n_fingerprints, env, fingerprint, partition, chunk_bytes, stored, ideal):
    for i in range(len(env)):
        slot = env[i] * n_fingerprints + fingerprint[i]
        word = bits[slot]
        bit = np.uint64(1) << np.uint64(partition[i])
        if word & bit == 0:
            stored[env[i], partition[i]] += chunk_bytes[i]
            if word == 0:
                ideal[env[i]] += chunk_bytes[i]
            bits[slot] = word | bit
