"""The named terms of the shared team reward.

Every term is a cost written as a negative number (0 is best), so that a weighted sum
with non-negative weights is the team reward. Weights come from the scenario's
defaults, overridden by the config's ``reward:`` mapping; every weighted term is
logged under its name, and the terms add up to the team reward.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # types only: the world steps, then its reward is read
    from marl_part.sim.world import StepRecord, World


def _dedup_loss(record: StepRecord, world: World) -> np.ndarray:
    efficiency = np.divide(record.ideal_bytes, record.stored_bytes,
                           out=np.ones_like(record.stored_bytes), where=record.stored_bytes > 0)
    return efficiency - 1.0


LATENESS_CAP = 5.0  # a runaway backlog costs at most this much per batch

TERMS = {
    # imbalance of the partitions' busy times, max/mean - 1 (PartLy, SaSPartitioner)
    "balance": lambda r, w: -r.imbalance,
    # 1 for every micro-batch that misses its deadline (Spark auto-scaling DQN)
    "deadline_miss": lambda r, w: -r.deadline_miss,
    # how far past the deadline, in deadlines, counted up to LATENESS_CAP
    "lateness": lambda r, w: -np.minimum(r.lateness, LATENESS_CAP),
    # growth of the backlog, in batch intervals (negative growth, a drain, earns); the
    # terms of an episode sum to minus its final backlog, so it never saturates
    "backlog": lambda r, w: -r.backlog_growth / w.cluster.batch_interval,
    # price of the nodes on, as a fraction of all nodes on
    "node_cost": lambda r, w: -r.node_cost / (w.nodes.price.sum() * w.cluster.batch_interval),
    # merge time of split keys, in batch intervals (PartLy's split cost)
    "split": lambda r, w: -r.merge_time / w.cluster.batch_interval,
    # state migration time of moved keys, in batch intervals
    "migration": lambda r, w: -r.migration_time / w.cluster.batch_interval,
    # dedup efficiency of this batch (ideal single-store bytes / stored bytes) minus 1
    "dedup": _dedup_loss,
    # skew of the bytes the partitions store so far, max/mean - 1 (dedup routing)
    "storage_balance": lambda r, w: -r.storage_skew,
}


def team_reward(world: World, weights: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The team reward (n_envs,) and its weighted terms, from the last step."""
    terms = {name: weight * TERMS[name](world.last, world) for name, weight in weights.items()}
    team = np.sum(list(terms.values()), axis=0) if terms else np.zeros(world.n_envs)
    return team, terms
