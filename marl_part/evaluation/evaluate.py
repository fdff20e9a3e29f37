"""Evaluating a policy pair: every role filled by a baseline or a learned actor, run
over the non-overlapping episodes of a period of the stream (the test period, unless
said otherwise), each under S seeds, all as one batched simulation.

The episodes of a period tile it one after the other (``workload.periods``,
:func:`~marl_part.workloads.periods.tiled_starts`), so each is an independent sample of
the stream; seeds change only what is random in the policies. Metrics are per-step
means of an episode, reward terms and the team reward are episode returns (sums over
steps); each is averaged over an episode's seeds, then reported as the mean over the
episodes with a 95% Student-t interval over them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from marl_part.config import MAX_EPISODES, EnvConfig
from marl_part.envs.simulation import Simulation
from marl_part.errors import InputError
from marl_part.evaluation.stats import mean_ci95
from marl_part.scenarios import LEARN
from marl_part.typed_yaml import to_dict
from marl_part.workloads import load_batches
from marl_part.workloads.periods import tiled_starts


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
    period: str  # the period of the stream the episodes were taken from
    periods: str  # the split, as PeriodBounds.describe says it
    episodes: int  # non-overlapping episodes of the period ...
    seeds: int  # ... each played under this many seeds
    metrics: dict[str, dict[str, float]]
    reward_terms: dict[str, dict[str, float]]
    team_reward: dict[str, float]
    episode_returns: list[float]  # the team return of each episode (mean over seeds)
    rollout: Rollout

    def to_json(self) -> dict:
        return {key: value for key, value in dataclasses.asdict(self).items()
                if key != "rollout"}


@dataclass(frozen=True)
class Episodes:
    """The episodes of a rollout, one env each: env i plays batches from
    ``starts[i]`` of ``period`` and draws what is random from ``seeds[i]``;
    ``episode[i]`` tells which of the period's episodes it is (seeds repeat each)."""

    period: str
    starts: np.ndarray
    seeds: list
    episode: np.ndarray
    split: bool = True  # the period is apart from the others (see PeriodBounds.split)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def count(self) -> int:
        return int(self.episode.max()) + 1

    def repeated(self, times: int) -> Episodes:
        """These episodes ``times`` over, one block after the other."""
        return Episodes(self.period, np.tile(self.starts, times), self.seeds * times,
                        np.tile(self.episode, times), self.split)

    def per_episode(self, values: np.ndarray) -> np.ndarray:
        """(..., envs) -> (..., count): each episode's mean over its seeds."""
        sums = np.zeros(values.shape[:-1] + (self.count,))
        np.add.at(sums.T, self.episode, np.moveaxis(values, -1, 0))
        return sums / np.bincount(self.episode, minlength=self.count)


def _fresh(seed):
    """A seed sequence not yet spawned from, equal to ``seed`` (a reset spawns from the
    sequence it is given, so a rollout replays an episode only from a fresh one)."""
    return (np.random.SeedSequence(seed.entropy, spawn_key=seed.spawn_key)
            if isinstance(seed, np.random.SeedSequence) else seed)


