"""MAPPO, IPPO and parameter-sharing MAPPO as one subclass of Tianshou's PPO.

Yu et al., "The Surprising Effectiveness of PPO in Cooperative Multi-Agent Games"
(NeurIPS 2022). What makes it multi-agent, beyond Tianshou's PPO:

- decentralized actors: each agent's actor sees only its observation slice and
  outputs a factorized categorical over its action dimensions (or one shared actor
  over padded observations with an agent indicator);
- a critic with one value column: centralized on the global state (MAPPO), or one
  column per agent on the agent's own observation (IPPO);
- per-agent ratio clipping, down to each action dimension as in the reference
  implementation (``r_mappo.py``: ratios, clipping and the surrogate per action
  dimension, summed over an agent's dimensions), never the team's joint ratio: the
  product of a 32-dimension partitioner's ratios would leave the clip range after a
  tiny change of each, and stop its learning;
- value normalization (:class:`~marl_part.trainers.value_norm.ValueNorm`), a Huber value loss
  with value clipping, and advantages normalized over the whole batch;
- with ``key_credit: difference``, each of the partitioner's dimensions learns from its
  hot key's difference reward (:mod:`marl_part.sim.credit`) instead of the team's
  advantage: per-key credit, ours;
- one Adam for the actors and one for the critic, each clipping its own gradient norm,
  as the reference does (a value loss scale is then moot: Adam ignores it);
- diagnostics per agent and update (approximate KL, clip fraction, entropy) and of the
  critic (explained variance of the returns, gradient norms), so that under- or
  over-training shows in TensorBoard;
- GAE from Tianshou's ``compute_episodic_return``, which bootstraps from ``V(s')``
  when an episode is truncated and only stops at true termination.
"""

from __future__ import annotations

from functools import partial
from math import ceil

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from tianshou.algorithm import PPO
from tianshou.algorithm.modelfree.reinforce import ProbabilisticActorPolicy
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Batch, ReplayBuffer, VectorReplayBuffer
from tianshou.trainer import OnPolicyTrainerParams

from marl_part.envs.joint import JointLayout
from marl_part.trainers.action_dims import ActionDims
from marl_part.trainers.configs import PPOFamilyConfig
from marl_part.trainers.distributions import FactorizedCategorical
from marl_part.trainers.nets import AgentCritics, AgentScorers, SharedScorer, StateCritic
from marl_part.trainers.optimizer import NormReportingOptimizer
from marl_part.trainers.training_stats import TeamTrainingStats, mean_losses
from marl_part.trainers.value_norm import ValueNorm


