"""The team's action dimensions, laid out as one padded rectangle.

Every agent's action is a ``MultiDiscrete`` (a ``Discrete`` is one dimension); the
team's joint action is the concatenation of all agents' dimensions. Networks that
score the choices of every dimension at once (policy logits for MAPPO, utilities for
QMIX) produce a ``(batch, dims, max_choices)`` tensor; :class:`ActionDims` says which
entries are real choices and which agent owns each dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from marl_part.envs.joint import JointLayout


@dataclass(frozen=True)
class ActionDims:
    """Choices per joint action dimension and the agent each dimension belongs to."""

    nvec: tuple[int, ...]
    agent_of_dim: tuple[int, ...]
    agent_names: tuple[str, ...]

    @classmethod
    def of(cls, layout: JointLayout) -> ActionDims:
        nvec, owners = [], []
        for index, agent in enumerate(layout.agents):
            nvec.extend(agent.nvec)
            owners.extend([index] * len(agent.nvec))
        return cls(tuple(nvec), tuple(owners), tuple(a.name for a in layout.agents))

    @property
    def n_dims(self) -> int:
        return len(self.nvec)

    @property
    def n_agents(self) -> int:
        return len(self.agent_names)

    @property
    def max_choices(self) -> int:
        return max(self.nvec)

    def valid_choices(self) -> torch.Tensor:
        """``(dims, max_choices)`` bool: True where the choice exists in that dimension."""
        return torch.arange(self.max_choices)[None, :] < torch.tensor(self.nvec)[:, None]

    def membership(self) -> torch.Tensor:
        """``(dims, agents)`` float: 1 where the dimension belongs to the agent."""
        return torch.nn.functional.one_hot(torch.tensor(self.agent_of_dim),
                                           self.n_agents).float()

    def dims_of(self, agent: int) -> slice:
        """The agent's dimensions within the joint action."""
        start = self.agent_of_dim.index(agent)
        return slice(start, start + self.agent_of_dim.count(agent))

    def random_actions(self, n: int) -> np.ndarray:
        """``(n, dims)`` uniformly random joint actions (numpy's global RNG, which
        checkpoints save and restore)."""
        return (np.random.rand(n, self.n_dims) * np.asarray(self.nvec)).astype(np.int64)
