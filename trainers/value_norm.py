"""Running normalization of value targets (MAPPO's "ValueNorm").

Yu et al., "The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games"
(NeurIPS 2022), Sec. 4.1: the critic learns normalized targets; values are
denormalized before GAE. As in their reference implementation, the statistics are an
exponential moving average (``beta = 0.99999``) with a debiasing term, and the variance
is floored at ``1e-2``. The statistics are buffers, so they are part of the state dict
and of every checkpoint.
"""

from __future__ import annotations

import torch
from torch import nn


class ValueNorm(nn.Module):
    """Per-column running mean and variance of value targets ``(batch, columns)``."""

    def __init__(self, columns: int, beta: float = 0.99999, epsilon: float = 1e-5):
        super().__init__()
        self.beta, self.epsilon = beta, epsilon
        self.register_buffer("running_mean", torch.zeros(columns))
        self.register_buffer("running_mean_sq", torch.zeros(columns))
        self.register_buffer("debiasing_term", torch.zeros(()))

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean**2).clamp(min=1e-2)
        return mean, var

    @torch.no_grad()
    def update(self, targets: torch.Tensor) -> None:
        self.running_mean.mul_(self.beta).add_(targets.mean(dim=0) * (1 - self.beta))
        self.running_mean_sq.mul_(self.beta).add_((targets**2).mean(dim=0) * (1 - self.beta))
        self.debiasing_term.mul_(self.beta).add_(1 - self.beta)

    def normalize(self, values: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return (values - mean) / var.sqrt()

    def denormalize(self, values: torch.Tensor) -> torch.Tensor:
        mean, var = self.mean_var()
        return values * var.sqrt() + mean
