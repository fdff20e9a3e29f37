"""A tiny cooperative game that needs both agents and a shared convention.

Each step a hidden state ``(x1, x2)`` is drawn, each part uniform over {0, 1, 2}; it
is only jointly observable: the *partitioner* sees x1, the *scheduler* sees x2, the
global state holds both. The partitioner acts with ``MultiDiscrete([3, 2])``
``(key, convention)``, the scheduler with ``Discrete(3)``. The team is paid 1 when
``key == x1`` and ``scheduler == (x2 + convention) % 3``: the partitioner must read its
half, the scheduler its half, and the scheduler must match whatever convention bit
the partitioner settles on (two equally good conventions; no agent can score alone).

Random play earns 1/9 per step; a coordinated team earns 1. An unpaid step counts
as a ``deadline_miss`` in the metrics, so the runner's cumulative count has data. Episodes last
``episode_length`` steps and end by truncation, never termination.
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from marl_part.envs.joint import JointEnv

RANDOM_REWARD_PER_STEP = 1 / 9


class ConventionGame(ParallelEnv):
    metadata = {"name": "convention_game_v0", "render_modes": []}
    possible_agents = ["partitioner", "scheduler"]
    info_names = ("reward_terms/key", "reward_terms/convention", "metrics/step",
                  "metrics/deadline_miss")

    def __init__(self, episode_length: int = 8):
        self.episode_length = episode_length
        self.observation_spaces = {"partitioner": spaces.Box(0, 1, (4,), np.float32),
                                   "scheduler": spaces.Box(0, 1, (3,), np.float32)}
        self.action_spaces = {"partitioner": spaces.MultiDiscrete([3, 2]),
                              "scheduler": spaces.Discrete(3)}
        self.state_space = spaces.Box(0, 1, (7,), np.float32)
        self.rng = np.random.default_rng()
        self.agents: list[str] = []

    def observation_space(self, agent):
        return self.observation_spaces[agent]

    def action_space(self, agent):
        return self.action_spaces[agent]

    def _draw(self) -> None:
        self.x1, self.x2 = (int(v) for v in self.rng.integers(0, 3, size=2))

    def _observations(self) -> dict:
        time_left = 1 - self.t / self.episode_length
        return {"partitioner": np.r_[np.eye(3)[self.x1], time_left].astype(np.float32),
                "scheduler": np.eye(3, dtype=np.float32)[self.x2]}

    def state(self) -> np.ndarray:
        return np.r_[np.eye(3)[self.x1], np.eye(3)[self.x2],
                     1 - self.t / self.episode_length].astype(np.float32)

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.agents, self.t = list(self.possible_agents), 0
        self._draw()
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions):
        key, convention = (int(v) for v in actions["partitioner"])
        key_hit = key == self.x1
        convention_hit = int(actions["scheduler"]) == (self.x2 + convention) % 3
        reward = float(key_hit and convention_hit)
        self.t += 1
        self._draw()
        truncated = self.t >= self.episode_length
        info = {"reward_terms": {"key": float(key_hit), "convention": float(convention_hit)},
                "metrics": {"step": float(self.t), "deadline_miss": float(reward == 0.0)}}
        agents = self.agents
        if truncated:
            self.agents = []
        return (self._observations(), {a: reward for a in agents}, {a: False for a in agents},
                {a: truncated for a in agents}, {a: dict(info) for a in agents})


def make_joint_env(episode_length: int = 8) -> JointEnv:
    return JointEnv(ConventionGame(episode_length))
