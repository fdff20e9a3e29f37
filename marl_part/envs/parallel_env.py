"""A scenario as a PettingZoo ``ParallelEnv``: the n_envs = 1 view of a
:class:`~marl_part.envs.simulation.Simulation`.

Agents are the roles the config learns; every other role is played by its baseline.
Episodes end by truncation after ``episode_length`` micro-batches. ``infos[agent]``
holds the weighted ``reward_terms`` and the step's ``metrics`` (floats), listed in
``info_names``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
from pettingzoo import ParallelEnv

from marl_part.envs.simulation import Simulation
from marl_part.envs.wrappers import apply_wrappers

if TYPE_CHECKING:  # a type only: the config layer sits above the envs
    from marl_part.config import EnvConfig

ONE = np.zeros(1, dtype=np.int64)


class StreamParallelEnv(ParallelEnv):
    metadata = {"name": "marl_part_stream_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, config: EnvConfig, period: str = "train",
                 starts: np.ndarray | None = None):
        self.config = config
        self.simulation = Simulation(config, n_envs=1, period=period, starts=starts)
        self.possible_agents = list(self.simulation.agents)
        self.agents = []
        self.render_mode = None
        self.simulation.reset(ONE, [0])  # a first episode, to size the spaces
        low, high = getattr(self.simulation.scenario, "OBSERVATION_BOUNDS", (-np.inf, np.inf))
        self._observation_spaces = {
            agent: gym.spaces.Box(low, high, obs.shape[1:], np.float32)
            for agent, obs in self.simulation.observations().items()}
        self.state_space = gym.spaces.Box(low, high, self.simulation.state().shape[1:], np.float32)
        self._action_spaces = {agent: gym.spaces.MultiDiscrete(self.simulation.action_nvec(agent))
                               for agent in self.possible_agents}

    @property
    def info_names(self) -> tuple[str, ...]:
        return self.simulation.info_names

    def observation_items(self) -> dict:
        """Agents whose observation starts with per-item features (see ``Items``)."""
        return self.simulation.observation_items()

    def observation_space(self, agent):
        return self._observation_spaces[agent]

    def action_space(self, agent):
        return self._action_spaces[agent]

    def _observations(self) -> dict[str, np.ndarray]:
        return {agent: obs[0].astype(np.float32)
                for agent, obs in self.simulation.observations().items()}

    def state(self) -> np.ndarray:
        return self.simulation.state()[0].astype(np.float32)

    def reset(self, seed=None, options=None):
        self.agents = list(self.possible_agents)
        self.simulation.reset(ONE, [seed])
        return self._observations(), {agent: {} for agent in self.agents}

    def step(self, actions):
        outcome = self.simulation.step({agent: np.asarray(actions[agent])[None]
                                        for agent in self.agents})
        info = {"reward_terms": {k: float(v[0]) for k, v in outcome.reward_terms.items()},
                "metrics": {k: float(v[0]) for k, v in outcome.metrics.items()}}
        agents = self.agents
        truncated = bool(outcome.truncated[0])
        observations = self._observations()
        if truncated:
            self.agents = []
        return (observations, {a: float(outcome.reward[0]) for a in agents},
                {a: False for a in agents}, {a: truncated for a in agents},
                {a: dict(info) for a in agents})


def make_parallel_env(config: EnvConfig, period: str = "train",
                      starts: np.ndarray | None = None):
    """The config's scenario as a PettingZoo parallel env, with its SuperSuit wrappers,
    playing episodes of ``period`` (of the workload's split; from batch ``starts[0]``
    if given)."""
    return apply_wrappers(StreamParallelEnv(config, period, starts), config.wrappers)
