"""``chunks_csv``: a backup fingerprint trace, columns ``snapshot,path,chunk,size,fp``
(hex fingerprint), as in the dedup-routing study of Dong et al. (FAST 2011).

Consecutive chunks are grouped into *regions* (super-chunks) of about
``region_bytes``; a region is the tuple a router places, its chunks its content. The
key of a region is its *domain*: a fingerprint feature of the region (its first,
smallest or largest fingerprint) modulo ``domains``, so stateless routing keeps
similar regions together. All three features are kept per region (attributes
``first_fp``, ``min_fp``, ``max_fp``) for the stateless baselines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from marl_part.errors import FieldError, InputError
from marl_part.workloads.batching import Batching
from marl_part.workloads.common import MAX_KEYS, numeric_column, read_table, resolve
from marl_part.workloads.source import Source
from marl_part.workloads.trace import Trace, dense_ids

COLUMNS = ["snapshot", "path", "chunk", "size", "fp"]
HEX = np.full(256, 255, dtype=np.uint8)
HEX[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16)
HEX[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)


@dataclass(frozen=True, kw_only=True)
class ChunksCsvSource(Source):
    source: Literal["chunks_csv"]
    path: str
    batch: Batching = Batching(tuples=8)  # regions per micro-batch
    region_bytes: float = 32768.0  # target size of a region (super-chunk)
    domains: int = 64  # the domain of a region is its feature modulo this count
    region_key: Literal["first", "min", "max"] = "max"  # the feature that makes the key
    work: Literal["bytes", "chunks"] = "bytes"  # a region's work: its bytes or chunk count

    def __post_init__(self):
        super().__post_init__()
        if self.region_bytes < 1:
            raise FieldError("region_bytes", f"must be at least 1, got {self.region_bytes}")
        if not 1 <= self.domains <= MAX_KEYS:
            raise FieldError("domains", f"must lie in [1, {MAX_KEYS:,}], got {self.domains}")
        if self.content is not None:
            raise FieldError("content", "a chunk trace carries its own content; remove 'content'")

    def read(self, base_dir: Path) -> Trace:
        path = resolve(self.path, base_dir)
        table = read_table(path, COLUMNS, dtype={"fp": str, "path": str})
        sizes = numeric_column(table, "size", path)
        fingerprints = hex_to_uint64(table["fp"].to_numpy(str), path)
        region = region_ids(sizes, self.region_bytes)
        n_regions = int(region[-1]) + 1 if len(region) else 0
        if self.limit is not None:
            n_regions = min(n_regions, self.limit)
            keep = region < n_regions
            sizes, fingerprints, region = sizes[keep], fingerprints[keep], region[keep]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(region)) + 1])
        features = {"first_fp": fingerprints[starts],
                    "min_fp": np.minimum.reduceat(fingerprints, starts),
                    "max_fp": np.maximum.reduceat(fingerprints, starts)}
        domain = features[f"{self.region_key}_fp"] % np.uint64(self.domains)
        dense_fp, _ = dense_ids(fingerprints)
        work = (np.add.reduceat(sizes, starts) if self.work == "bytes"
                else np.diff(np.append(starts, len(sizes))).astype(np.float64))
        return Trace(keys=domain.astype(np.int64), work=work, times=None,
                     key_names=np.char.add("domain", np.arange(self.domains).astype(str)),
                     key_hash=np.arange(self.domains, dtype=np.uint64),
                     content_offsets=np.append(starts, len(sizes)).astype(np.int64),
                     chunk_fingerprint=dense_fp, chunk_bytes=sizes, attributes=features)


def region_ids(sizes: np.ndarray, region_bytes: float) -> np.ndarray:
    """Region of each chunk: the ``region_bytes`` window of the stream it starts in."""
    ends = np.cumsum(sizes)
    return np.floor((ends - sizes) / region_bytes).astype(np.int64)


def hex_to_uint64(hex_strings: np.ndarray, path: Path) -> np.ndarray:
    """Vectorized parse of hex fingerprints (the low 64 bits of longer ones)."""
    width = max(1, int(np.char.str_len(hex_strings).max(initial=1)))
    raw = np.char.rjust(hex_strings.astype(f"U{width}"), width, "0").astype(f"S{width}")
    nibbles = HEX[np.frombuffer(raw.tobytes(), np.uint8).reshape(len(raw), width)][:, -16:]
    bad = (nibbles == 255).any(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"column 'fp': {str(hex_strings[row])!r} is not a hex fingerprint",
                         f"{path}:{row + 2}")
    value = np.zeros(len(raw), np.uint64)
    for column in range(nibbles.shape[1]):
        value = (value << np.uint64(4)) | nibbles[:, column].astype(np.uint64)
    return value
