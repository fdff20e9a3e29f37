"""Evaluating a policy pair: every role filled by a baseline or a learned actor, run
over N episodes for each of S seeds, all as one batched simulation.

Every (seed, episode) pair is one env with its own random stream, so every episode is
an independent sample: metrics are per-step means of an episode, reward terms and the
team reward are episode returns (sums over steps); each is reported as the mean over
all episodes with a 95% Student-t interval.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

import numpy as np

from marl_part.config import LEARN, EnvConfig
from marl_part.errors import InputError
from marl_part.simulation import Simulation
from marl_part.stats import mean_ci95
from marl_part.typed_yaml import to_dict

Actor = Callable[[np.ndarray], np.ndarray]  # observations (n, d) -> actions (n, dims)


@dataclass
class EpisodeTrace:
    """Per-step values of the first episode, for plots."""

    loads: list = dataclasses.field(default_factory=list)  # (P,) per step
    series: dict = dataclasses.field(default_factory=dict)  # metric -> list per step

    def add(self, record, metrics: dict[str, np.ndarray]) -> None:
        self.loads.append(record.loads[0].copy())
        for name, values in metrics.items():
            self.series.setdefault(name, []).append(float(values[0]))


@dataclass
class EvalResult:
    scenario: str
    workload: dict
    policies: dict[str, str]
    episodes: int
    seeds: int
    metrics: dict[str, dict[str, float]]
    reward_terms: dict[str, dict[str, float]]
    team_reward: dict[str, float]
    trace: EpisodeTrace

    def to_json(self) -> dict:
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "trace"}


def episode_seed(seed: int, episode: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, episode])


def evaluate(config: EnvConfig, actors: dict[str, Actor], episodes: int, seeds: int,
             policies: dict[str, str] | None = None) -> EvalResult:
    """Run ``episodes`` x ``seeds`` episodes of ``config``; learned roles act by ``actors``."""
    n_envs = episodes * seeds
    simulation = Simulation(config, n_envs)
    missing = [agent for agent in simulation.agents if agent not in actors]
    if missing:
        raise InputError(f"role(s) {', '.join(missing)} are set to '{LEARN}' but no checkpoint "
                         "fills them; name a baseline or a checkpoint for each role")
    simulation.reset(np.arange(n_envs), [episode_seed(s, e) for s in range(seeds)
                                         for e in range(episodes)])
    metric_sums, term_sums, reward_sum, trace = {}, {}, np.zeros(n_envs), EpisodeTrace()
    steps = 0
    while True:
        observations = simulation.observations()
        actions = {agent: actors[agent](observations[agent]) for agent in simulation.agents}
        outcome = simulation.step(actions)
        trace.add(simulation.world.last, outcome.metrics)
        steps += 1
        reward_sum += outcome.reward
        for name, values in outcome.metrics.items():
            metric_sums[name] = metric_sums.get(name, 0.0) + values
        for name, values in outcome.reward_terms.items():
            term_sums[name] = term_sums.get(name, 0.0) + values
        if outcome.truncated.all():
            break
    fills = config.role_fills()
    return EvalResult(
        scenario=config.scenario, workload=to_dict(config.workload),
        policies=policies or {role: fill for role, fill in fills.items()},
        episodes=episodes, seeds=seeds,
        metrics={name: mean_ci95(total / steps) for name, total in metric_sums.items()},
        reward_terms={name: mean_ci95(total) for name, total in term_sums.items()},
        team_reward=mean_ci95(reward_sum), trace=trace)


def format_table(result: EvalResult) -> str:
    """The result as an aligned text table: name, mean, 95% CI."""
    rows = [("team_reward", result.team_reward)]
    rows += [(f"reward_terms/{k}", v) for k, v in result.reward_terms.items()]
    rows += [(f"metrics/{k}", v) for k, v in result.metrics.items()]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':{width}}  {'mean':>12}  {'95% CI':>10}"]
    lines += [f"{name:{width}}  {s['mean']:12.4g}  ±{s['ci95']:9.3g}" for name, s in rows]
    return "\n".join(lines)
