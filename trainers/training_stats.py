"""What collection and updates report to the logger.

:class:`TeamCollectStats` extends Tianshou's collect statistics with the sums of the
joint env's per-step ``info["scalars"]`` (every term of the shared reward and every
metric, named by the layout's ``info_names``), so the logger can write their means.
:class:`TeamTrainingStats` carries named losses, keyed ``<agent or team>/<loss>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tianshou.algorithm.algorithm_base import TrainingStats
from tianshou.data import CollectStats


@dataclass(kw_only=True)
class TeamCollectStats(CollectStats):
    """Collect statistics plus the sums of the envs' step scalars over the collection
    (every reward term and metric, named by the layout's ``info_names``), which the
    collector takes from its vector env (``take_scalar_sums``)."""

    info_sums: np.ndarray | None = None  # one sum per entry of the layout's info_names
    info_steps: int = 0


@dataclass(kw_only=True)
class TeamTrainingStats(TrainingStats):
    """Losses of one update, each averaged over its gradient steps, and other values of
    the update worth a curve (e.g. epsilon), written under ``train/``."""

    losses: dict[str, float]
    train_values: dict[str, float] = field(default_factory=dict)

    def get_loss_stats_dict(self) -> dict[str, float]:
        return dict(self.losses)


def mean_losses(per_step: list[dict[str, float]]) -> dict[str, float]:
    """Average a list of same-keyed loss dicts (one per gradient step)."""
    return {key: float(np.mean([losses[key] for losses in per_step])) for key in per_step[0]}
