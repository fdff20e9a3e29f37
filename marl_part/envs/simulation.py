"""A scenario's world with every role filled, stepped for n_envs envs at once.

Roles marked ``learn`` are the agents: their actions come from outside (a trainer, a
checkpoint, a random policy). Every other role is played by its baseline. Both the
PettingZoo env (n_envs = 1) and the batched vector env (n_envs > 1) are views of this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from marl_part.baselines import make_baseline
from marl_part.envs.joint import Items
from marl_part.errors import InputError
from marl_part.scenarios import LEARN, load_scenario
from marl_part.sim.routing import Routing
from marl_part.sim.world import StepRecord, World

if TYPE_CHECKING:  # a type only: the config layer sits above the envs
    from marl_part.config import EnvConfig


class Engine(Protocol):
    """How an engine applies the partitioner's routing of each batch (see Simulation)."""

    def reset(self, env_ids: np.ndarray) -> None: ...

    def route(self, routing: Routing) -> Routing: ...


@dataclass
class StepOutcome:
    reward: np.ndarray  # (n_envs,) team reward
    reward_terms: dict[str, np.ndarray]  # weighted terms, summing to the reward
    metrics: dict[str, np.ndarray]
    truncated: np.ndarray  # (n_envs,) the episode reached its length
    key_credit: np.ndarray | None = None  # (n_envs, K) hot keys' difference rewards


