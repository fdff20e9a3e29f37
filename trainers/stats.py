"""What collection and updates report to the logger.

:class:`TeamCollectStats` extends Tianshou's collect statistics with the sums of the
env's per-step ``info`` entries under ``reward_terms`` and ``metrics`` (the simulator
logs every term of the shared reward separately), so the logger can write their means.
:class:`TeamTrainingStats` carries named losses, keyed ``<agent or team>/<loss>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tianshou.algorithm.algorithm_base import TrainingStats
from tianshou.data import CollectStats

INFO_GROUPS = ("reward_terms", "metrics")


@dataclass(kw_only=True)
class TeamCollectStats(CollectStats):
    """Collect statistics plus per-step sums of numeric ``info[group][name]`` values."""

    info_sums: dict[str, float] = field(default_factory=dict)  # "<group>/<name>" -> sum
    info_steps: int = 0

    def update_at_step_batch(self, step_batch, refresh_sequence_stats: bool = False) -> None:
        super().update_at_step_batch(step_batch, refresh_sequence_stats)
        self.info_steps += len(step_batch)
        for group in INFO_GROUPS:
            entries = step_batch.info.get(group) if step_batch.info is not None else None
            if entries is None:
                continue
            for name, values in entries.items():
                values = np.asarray(values)
                if values.dtype.kind in "biuf":
                    key = f"{group}/{name}"
                    self.info_sums[key] = self.info_sums.get(key, 0.0) + float(values.sum())


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