def episode_seed(seed: int, episode: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([seed, episode])


def period_episodes(config: EnvConfig, period: str, episodes: int | None, seeds: int,
                    seed_of=episode_seed) -> Episodes:
    """The non-overlapping episodes of ``period`` (``episodes`` of them, spread evenly
    over it, or all), each under ``seeds`` seeds: env (s, e) draws from ``seed_of(s, e)``."""
    batches = load_batches(config.workload, config.cluster.batch_interval,
                           Path(config.base_dir))
    starts = tiled_starts(batches.periods.of(period), config.episode_length, episodes)
    n = len(starts)
    return Episodes(period, np.tile(starts, seeds),
                    [seed_of(s, e) for s in range(seeds) for e in range(n)],
                    np.tile(np.arange(n), seeds), batches.periods.split)


def describe_periods(config: EnvConfig) -> str:
    """The config's split, as tables print it."""
    batches = load_batches(config.workload, config.cluster.batch_interval,
                           Path(config.base_dir))
    return batches.periods.describe(batches.batch_time)


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


def rollout(config: EnvConfig, actors: dict[str, Actor], episodes: Episodes,
            knobs: dict[str, dict[str, np.ndarray]] | None = None,
            rate_scale: np.ndarray | None = None, engine=None,
            on_step: Callable[[], None] | None = None) -> Rollout:
    """Every episode of ``episodes``, each an env of one batched simulation;
    ``knobs`` (role -> knob -> per-env values) set the baselines' knobs and
    ``rate_scale`` the stream's speed-up, env by env; ``engine`` as
    :class:`~marl_part.envs.simulation.Simulation` takes it; ``on_step()`` hears each
    step."""
    n_envs = len(episodes)
    simulation = Simulation(config, n_envs, knobs, period=episodes.period,
                            starts=episodes.starts, engine=engine)
    if rate_scale is not None:
        simulation.world.rate_scale[:] = rate_scale
    simulation.reset(np.arange(n_envs), [_fresh(seed) for seed in episodes.seeds])
    _check_fit(simulation, actors)
    steps = []
    while True:
        observations = simulation.observations()
        outcome = simulation.step({agent: actors[agent](observations[agent])
                                   for agent in simulation.agents})
        steps.append((outcome, simulation.world.last.loads[0].copy()))
        if on_step is not None:
            on_step()
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


def evaluate(config: EnvConfig, actors: dict[str, Actor], episodes: int | None, seeds: int,
             policies: dict[str, str] | None = None, period: str = "test",
             on_step: Callable[[], None] | None = None) -> EvalResult:
    """Run the non-overlapping episodes of ``period`` (``episodes`` of them, or all),
    each under ``seeds`` seeds; learned roles act by ``actors``; ``on_step()`` hears
    each step of their batched simulation."""
    plan = period_episodes(config, period, episodes, seeds)
    if not 1 <= len(plan) <= MAX_EPISODES:
        raise InputError(f"{plan.count:,} episodes x {seeds} seeds = {len(plan):,}: give "
                         f"between 1 and {MAX_EPISODES:,}")
    return score(config, actors, plan, policies, on_step=on_step)


def score(config: EnvConfig, actors: dict[str, Actor], plan: Episodes,
          policies: dict[str, str] | None = None, engine=None,
          on_step: Callable[[], None] | None = None) -> EvalResult:
    """The episodes of ``plan`` played and summarized (module docstring); ``engine`` as
    :func:`rollout` takes it; ``on_step()`` hears each step."""
    run = rollout(config, actors, plan, engine=engine, on_step=on_step)
    returns = plan.per_episode(run.reward.sum(axis=0))
    return EvalResult(
        scenario=config.scenario, workload=to_dict(config.workload),
        policies=policies or dict(config.role_fills()), period=plan.period,
        periods=describe_periods(config), episodes=plan.count,
        seeds=len(plan) // plan.count,
        metrics={name: mean_ci95(plan.per_episode(values.mean(axis=0)))
                 for name, values in run.metrics.items()},
        reward_terms={name: mean_ci95(plan.per_episode(values.sum(axis=0)))
                      for name, values in run.reward_terms.items()},
        team_reward=mean_ci95(returns), episode_returns=returns.tolist(), rollout=run)


def format_table(result: EvalResult) -> str:
    """The result as an aligned text table: name, mean, 95% CI."""
    rows = [("team_reward", result.team_reward)]
    rows += [(f"reward_terms/{k}", v) for k, v in result.reward_terms.items()]
    rows += [(f"metrics/{k}", v) for k, v in result.metrics.items()]
    width = max(len(name) for name, _ in rows)
    lines = [f"{'':{width}}  {'mean':>12}  {'95% CI':>10}"]
    lines += [f"{name:{width}}  {s['mean']:12.4g}  ±{s['ci95']:9.3g}" for name, s in rows]
    return "\n".join(lines)