class Simulation:
    """``knobs`` (role -> knob -> per-env array) replace the knob values of the baselines
    the config names, env by env (how ``marl-part tune`` runs many settings at once).
    ``teachers`` (learned role -> a baseline spec) are fixed policies that can tell,
    at every step, the action they would take in a learned role (:meth:`teacher_actions`,
    what a learner imitates to warm-start); they only watch. Episodes are drawn from
    ``period`` of the workload's split (:mod:`marl_part.workloads.periods`), or begin
    at ``starts[env]`` (see :meth:`World.play`). With ``key_credit`` every step also
    gives the partitioner's hot keys' difference rewards (:mod:`marl_part.sim.credit`).
    ``engine`` models how a stream engine applies the partitioner's decisions
    (:mod:`marl_part.deploy.engine`): built from the simulation, it takes each batch's
    routing and returns the one the batch goes by (None: the decision itself, on the
    batch it was taken on)."""

    SNAPSHOT_STATIC = ("config",)  # data, not state (marl_part.snapshot)

    def __init__(self, config: EnvConfig, n_envs: int = 1,
                 knobs: dict[str, dict[str, np.ndarray]] | None = None,
                 teachers: dict[str, str] | None = None, period: str = "train",
                 starts: np.ndarray | None = None, key_credit: bool = False,
                 engine: Callable[[Simulation], Engine] | None = None):
        self.config = config
        self.scenario = load_scenario(config.scenario, Path(config.base_dir))
        self.world: World = self.scenario.make_world(config, n_envs)
        self.world.play(period, starts)
        self.world.key_credit = key_credit
        fills = config.role_fills()
        self.agents = tuple(role for role, fill in fills.items() if fill == LEARN)
        self.baselines = {role: make_baseline(role, fill, self.world, (knobs or {}).get(role))
                          for role, fill in fills.items() if fill != LEARN}
        # the router of the keys the hot-key placement (learned, or lpt) leaves; None:
        # the world hashes them (tail_stay then needs the hash router's routing)
        tail = config.partitioner.tail
        self.tail_router = (make_baseline("partitioner", tail, self.world)
                            if tail != "hash" or config.partitioner.tail_stay is not None
                            else None)
        if unknown := set(teachers or {}) - set(self.agents):
            raise InputError(f"a teacher for {', '.join(sorted(unknown))}, which no agent "
                             f"learns here (learned: {', '.join(self.agents)})", "teacher")
        self.teachers = {role: make_baseline(role, spec, self.world)
                         for role, spec in (teachers or {}).items()}
        self._seed_sequences = [np.random.SeedSequence() for _ in range(n_envs)]
        self.engine = engine(self) if engine is not None else None

    @property
    def n_envs(self) -> int:
        return self.world.n_envs

    @property
    def info_names(self) -> tuple[str, ...]:
        """``reward_terms/<term>`` and ``metrics/<name>``: what every step reports."""
        return (tuple(f"reward_terms/{term}" for term in self.world.reward_weights)
                + tuple(f"metrics/{name}" for name in StepRecord.METRICS))

    def observation_items(self) -> dict[str, Items]:
        """The agents whose observation begins with per-item features (the scenario's
        ``ITEM_FEATURES``: agent -> features per hot key), as :class:`Items`."""
        features = getattr(self.scenario, "ITEM_FEATURES", {})
        return {agent: Items(self.world.hot_keys, features[agent])
                for agent in self.agents if agent in features}

    def action_nvec(self, agent: str) -> tuple[int, ...]:
        world = self.world
        if agent == "partitioner":
            return (world.partitioner_choice_count(),) * (world.hot_keys * world.split_ways)
        return world.scheduler_action_sizes()

    def reset(self, env_ids: np.ndarray, seeds: list) -> None:
        """New episodes in ``env_ids``.

        ``seeds[i]`` (an int or ``SeedSequence``) reseeds env ``env_ids[i]``; ``None``
        continues that env's own seed sequence, so an env seeded once replays the same
        episodes whether it runs alone or among others (gymnasium's convention).
        """
        streams = []
        for env, seed in zip(env_ids, seeds):
            if seed is not None:
                self._seed_sequences[env] = (seed if isinstance(seed, np.random.SeedSequence)
                                             else np.random.SeedSequence(seed))
            streams.append([np.random.default_rng(s)
                            for s in self._seed_sequences[env].spawn(2)])
        self.scenario.reset_world(self.world, np.asarray(env_ids), [s[0] for s in streams])
        routers = [*self.baselines.values(), *self.teachers.values(),
                   *filter(None, [self.tail_router])]
        for baseline in routers:
            baseline.reset(np.asarray(env_ids), [s[1] for s in streams])
        if self.engine is not None:
            self.engine.reset(np.asarray(env_ids))
        self._route_tail()

    def _route_tail(self) -> None:
        """The tail router routes the new batch before the partitioner sees it (a reset
        of some envs routes the others' batch again: episodes here reset together)."""
        if self.tail_router is not None:
            self.world.set_tail_routing(self.tail_router.act())

    def teacher_actions(self) -> dict[str, np.ndarray]:
        """What every teacher would do now in its role: (n_envs, dims) per role."""
        return {role: teacher.action() for role, teacher in self.teachers.items()}

    def observations(self) -> dict[str, np.ndarray]:
        observations = {agent: self.scenario.observation(agent, self.world)
                        for agent in self.agents}
        check_finite({f"the observation of {agent}": obs for agent, obs in observations.items()})
        return observations

    def state(self) -> np.ndarray:
        state = self.scenario.state(self.world)
        check_finite({"the state": state})
        return state

    def step(self, actions: dict[str, np.ndarray]) -> StepOutcome:
        """One micro-batch: the agents' ``actions`` (n_envs, dims) and the baselines' decisions."""
        world = self.world
        decisions = {role: baseline.act() for role, baseline in self.baselines.items()}
        if "partitioner" in actions:
            decisions["partitioner"] = world.hot_key_routing(actions["partitioner"])
        if "scheduler" in actions:
            decisions["scheduler"] = actions["scheduler"]
        routing = decisions["partitioner"]
        if self.engine is not None:
            routing = self.engine.route(routing)
        record = world.step(routing, decisions["scheduler"])
        self._route_tail()
        reward, terms = self.scenario.reward(world)
        outcome = StepOutcome(reward, terms, record.metrics(), world.truncated.copy(),
                              world.last_key_credit)
        check_finite({"team_reward": reward, **{f"reward_terms/{k}": v for k, v in terms.items()},
                      **outcome.metrics})
        return outcome


def check_finite(values: dict[str, np.ndarray]) -> None:
    """Refuse the results of invalid arithmetic (NaN, inf): nothing learns from them and
    no report scores them. Inputs are finite (the config loader sees to it), so they come
    from numbers too extreme for float arithmetic."""
    for name, value in values.items():
        if not np.isfinite(value).all():
            first = value[~np.isfinite(value)].flat[0]
            raise InputError(f"the simulation computed {name} = {first}: a config number is "
                             "too extreme for its arithmetic (a node speed near 0, a price or "
                             "weight near the float limit)")
