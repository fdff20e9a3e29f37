"""A factorized categorical over the team's joint MultiDiscrete action."""

from __future__ import annotations

import torch
from torch.distributions import Distribution


class FactorizedCategorical(Distribution):
    """Independent categoricals, one per joint action dimension, grouped by agent.

    ``logits`` is ``(batch, dims, max_choices)`` (padding holds the lowest float);
    ``membership`` is ``(dims, agents)``, 1 where a dimension belongs to an agent. Beside
    the joint ``log_prob``/``entropy`` of a torch distribution it gives each agent's own
    log-probability (for per-agent PPO ratios) and each dimension's entropy. ``stddev``
    (of the choice index, per dimension) is what Tianshou's Collector logs.

    Normalized with fused ``log_softmax``/``softmax``: half the forward and backward
    time of ``torch.distributions.Categorical`` (``logsumexp`` and a subtraction) on a
    PPO minibatch of 6,400 x 34 x 32 logits; probabilities are a ``softmax`` of the
    logits, not ``exp`` of the log-probabilities, whose padding (about -3.4e38) takes
    ``exp``'s slow underflow path (4x slower).
    """

    arg_constraints: dict = {}

    def __init__(self, logits: torch.Tensor, membership: torch.Tensor):
        self.logits = logits
        self.log_probs = torch.log_softmax(logits, dim=-1)
        self.membership = membership.to(logits.device)
        super().__init__(batch_shape=logits.shape[:1], event_shape=logits.shape[1:2],
                         validate_args=False)

    @property
    def probs(self) -> torch.Tensor:
        return torch.softmax(self.logits, dim=-1)

    def sample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Gumbel-max sampling: argmax of logits plus Gumbel noise (a draw from each
        categorical, ~20x faster here than ``torch.multinomial``)."""
        logits = self.logits.detach()
        if sample_shape:
            logits = logits.expand(*sample_shape, *logits.shape)
        uniform = torch.rand(logits.shape, dtype=logits.dtype).clamp_(
            min=torch.finfo(logits.dtype).tiny)
        return (logits - torch.log(-torch.log(uniform))).argmax(dim=-1)

    @property
    def mode(self) -> torch.Tensor:
        return self.logits.argmax(dim=-1)

    def dimension_log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """``(batch, dims)``: the log-probability of each dimension's choice."""
        return self.log_probs.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)

    def agent_log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """``(batch, agents)``: each agent's log-probability of its part of ``actions``."""
        return self.dimension_log_prob(actions) @ self.membership

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self.agent_log_prob(actions).sum(dim=-1)

    def dimension_entropy(self) -> torch.Tensor:
        """``(batch, dims)`` entropy of every dimension (padding has probability 0)."""
        return -(self.probs * self.log_probs).sum(dim=-1)

    def entropy(self) -> torch.Tensor:
        return self.dimension_entropy().sum(dim=-1)

    @property
    def stddev(self) -> torch.Tensor:
        probs = self.probs
        choices = torch.arange(probs.shape[-1], device=probs.device, dtype=probs.dtype)
        mean = (probs * choices).sum(dim=-1, keepdim=True)
        return ((probs * (choices - mean) ** 2).sum(dim=-1)).sqrt()
