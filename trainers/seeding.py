"""A run's random streams, all drawn from its one ``seed``.

The global generators (Python, numpy, torch: network initialisation, exploration,
minibatch order) are seeded with ``seed``. The env streams are *spawned* from
``numpy.random.SeedSequence(seed)`` (O'Neill's seed-sequence hashing, as numpy's
``SeedSequence.spawn`` does it): one child for the training envs, one for the
evaluation envs, one for replay-buffer sampling, one for the action noise of imitation,
and one grandchild per env. Runs with
different seeds therefore share no env stream (with ``seed + i`` per env, seeds 0, 1
and 2 shared 31 of 32 training envs' streams), and adding envs changes none of the
others' streams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

ENTROPY_WORDS = 4  # 128 bits of entropy per env seed


@dataclass(frozen=True)
class RunStreams:
    """Seeds of a run's envs (ints, as every vector env's ``seed()`` takes them) and of
    its replay buffer's sampling generator."""

    train_envs: tuple[int, ...]
    test_envs: tuple[int, ...]
    buffer_sampling: np.ndarray  # uint32 words, a seed for numpy's RandomState
    imitation: np.random.SeedSequence  # the action noise of imitation's teacher episodes

    @classmethod
    def of(cls, seed: int, n_train_envs: int, n_test_envs: int) -> RunStreams:
        train, test, sampling, imitation = np.random.SeedSequence(seed).spawn(4)
        return cls(tuple(_entropy(child) for child in train.spawn(n_train_envs)),
                   tuple(_entropy(child) for child in test.spawn(n_test_envs)),
                   sampling.generate_state(ENTROPY_WORDS), imitation)


def _entropy(sequence: np.random.SeedSequence) -> int:
    """A 128-bit int drawn from ``sequence``: the seed of one env's own sequence."""
    words = sequence.generate_state(ENTROPY_WORDS, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
