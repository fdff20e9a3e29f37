"""Truncation is not termination: GAE and n-step targets, checked by hand.

Three transitions with rewards 1, 2, 3 and values 10, 20, 30 of the states visited
and 40 of the state after the last one. Stub critics read the value off the first
entry of the global state, so the numbers below can be worked out on paper.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tianshou.data import Batch, ReplayBuffer
from tianshou.utils.torch_utils import policy_within_training_step
from torch import nn
from trainer_cases import SMALL_CONFIGS, game_layout

from marl_part.trainers.registry import algorithm_spec

REWARDS = [1.0, 2.0, 3.0]
VALUES = [10.0, 20.0, 30.0, 40.0]  # V(s0) .. V(s3)
GAMMA, LAMBDA = 0.5, 0.5

# GAE(0.5, 0.5) per value column; the second column sees every value doubled.
# Column 1, truncated: deltas 1, -3, -7 (V(s3) = 40 bootstraps); terminated: 1, -3, -27.
GAE_RETURNS = {"truncated": [[9.8125, 15.25, 23.0], [17.9375, 27.75, 43.0]],
               "terminated": [[8.5625, 10.25, 3.0], [15.4375, 17.75, 3.0]]}
# 2-step returns r_t + g r_t+1 + g^2 Q(s_t+2), cut short at the episode's end where
# truncation still bootstraps (g Q(s3)) and termination does not.
NSTEP_RETURNS = {"truncated": [[9.5, 13.5, 23.0], [17.0, 23.5, 43.0]],
                 "terminated": [[9.5, 3.5, 3.0], [17.0, 3.5, 3.0]]}


def _buffer(end: str, value_of=lambda v: v) -> tuple[ReplayBuffer, Batch, np.ndarray]:
    layout = game_layout()
    state_at = layout.state.start
    buffer = ReplayBuffer(8)
    for t, reward in enumerate(REWARDS):
        obs, obs_next = np.zeros(layout.obs_dim, np.float32), np.zeros(layout.obs_dim, np.float32)
        obs[state_at], obs_next[state_at] = value_of(VALUES[t]), value_of(VALUES[t + 1])
        last = t == len(REWARDS) - 1
        buffer.add(Batch(obs=obs, act=np.zeros(3, np.int64), rew=reward,
                         terminated=last and end == "terminated",
                         truncated=last and end == "truncated", obs_next=obs_next, info={}))
    batch, indices = buffer.sample(0)
    return buffer, batch, indices


class StateValue(nn.Module):
    """A critic (or team Q) that reads its value off the first state entry."""

    def __init__(self, columns: int = 1):
        super().__init__()
        self.at, self.columns = game_layout().state.start, columns
        self.unused = nn.Parameter(torch.zeros(1))

    def values(self, obs) -> torch.Tensor:
        value = torch.as_tensor(obs, dtype=torch.float32)[:, self.at:self.at + 1]
        return value * torch.arange(1, self.columns + 1)  # column c holds (c + 1) x value

    def forward(self, obs, actions=None):
        if actions is None:  # the critic protocol
            return self.values(obs)
        utilities = torch.zeros(len(obs), 3, 3)  # the team-Q protocol
        return utilities, self.values(obs)


@pytest.mark.parametrize("end", ["truncated", "terminated"])
@pytest.mark.parametrize("name,value_normalization", [("mappo", False), ("mappo", True),
                                                      ("ippo", False)])
def test_gae_bootstraps_only_at_truncation(end, name, value_normalization):
    config = dataclasses.replace(SMALL_CONFIGS[name], gamma=GAMMA, gae_lambda=LAMBDA,
                                 value_normalization=value_normalization,
                                 advantage_normalization=False)
    algorithm = algorithm_spec(name).build(config, game_layout())
    columns = 1 if name == "mappo" else 2
    algorithm.critic = StateValue(columns)
    value_of = lambda v: v
    if value_normalization:  # statistics mean 5, variance 4: raw value = 2 x output + 5
        algorithm.value_norm.running_mean.fill_(5.0)
        algorithm.value_norm.running_mean_sq.fill_(29.0)
        algorithm.value_norm.debiasing_term.fill_(1.0)
        value_of = lambda v: (v - 5.0) / 2.0
    buffer, batch, indices = _buffer(end, value_of)
    with policy_within_training_step(algorithm.policy):
        batch = algorithm._preprocess_batch(batch, buffer, indices)
    for c in range(columns):
        assert batch.returns[:, c].tolist() == pytest.approx(GAE_RETURNS[end][c])
    assert batch.adv[:, 0].tolist() == pytest.approx(
        [g - v for g, v in zip(GAE_RETURNS[end][0], VALUES)])


@pytest.mark.parametrize("end", ["truncated", "terminated"])
@pytest.mark.parametrize("name", ["qmix", "idqn"])
def test_n_step_targets_bootstrap_only_at_truncation(end, name):
    config = dataclasses.replace(SMALL_CONFIGS[name], gamma=GAMMA, n_step=2)
    algorithm = algorithm_spec(name).build(config, game_layout())
    columns = 1 if name == "qmix" else 2
    algorithm.policy.model = algorithm.model_old = StateValue(columns)
    buffer, batch, indices = _buffer(end)
    batch = algorithm._preprocess_batch(batch, buffer, indices)
    for c in range(columns):
        assert batch.returns[:, c].tolist() == pytest.approx(NSTEP_RETURNS[end][c])
