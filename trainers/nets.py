"""Networks over the joint observation: per-agent scorers and critics.

A *scorer* maps observations to one score per choice of every action dimension:
logits for the MAPPO actors, utilities for the QMIX agents. Each agent sees only its
own slice of the joint observation (decentralized execution). Scores come as a padded
``(batch, dims, max_choices)`` tensor; choices that do not exist hold the lowest float,
so a softmax gives them probability 0 and an argmax never picks them.

MLP details follow the MAPPO reference implementation (Yu et al., NeurIPS 2022):
optional LayerNorm on the input ("feature normalization"), ReLU, orthogonal
initialization with a small gain on the output layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import nn

from marl_part.envs.joint import AgentLayout, JointLayout
from marl_part.trainers.action_dims import ActionDims
from marl_part.trainers.configs import check_item_network


def mlp(in_dim: int, hidden_sizes: tuple[int, ...], out_dim: int, *,
        input_layer_norm: bool = False,
        orthogonal_output_gain: float | None = None) -> nn.Sequential:
    """ReLU MLP; with ``orthogonal_output_gain`` set, orthogonal init (ReLU gain for the
    hidden layers, the given gain for the output layer) and zero biases."""
    layers: list[nn.Module] = [nn.LayerNorm(in_dim)] if input_layer_norm else []
    sizes = (in_dim, *hidden_sizes)
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], out_dim))
    net = nn.Sequential(*layers)
    if orthogonal_output_gain is not None:
        linears = [m for m in net if isinstance(m, nn.Linear)]
        for linear in linears:
            last = linear is linears[-1]
            gain = orthogonal_output_gain if last else nn.init.calculate_gain("relu")
            nn.init.orthogonal_(linear.weight, gain)
            nn.init.zeros_(linear.bias)
    return net


def as_tensor(obs: np.ndarray | torch.Tensor, like: nn.Module) -> torch.Tensor:
    device = next(like.parameters()).device
    return torch.as_tensor(obs, dtype=torch.float32, device=device)


class _Scorer(nn.Module, ABC):
    """Shared plumbing: padding an agent's flat scores into its rows of the rectangle."""

    def __init__(self, layout: JointLayout):
        super().__init__()
        self.layout = layout
        self.dims = ActionDims.of(layout)
        self.register_buffer("valid", self.dims.valid_choices(), persistent=False)

    def _pad(self, agent: int, flat: torch.Tensor) -> torch.Tensor:
        """``(batch, sum of nvec)`` scores of one agent -> ``(batch, its dims, max_choices)``."""
        rows = self.valid[self.dims.dims_of(agent)]
        if flat.shape[1] == rows.numel():  # every dimension has the most choices: no padding
            return flat.view(flat.shape[0], *rows.shape)
        padded = flat.new_full((flat.shape[0], *rows.shape), torch.finfo(flat.dtype).min)
        padded[:, rows] = flat
        return padded

    def forward(self, obs, state=None, info=None) -> tuple[torch.Tensor, None]:
        """Tianshou actor protocol: ``(scores (batch, dims, max_choices), hidden state)``."""
        obs = as_tensor(obs, self)
        scores = [self.agent_scores(i, obs[:, a.obs]) for i, a in enumerate(self.layout.agents)]
        return torch.cat(scores, dim=1), None

    @abstractmethod
    def agent_scores(self, agent: int, obs: torch.Tensor) -> torch.Tensor:
        """``(batch, agent's dims, max_choices)`` scores from the agent's own observation."""


class AgentScorers(_Scorer):
    """One network per agent, each on its own observation slice (heterogeneous agents):
    an MLP, or with ``item_network`` an :class:`ItemNetwork` for an agent that decides
    for items (its layout's ``items``)."""

    def __init__(self, layout: JointLayout, hidden_sizes: tuple[int, ...], *,
                 input_layer_norm: bool = False, orthogonal_output_gain: float | None = None,
                 item_network: bool = False):
        super().__init__(layout)
        check_item_network(item_network, [a.name for a in layout.agents if a.items])
        self.nets = nn.ModuleList(
            ItemNetwork(a, hidden_sizes, input_layer_norm=input_layer_norm,
                        orthogonal_output_gain=orthogonal_output_gain)
            if item_network and a.items else
            mlp(a.obs.stop - a.obs.start, hidden_sizes, sum(a.nvec),
                input_layer_norm=input_layer_norm, orthogonal_output_gain=orthogonal_output_gain)
            for a in layout.agents)

    def agent_scores(self, agent: int, obs: torch.Tensor) -> torch.Tensor:
        return self._pad(agent, self.nets[agent](obs))


