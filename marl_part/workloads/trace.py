"""A stream of tuples held as arrays, as every workload reader returns it.

A *tuple* is the unit a router places: a word, a file event, a job, a request or a
backup region. It has a key, an amount of work, an optional arrival time and a
*content*: one or more chunks, each a fingerprint with a size in bytes. Traces that
carry no content get it from :func:`content_model`. The compiled kernels
(:mod:`~marl_part.workloads.ragged`) are imported where they run, so that configs,
whose readers name this module, load without numba.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from marl_part.errors import FieldError


@dataclass(frozen=True)
class ContentModel:
    """Synthetic content for key streams (DESIGN.md "The world", step 3).

    Each key's content is one chunk of ``chunk_bytes`` whose fingerprint repeats on
    every tuple of that key and changes after every ``1 / change_rate`` of the key's
    tuples (with a random phase per key), so a router that keeps a key on one
    partition stores its content once per version.
    """

    change_rate: float = 0.05  # fraction of a key's tuples that bring new content
    chunk_bytes: float = 4096.0  # size of one tuple's content
    seed: int = 0  # phases of the per-key version counters

    def __post_init__(self):
        if not 0.0 <= self.change_rate <= 1.0:
            raise FieldError("change_rate", f"must lie in [0, 1], got {self.change_rate}")
        if self.chunk_bytes <= 0:
            raise FieldError("chunk_bytes", f"must be positive, got {self.chunk_bytes}")
        if self.seed < 0:
            raise FieldError("seed", f"must not be negative, got {self.seed}")


@dataclass(frozen=True)
class Trace:
    """A tuple stream in arrival order.

    Content is stored as chunks in CSR form: tuple ``i`` owns chunks
    ``content_offsets[i]:content_offsets[i+1]``; fingerprints are dense ids
    ``0 .. n_fingerprints-1``. ``key_hash`` is the stateless hash of each key id that
    hash partitioning takes modulo the partition count.
    """

    keys: np.ndarray  # int64 (n_tuples,) dense key ids
    work: np.ndarray  # float64 (n_tuples,)
    times: np.ndarray | None  # float64 (n_tuples,) trace seconds, non-decreasing
    key_names: np.ndarray  # (n_keys,) printable names of the key ids
    key_hash: np.ndarray  # uint64 (n_keys,), below 2**63
    content_offsets: np.ndarray | None = None  # int64 (n_tuples + 1,)
    chunk_fingerprint: np.ndarray | None = None  # int64 (n_chunks,) dense ids
    chunk_bytes: np.ndarray | None = None  # float64 (n_chunks,)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)  # per-tuple extras

    @property
    def n_tuples(self) -> int:
        return len(self.keys)

    @property
    def n_keys(self) -> int:
        return len(self.key_names)

    @property
    def has_content(self) -> bool:
        return self.content_offsets is not None

    @property
    def n_fingerprints(self) -> int:
        return 0 if self.chunk_fingerprint is None else int(self.chunk_fingerprint.max(initial=-1)) + 1

    def take(self, index: np.ndarray) -> Trace:
        """The tuples ``index`` (any order, repeats allowed) as a trace of their own, with
        their content and per-tuple extras."""
        from marl_part.workloads.ragged import gather_segments

        content = {}
        if self.has_content:
            chunks, _, starts = gather_segments(self.content_offsets, index)
            content = dict(content_offsets=starts, chunk_fingerprint=self.chunk_fingerprint[chunks],
                           chunk_bytes=self.chunk_bytes[chunks])
        return Trace(self.keys[index], self.work[index],
                     None if self.times is None else self.times[index], self.key_names,
                     self.key_hash, **content,
                     attributes={k: v[index] for k, v in self.attributes.items()})

    def with_content(self, model: ContentModel) -> Trace:
        """This trace with one synthetic chunk per tuple from ``model``."""
        fingerprints = content_model(self.keys, self.n_keys, model)
        return Trace(self.keys, self.work, self.times, self.key_names, self.key_hash,
                     np.arange(self.n_tuples + 1, dtype=np.int64), fingerprints,
                     np.full(self.n_tuples, model.chunk_bytes), self.attributes)


def content_model(keys: np.ndarray, n_keys: int, model: ContentModel) -> np.ndarray:
    """Dense fingerprint ids, one per tuple: (key, content version) pairs, numbered by
    key, then version. A key's versions are contiguous from 0 (each tuple raises it by
    at most ``change_rate`` <= 1), so its ids are an offset plus the version."""
    from marl_part.workloads.ragged import occurrences

    occurrence, counts = occurrences(keys, n_keys)
    phase = np.random.default_rng(model.seed).random(n_keys)
    version = np.floor(occurrence * model.change_rate + phase[keys]).astype(np.int64)
    versions = np.zeros(n_keys, dtype=np.int64)  # distinct versions of each key
    seen = counts > 0
    versions[seen] = np.floor((counts[seen] - 1) * model.change_rate + phase[seen]) + 1
    first_id = np.concatenate([[0], np.cumsum(versions)[:-1]])
    return first_id[keys] + version


GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment


def mix64(z):
    """splitmix64's finalizer: a fixed 64-bit mix of uint64 arrays (compiled for the
    kernels' scalars in :mod:`marl_part.baselines.common`)."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def stable_key_hash(n_keys: int, salt: np.uint64 = GOLDEN) -> np.ndarray:
    """A fixed mix of each key id (splitmix64, top 63 bits), the hash of hash partitioning."""
    return mix64(np.arange(n_keys, dtype=np.uint64) + np.uint64(salt)) >> np.uint64(1)


def dense_ids(values) -> tuple[np.ndarray, np.ndarray]:
    """Dense integer ids for arbitrary hashable values, in first-seen order, and the names."""
    import pandas as pd

    codes, names = pd.factorize(np.asarray(values), sort=False)
    return codes.astype(np.int64), np.asarray(names)
