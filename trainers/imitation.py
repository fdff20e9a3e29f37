"""Imitation before reinforcement: behaviour cloning of fixed policies as a warm start.

Teachers, fixed policies that decide in the learned roles' own action spaces (any
scheduler baseline; ``lpt`` for the partitioner), play the training envs for
``episodes`` rounds; a learned role without a teacher plays uniformly at random, as
its fresh actor does, and keeps its fresh actor. Each action played is the teachers',
but with probability ``action_noise`` a random one, so that the data also covers states off the teachers'
path while the label stays the teachers' choice (DART: Laskey et al., "DART: Noise
Injection for Robust Imitation Learning", CoRL 2017). The actors then minimise the
cross-entropy to the teachers' choices, with label smoothing, which leaves the policy
gradient some entropy to work with; the critic regresses the teachers' discounted
returns (to the end of each episode), so that the first PPO updates follow
advantages that mean something instead of pushing the policy off the teacher on noise.

A fresh run is warm-started this way before its first collection
(:func:`~marl_part.trainers.runner.train`); the teachers' env steps do not count in
the training budget and are logged as ``imitation/env_steps``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from marl_part.errors import InputError
from marl_part.trainers.configs import ImitationConfig


def teacher_episodes(envs, config: ImitationConfig, gamma: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(observations, teacher actions (-1: untaught), discounted returns to go, mean
    episode return) of ``config.episodes`` rounds of whole episodes in every env of
    ``envs`` (a vector env with ``teacher_action``)."""
    if not hasattr(envs, "teacher_action"):
        raise InputError("imitation needs the batched vector env", "train.imitation")
    nvec = envs.get_env_attr("layout")[0].nvec
    observations, actions, returns, episode_totals = [], [], [], []
    for _ in range(config.episodes):
        obs, _ = envs.reset()
        episode_obs, episode_actions, rewards = [], [], []
        while True:
            taught = envs.teacher_action()
            noise = (rng.random(taught.shape) < config.action_noise) | (taught < 0)
            played = np.where(noise, rng.integers(0, nvec, size=taught.shape), taught)
            episode_obs.append(obs)
            episode_actions.append(taught)
            obs, reward, terminated, truncated, _ = envs.step(played)
            rewards.append(reward)
            if np.all(terminated | truncated):
                break
        to_go = np.zeros(len(obs))
        episode_returns = []
        for reward in reversed(rewards):
            to_go = reward + gamma * to_go
            episode_returns.append(to_go)
        observations += episode_obs
        actions += episode_actions
        returns += reversed(episode_returns)
        episode_totals.append(np.sum(rewards, axis=0))
    return (np.concatenate(observations), np.concatenate(actions), np.concatenate(returns),
            float(np.mean(episode_totals)))


def imitate(algorithm, envs, config: ImitationConfig, gamma: float,
            rng: np.random.Generator) -> dict[str, float]:
    """Clone the teachers into a PPO-family ``algorithm``'s actors, and fit its critic to
    their returns; the statistics worth a log line."""
    if not hasattr(algorithm, "critic"):
        raise InputError("imitation warm-starts the PPO family (mappo, ippo, mappo_shared): "
                         "actors and a critic", "train.imitation")
    obs, taught, returns, teacher_return = teacher_episodes(envs, config, gamma, rng)
    obs = torch.as_tensor(obs, dtype=torch.float32)
    taught = torch.as_tensor(taught, dtype=torch.long)
    targets = torch.as_tensor(returns, dtype=torch.float32)[:, None]
    if algorithm.value_norm is not None:
        algorithm.value_norm.update(targets)
        targets = algorithm.value_norm.normalize(targets)
    actor, critic = algorithm.policy.actor, algorithm.critic
    valid = actor.valid.float()  # (dims, max_choices): the choices that exist
    smoothing = config.label_smoothing * valid / valid.sum(dim=1, keepdim=True)
    optimizer = torch.optim.Adam([*actor.parameters(), *critic.parameters()], lr=config.lr)
    for _ in range(config.gradient_steps):
        batch = torch.as_tensor(rng.integers(0, len(obs), size=config.batch_size))
        logits, _ = actor(obs[batch])
        labels = taught[batch]
        target = (1 - config.label_smoothing) * F.one_hot(labels.clamp(min=0), logits.shape[-1])
        loss = -((target + smoothing) * torch.log_softmax(logits, dim=-1)).sum(-1)
        actor_loss = loss[labels >= 0].mean()
        values = critic(obs[batch])  # (batch, columns): each column learns the team's return
        critic_loss = F.mse_loss(values, targets[batch].expand_as(values))
        optimizer.zero_grad()
        (actor_loss + critic_loss).backward()
        optimizer.step()
    with torch.no_grad():  # how often the clone's most likely choice is the teachers'
        labels = taught[:4096]
        agreement = (actor(obs[:4096])[0].argmax(dim=-1) == labels)[labels >= 0].float().mean()
    return {"imitation/actor_loss": actor_loss.item(), "imitation/critic_loss": critic_loss.item(),
            "imitation/agreement": agreement.item(), "imitation/env_steps": float(len(obs)),
            "imitation/teacher_return": teacher_return}
