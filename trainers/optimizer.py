"""Tianshou's optimizer wrapper, reporting the gradient norm of every step."""

from __future__ import annotations

import math

import torch
from tianshou.algorithm.algorithm_base import Algorithm


class NormReportingOptimizer(Algorithm.Optimizer):
    """Zero the gradients, backpropagate, clip the gradient norm (if configured), step;
    ``step`` returns the norm before clipping, for the logs. An algorithm uses it by
    setting its ``Optimizer`` class attribute (Tianshou's ``_create_optimizer`` builds
    ``self.Optimizer``)."""

    def step(self, loss: torch.Tensor, retain_graph: bool | None = None,
             create_graph: bool = False) -> float:
        self._optim.zero_grad()
        loss.backward(retain_graph=retain_graph, create_graph=create_graph)
        norm = torch.nn.utils.clip_grad_norm_(self._module.parameters(),
                                              max_norm=self._max_grad_norm or math.inf)
        self._optim.step()
        return float(norm)