class MAPPO(PPO):
    """PPO for a team of agents with a (centralized or per-agent) critic.

    ``critic(obs)`` returns ``(batch, columns)`` values named by ``critic_names``: one
    column for a centralized critic, one per agent for independent critics. Advantages
    of a single column are shared by all agents.
    """

    Optimizer = NormReportingOptimizer

    def __init__(self, *, policy: ProbabilisticActorPolicy, critic: torch.nn.Module,
                 dims: ActionDims, critic_names: tuple[str, ...], config: PPOFamilyConfig):
        super().__init__(
            policy=policy, critic=critic,
            optim=AdamOptimizerFactory(lr=config.lr, eps=config.adam_eps),
            eps_clip=config.clip, value_clip=config.value_clip,
            advantage_normalization=config.advantage_normalization,
            ent_coef=config.entropy_coef, max_grad_norm=config.max_grad_norm,
            gae_lambda=config.gae_lambda, gamma=config.gamma,
            max_batchsize=4096)  # chunk of no-grad passes over a rollout
        # A2C made one optimizer over actor and critic; MAPPO keeps one for each
        del self.optim
        self._optimizers.clear()
        self.actor_optim = self._create_optimizer(
            policy.actor, AdamOptimizerFactory(lr=config.lr, eps=config.adam_eps),
            max_grad_norm=config.max_grad_norm)
        self.critic_optim = self._create_optimizer(
            critic, AdamOptimizerFactory(lr=config.critic_lr, eps=config.adam_eps),
            max_grad_norm=config.max_grad_norm)
        self.agent_names = dims.agent_names
        self.register_buffer("agent_ent_coef", torch.tensor([
            config.agent_entropy_coef.get(name, config.entropy_coef) for name in self.agent_names
        ]), persistent=False)
        self.critic_names = critic_names
        self.huber_delta = config.huber_delta
        self.value_norm = ValueNorm(len(critic_names)) if config.value_normalization else None
        membership = dims.membership()
        self.register_buffer("dimension_share", membership / membership.sum(dim=0),
                             persistent=False)
        self.key_credit_dims = (dims.dims_of(dims.agent_names.index("partitioner"))
                                if config.key_credit == "difference" else None)

    @property
    def scorer(self) -> torch.nn.Module:
        """The network whose per-dimension argmax is the greedy team action."""
        return self.policy.actor

    def _distribution(self, obs: np.ndarray | torch.Tensor) -> FactorizedCategorical:
        """The team's action distribution at ``obs``, drawing no action (calling the
        policy also samples one, Gumbel noise over the whole minibatch)."""
        logits, _ = self.policy.actor(obs)
        return self.policy.dist_fn(logits)

    def _values(self, obs: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            return torch.cat([self.critic(part) for part in np.array_split(
                obs, max(1, ceil(len(obs) / self.max_batchsize)))])

    def _add_returns_and_advantages(self, batch: Batch, buffer: ReplayBuffer,
                                    indices: np.ndarray) -> Batch:
        """GAE per value column; ``batch.v_s`` keeps the critic's (normalized) outputs
        for value clipping, ``batch.returns`` and ``batch.adv`` are ``(batch, columns)``."""
        batch.v_s = self._values(batch.obs)
        v_s, v_next = batch.v_s, self._values(batch.obs_next)
        if self.value_norm is not None:
            v_s, v_next = self.value_norm.denormalize(v_s), self.value_norm.denormalize(v_next)
        returns, advantages = zip(*(
            self.compute_episodic_return(batch, buffer, indices, v_s_=v_next[:, c].numpy(),
                                         v_s=v_s[:, c].numpy(), gamma=self.gamma,
                                         gae_lambda=self.gae_lambda)
            for c in range(v_s.shape[1])))
        batch.returns = torch.as_tensor(np.stack(returns, axis=1), dtype=torch.float32)
        batch.adv = torch.as_tensor(np.stack(advantages, axis=1), dtype=torch.float32)
        return batch

    def _preprocess_batch(self, batch: Batch, buffer: ReplayBuffer, indices: np.ndarray) -> Batch:
        batch = self._add_returns_and_advantages(batch, buffer, indices)
        if self.value_norm is not None:
            self.value_norm.update(batch.returns)
            batch.value_targets = self.value_norm.normalize(batch.returns)
        else:
            batch.value_targets = batch.returns
        if self.advantage_normalization:
            batch.adv = (batch.adv - batch.adv.mean()) / (batch.adv.std() + 1e-5)
        batch.adv = self._dimension_advantages(batch)
        batch.act = torch.as_tensor(batch.act, dtype=torch.long)
        with torch.no_grad():
            batch.logp_old = torch.cat([
                self._distribution(minibatch.obs).dimension_log_prob(minibatch.act)
                for minibatch in batch.split(self.max_batchsize, shuffle=False, merge_last=True)])
        return batch

    def _dimension_advantages(self, batch: Batch) -> torch.Tensor:
        """``(batch, dims)``: each action dimension's advantage, its agent's column (or
        the one shared column), or with per-key credit its hot key's normalized
        difference reward in the partitioner's dimensions (K keys x S ways, key-major)."""
        membership = self.dimension_share.ne(0).float()  # (dims, agents)
        adv = (batch.adv.expand(-1, membership.shape[0]) if batch.adv.shape[1] == 1
               else batch.adv @ membership.T).clone()
        if self.key_credit_dims is not None:
            credit = torch.as_tensor(batch.info.key_credit, dtype=torch.float32)
            credit = (credit - credit.mean()) / (credit.std() + 1e-5)
            ways = (self.key_credit_dims.stop - self.key_credit_dims.start) // credit.shape[1]
            adv[:, self.key_credit_dims] = credit.repeat_interleave(ways, dim=1)
        return adv

    def _value_loss(self, values: torch.Tensor, old_values: torch.Tensor,
                    targets: torch.Tensor) -> torch.Tensor:
        """``(columns,)`` Huber loss, the larger of unclipped and clipped (if enabled)."""
        loss = F.huber_loss(values, targets, delta=self.huber_delta, reduction="none")
        if self.value_clip:
            clipped = old_values + (values - old_values).clamp(-self.eps_clip, self.eps_clip)
            loss = torch.max(loss, F.huber_loss(clipped, targets, delta=self.huber_delta,
                                                reduction="none"))
        return loss.mean(dim=0)

    def _update_with_batch(self, batch: Batch, batch_size: int | None,
                           repeat: int) -> TeamTrainingStats:
        """Per minibatch, one step of the actors' Adam on every agent's clipped surrogate
        (summed over its action dimensions) and entropy bonus, and one of the critic's
        Adam on each value column's loss."""
        per_step = []
        membership = self.dimension_share.ne(0).float()  # (dims, agents)
        for _ in range(repeat):
            for minibatch in batch.split(batch_size or -1, merge_last=True):
                dist = self._distribution(minibatch.obs)
                log_ratio = dist.dimension_log_prob(minibatch.act) - minibatch.logp_old
                ratio = log_ratio.exp()
                clipped_ratio = ratio.clamp(1.0 - self.eps_clip, 1.0 + self.eps_clip)
                adv = minibatch.adv  # one per action dimension
                surrogate = torch.min(ratio * adv, clipped_ratio * adv)
                policy_loss = -(surrogate.mean(dim=0) @ membership)
                entropy = (dist.dimension_entropy() @ self.dimension_share).mean(dim=0)
                value_loss = self._value_loss(self.critic(minibatch.obs), minibatch.v_s,
                                              minibatch.value_targets)
                actor_loss = policy_loss - self.agent_ent_coef * entropy
                actor_norm = self.actor_optim.step(actor_loss.sum())
                critic_norm = self.critic_optim.step(value_loss.sum())
                with torch.no_grad():  # Schulman's estimator of KL(old || new), per dimension
                    approx_kl = ((ratio - 1.0) - log_ratio).mean(dim=0) @ self.dimension_share
                    clip_fraction = (((ratio - 1.0).abs() > self.eps_clip).float().mean(dim=0)
                                     @ self.dimension_share)
                losses = {"team/actor_grad_norm": actor_norm, "team/critic_grad_norm": critic_norm}
                for i, name in enumerate(self.agent_names):
                    losses[f"{name}/policy_loss"] = policy_loss[i].item()
                    losses[f"{name}/entropy"] = entropy[i].item()
                    losses[f"{name}/clip_fraction"] = clip_fraction[i].item()
                    losses[f"{name}/approx_kl"] = approx_kl[i].item()
                for c, name in enumerate(self.critic_names):
                    losses[f"{name}/value_loss"] = value_loss[c].item()
                per_step.append(losses)
        stats = mean_losses(per_step)
        for c, name in enumerate(self.critic_names):
            stats[f"{name}/explained_variance"] = explained_variance(
                batch.v_s[:, c], batch.value_targets[:, c])
        return TeamTrainingStats(losses=stats)


def explained_variance(predicted: torch.Tensor, targets: torch.Tensor) -> float:
    """1 - Var(targets - predicted) / Var(targets): 1 for a perfect critic, 0 for one no
    better than a constant, negative for worse (here on the normalized value scale)."""
    variance = targets.var()
    return float("nan") if variance == 0 else float(1.0 - (targets - predicted).var() / variance)


def build(config: PPOFamilyConfig, layout: JointLayout) -> MAPPO:
    """MAPPO, IPPO or parameter-sharing MAPPO, as the config's class says."""
    dims = ActionDims.of(layout)
    if config.shared_actor:
        actor = SharedScorer(layout, config.hidden_sizes, input_layer_norm=config.input_layer_norm,
                             orthogonal_output_gain=config.actor_output_gain)
    else:
        actor = AgentScorers(layout, config.hidden_sizes, input_layer_norm=config.input_layer_norm,
                             orthogonal_output_gain=config.actor_output_gain,
                             item_network=config.item_network)
    if config.critic_input == "state":
        critic = StateCritic(layout, config.hidden_sizes, input_layer_norm=config.input_layer_norm)
        critic_names = ("critic",)
    else:
        critic = AgentCritics(layout, config.hidden_sizes, input_layer_norm=config.input_layer_norm)
        critic_names = dims.agent_names
    policy = ProbabilisticActorPolicy(
        actor=actor, dist_fn=partial(FactorizedCategorical, membership=dims.membership()),
        deterministic_eval=True, action_space=gym.spaces.MultiDiscrete(dims.nvec),
        observation_space=gym.spaces.Box(-np.inf, np.inf, (layout.obs_dim,), np.float32),
        action_scaling=False, action_bound_method=None)
    return MAPPO(policy=policy, critic=critic, dims=dims, critic_names=critic_names, config=config)


def make_buffer(config: PPOFamilyConfig, num_envs: int) -> VectorReplayBuffer:
    """Holds exactly one rollout (the on-policy trainer empties it after each update)."""
    return VectorReplayBuffer(ceil(config.rollout_env_steps / num_envs) * num_envs, num_envs)


def trainer_params(config: PPOFamilyConfig, **common) -> OnPolicyTrainerParams:
    return OnPolicyTrainerParams(
        collection_step_num_env_steps=config.rollout_env_steps,
        batch_size=ceil(config.rollout_env_steps / config.num_minibatches),
        update_step_num_repetitions=config.ppo_epochs, **common)
