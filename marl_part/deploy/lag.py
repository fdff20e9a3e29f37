"""What deciding from the previous window costs, in the simulator: the config's team on
every episode of the test period, routed by each batch's own decision and by the
decision taken on the batch before (:class:`~marl_part.deploy.engine.PreviousWindow`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marl_part.config import EnvConfig
from marl_part.deploy.engine import PreviousWindow
from marl_part.evaluation.evaluate import Actor, period_episodes, score
from marl_part.evaluation.stats import mean_ci95


@dataclass
class LagCost:
    episodes: int
    same_window: dict[str, float]  # team reward per episode: mean and ci95
    previous_window: dict[str, float]
    cost: dict[str, float]  # same minus previous, paired over the episodes


def lag_cost(config: EnvConfig, actors: dict[str, Actor]) -> LagCost:
    plan = period_episodes(config, "test", None, 1)
    same = score(config, actors, plan)
    late = score(config, actors, plan, engine=PreviousWindow)
    return LagCost(plan.count, same.team_reward, late.team_reward,
                   mean_ci95(np.subtract(same.episode_returns, late.episode_returns)))
