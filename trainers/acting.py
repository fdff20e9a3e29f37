"""Act with a trained checkpoint: one agent's role, or the whole team.

Both act greedily and deterministically: the most probable choice of every action
dimension for the PPO family, the highest utility for the Q-learning family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from marl_part.envs.joint import JointLayout
from marl_part.errors import InputError, one_of
from marl_part.trainers.checkpoint import checkpoint_config, layout_from_dict, load_checkpoint
from marl_part.trainers.nets import as_tensor
from marl_part.trainers.registry import algorithm_spec


def _load_scorer(path: str | Path) -> tuple[torch.nn.Module, JointLayout]:
    checkpoint = load_checkpoint(path)
    spec = algorithm_spec(checkpoint["algorithm"])
    layout = layout_from_dict(checkpoint["layout"])
    algorithm = spec.build(checkpoint_config(checkpoint, path, spec.config_class), layout)
    algorithm.load_state_dict(checkpoint["algorithm_state"])
    return algorithm.scorer.eval(), layout


def _check_obs(obs: np.ndarray, width: int, what: str) -> np.ndarray:
    obs = np.asarray(obs, dtype=np.float32)
    if obs.ndim != 2 or obs.shape[1] != width:
        raise ValueError(f"{what} takes observations of shape (n, {width}), got {obs.shape}")
    return obs


class GreedyAgent:
    """One learned agent: ``obs (n, obs_dim) float32 -> actions (n, dims) int64``;
    ``source`` names the checkpoint it came from."""

    def __init__(self, scorer: torch.nn.Module, layout: JointLayout, agent_name: str,
                 source: str = ""):
        names = [a.name for a in layout.agents]
        if agent_name not in names:
            raise InputError(f"this checkpoint has no learned '{agent_name}'; it learned "
                             f"{one_of(names)}", source or None)
        self.scorer, self.index, self.source = scorer, names.index(agent_name), source
        agent = layout.agents[self.index]
        self.name, self.nvec = agent.name, agent.nvec
        self.obs_dim = agent.obs.stop - agent.obs.start

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = _check_obs(obs, self.obs_dim, f"agent '{self.name}'")
        with torch.no_grad():
            scores = self.scorer.agent_scores(self.index, as_tensor(obs, self.scorer))
        return scores.argmax(dim=-1).numpy().astype(np.int64)


class GreedyTeam:
    """The whole team on the joint env: ``obs (n, joint obs_dim) -> joint actions (n, dims)``."""

    def __init__(self, scorer: torch.nn.Module, layout: JointLayout):
        self.scorer, self.layout = scorer, layout

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = _check_obs(obs, self.layout.obs_dim, "the team")
        with torch.no_grad():
            scores, _ = self.scorer(obs)
        return scores.argmax(dim=-1).numpy().astype(np.int64)


def load_actor(checkpoint_path: str | Path, agent_name: str) -> GreedyAgent:
    """The learned role ``agent_name`` of a checkpoint, as a deterministic callable."""
    scorer, layout = _load_scorer(checkpoint_path)
    return GreedyAgent(scorer, layout, agent_name, str(checkpoint_path))


def load_team(checkpoint_path: str | Path) -> GreedyTeam:
    """All learned agents of a checkpoint, acting jointly on the joint observation."""
    scorer, layout = _load_scorer(checkpoint_path)
    return GreedyTeam(scorer, layout)
