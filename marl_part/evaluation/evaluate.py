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
from typing import Protocol

import numpy as np

from marl_part.config import MAX_EPISODES, EnvConfig
from marl_part.envs.simulation import Simulation
from marl_part.errors import InputError
from marl_part.evaluation.stats import mean_ci95
from marl_part.scenarios import LEARN
from marl_part.typed_yaml import to_dict


class Actor(Protocol):
    """A learned role: observations (n, obs_dim) -> actions (n, len(nvec)); ``source``
    names where it came from (a checkpoint), for errors."""

    obs_dim: int
    nvec: tuple[int, ...]
    source: str

    def __call__(self, obs: np.ndarray) -> np.ndarray: ...


@dataclass
class Rollout:
    """Per-step values of a batch of episodes: arrays (steps, n_envs)."""

    metrics: dict[str, np.ndarray]
    reward_terms: dict[str, np.ndarray]
    reward: np.ndarray
    first_loads: np.ndarray  # (steps, P) work per partition in the first env


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
    rollout: Rollout

    def to_json(self) -> dict:
        return {key: value for key, value in dataclasses.asdict(self).items()
                if key != "rollout"}


def episode_seed(seed: int, episode: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, episode])


def evaluation_seeds(episodes: int, seeds: int) -> list[np.random.SeedSequence]:
    """The evaluation episodes: ``episodes`` for each of ``seeds`` seeds, fresh
    sequences (a reset spawns from them)."""
    return [episode_seed(s, e) for s in range(seeds) for e in range(episodes)]


def check_actors(config: EnvConfig, actors: dict[str, Actor]) -> None:
    """Refuse learned actors that do not fit the config's spaces, or learned roles that
    no actor fills, before any episode is run (one env is built to see the spaces)."""
    simulation = Simulation(config, 1)
    simulation.reset(np.arange(1), [episode_seed(0, 0)])
    _check_fit(simulation, actors)


def _check_fit(simulation: Simulation, actors: dict[str, Actor]) -> None:
    observations = simulation.observations()
    for role, actor in actors.items():
        width, nvec = observations[role].shape[1], tuple(simulation.action_nvec(role))
        if actor.obs_dim != width:
            raise InputError(f"its '{role}' observes {actor.obs_dim} values, this config's "
                             f"{width}", actor.source)
        if tuple(actor.nvec) != nvec:
            raise InputError(f"its '{role}' has action choices {list(actor.nvec)}, this "
                             f"config's {list(nvec)}", actor.source)
    missing = [agent for agent in simulation.agents if agent not in actors]
    if missing:
        raise InputError(f"role(s) {', '.join(missing)} are set to '{LEARN}' but no checkpoint "
                         "fills them; name a baseline or a checkpoint for each role")


def rollout(config: EnvConfig, actors: dict[str, Actor], seeds: list,
            knobs: dict[str, dict[str, np.ndarray]] | None = None,
            rate_scale: np.ndarray | None = None) -> Rollout:
    """One episode per entry of ``seeds``, all envs of one batched simulation;
    ``knobs`` (role -> knob -> per-env values) set the baselines' knobs and
    ``rate_scale`` the stream's speed-up, env by env."""
    n_envs = len(seeds)
    simulation = Simulation(config, n_envs, knobs)
    if rate_scale is not None:
        simulation.world.rate_scale[:] = rate_scale
    simulation.reset(np.arange(n_envs), seeds)
    _check_fit(simulation, actors)
    steps = []
    while True:
        observations = simulation.observations()
        outcome = simulation.step({agent: actors[agent](observations[agent])
                                   for agent in simulation.agents})
        steps.append((outcome, simulation.world.last.loads[0].copy()))
        if outcome.truncated.all():
            break
    outcomes = [o for o, _ in steps]
    run = Rollout(
        metrics={k: np.stack([o.metrics[k] for o in outcomes]) for k in outcomes[0].metrics},
        reward_terms={k: np.stack([o.reward_terms[k] for o in outcomes])
                      for k in outcomes[0].reward_terms},
        reward=np.stack([o.reward for o in outcomes]),
        first_loads=np.stack([loads for _, loads in steps]))
    return run


def evaluate(config: EnvConfig, actors: dict[str, Actor], episodes: int, seeds: int,
             policies: dict[str, str] | None = None) -> EvalResult:
    """Run ``episodes`` x ``seeds`` episodes of ``config``; learned roles act by ``actors``."""
    if not 1 <= episodes * seeds <= MAX_EPISODES:
        raise InputError(f"episodes x seeds = {episodes * seeds:,}: give between 1 and "
                         f"{MAX_EPISODES:,}")
    run = rollout(config, actors, evaluation_seeds(episodes, seeds))
    return EvalResult(
        scenario=config.scenario, workload=to_dict(config.workload),
        policies=policies or dict(config.role_fills()), episodes=episodes, seeds=seeds,
        metrics={name: mean_ci95(values.mean(axis=0)) for name, values in run.metrics.items()},
        reward_terms={name: mean_ci95(values.sum(axis=0))
                      for name, values in run.reward_terms.items()},
        team_reward=mean_ci95(run.reward.sum(axis=0)), rollout=run)


def format_table(result: EvalResult) -> str:
    """The result as an aligned text table: name, mean, 95% CI."""
    rows = [("team_reward", result.team_reward)]
    rows += [(f"reward_terms/{k}", v) for k, v in result.reward_terms.items()]
    rows += [(f"metrics/{k}", v) for k, v in result.metrics.items()]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':{width}}  {'mean':>12}  {'95% CI':>10}"]
    lines += [f"{name:{width}}  {s['mean']:12.4g}  ±{s['ci95']:9.3g}" for name, s in rows]
    return "\n".join(lines)