class ItemNetwork(nn.Module):
    """The scores of an agent that decides for items alike (the partitioner's hot keys),
    from one small network shared by the items: per item, its features, its position
    (i / count: hotter keys come first) and an embedding of the rest of the observation
    (the context every item shares) -> the scores of that item's action dimensions.

    What is learned for one key serves every key, where a flat MLP has a separate output
    head per key, which the per-dimension credit of a 100-dimension action trains
    slowly (deep sets; Zaheer et al., "Deep Sets", NeurIPS 2017)."""

    def __init__(self, agent: AgentLayout, hidden_sizes: tuple[int, ...], *,
                 input_layer_norm: bool = False, orthogonal_output_gain: float | None = None):
        super().__init__()
        items, width = agent.items, agent.obs.stop - agent.obs.start
        self.count, self.features = items.count, items.features
        self.dims_per_item = len(agent.nvec) // items.count
        if len(agent.nvec) % items.count or len(set(agent.nvec)) != 1:
            raise ValueError(f"agent '{agent.name}': {len(agent.nvec)} action dimensions of "
                             f"choices {set(agent.nvec)} are no {items.count} alike items")
        hidden = hidden_sizes[-1]
        self.context = mlp(width - items.count * items.features, hidden_sizes[:-1] or (hidden,),
                           hidden, input_layer_norm=input_layer_norm)
        self.item = mlp(items.features + 1 + hidden, hidden_sizes,
                        self.dims_per_item * agent.nvec[0], input_layer_norm=input_layer_norm,
                        orthogonal_output_gain=orthogonal_output_gain)
        self.register_buffer("position", torch.arange(items.count) / items.count,
                             persistent=False)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """``(batch, obs width)`` -> ``(batch, sum of nvec)`` scores, item-major."""
        batch, block = obs.shape[0], self.count * self.features
        per_item = obs[:, :block].view(batch, self.features, self.count).transpose(1, 2)
        context = torch.relu(self.context(obs[:, block:]))
        inputs = torch.cat([per_item, self.position.expand(batch, self.count)[:, :, None],
                            context[:, None, :].expand(batch, self.count, context.shape[1])],
                           dim=2)
        return self.item(inputs).reshape(batch, -1)


class SharedScorer(_Scorer):
    """One MLP shared by all agents (parameter sharing).

    Its input is the agent's observation zero-padded to the longest one plus a one-hot
    agent indicator (what SuperSuit's ``pad_observations_v0`` + ``agent_indicator_v0``
    do on the PettingZoo side); its output covers the most dimensions and choices of
    any agent, and each agent reads its own leading dimensions and choices
    (``pad_action_space_v0`` cannot pad a MultiDiscrete beside a Discrete).
    """

    def __init__(self, layout: JointLayout, hidden_sizes: tuple[int, ...], *,
                 input_layer_norm: bool = False, orthogonal_output_gain: float | None = None):
        super().__init__(layout)
        self.max_obs = max(a.obs.stop - a.obs.start for a in layout.agents)
        self.max_dims = max(len(a.nvec) for a in layout.agents)
        self.net = mlp(self.max_obs + len(layout.agents), hidden_sizes,
                       self.max_dims * self.dims.max_choices, input_layer_norm=input_layer_norm,
                       orthogonal_output_gain=orthogonal_output_gain)

    def agent_scores(self, agent: int, obs: torch.Tensor) -> torch.Tensor:
        n_agents = len(self.layout.agents)
        inputs = obs.new_zeros((obs.shape[0], self.max_obs + n_agents))
        inputs[:, :obs.shape[1]] = obs
        inputs[:, self.max_obs + agent] = 1.0
        scores = self.net(inputs).view(obs.shape[0], self.max_dims, self.dims.max_choices)
        rows = self.valid[self.dims.dims_of(agent)]
        scores = scores[:, :rows.shape[0]]
        return scores.masked_fill(~rows, torch.finfo(scores.dtype).min)


class StateCritic(nn.Module):
    """Centralized critic: one value from the global state slice (MAPPO)."""

    def __init__(self, layout: JointLayout, hidden_sizes: tuple[int, ...], *,
                 input_layer_norm: bool = False):
        super().__init__()
        self.state = layout.state
        self.net = mlp(layout.state.stop - layout.state.start, hidden_sizes, 1,
                       input_layer_norm=input_layer_norm, orthogonal_output_gain=1.0)

    def forward(self, obs) -> torch.Tensor:
        """``(batch, 1)`` values."""
        return self.net(as_tensor(obs, self)[:, self.state])


class AgentCritics(nn.Module):
    """Independent critics: one value per agent from its own observation (IPPO)."""

    def __init__(self, layout: JointLayout, hidden_sizes: tuple[int, ...], *,
                 input_layer_norm: bool = False):
        super().__init__()
        self.slices = [a.obs for a in layout.agents]
        self.nets = nn.ModuleList(
            mlp(s.stop - s.start, hidden_sizes, 1, input_layer_norm=input_layer_norm,
                orthogonal_output_gain=1.0) for s in self.slices)

    def forward(self, obs) -> torch.Tensor:
        """``(batch, agents)`` values."""
        obs = as_tensor(obs, self)
        return torch.cat([net(obs[:, s]) for net, s in zip(self.nets, self.slices)], dim=1)
