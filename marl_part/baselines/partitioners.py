"""Partitioning baselines."""

from __future__ import annotations

from marl_part.baselines.base import Baseline
from marl_part.routing import KeyRouting


class Hash(Baseline):
    """Hash partitioning (key grouping): a key always goes to hash(key) mod n."""

    role, name = "partitioner", "hash"

    def act(self) -> KeyRouting:
        return self.world.hash_routing()
