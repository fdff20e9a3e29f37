"""Shared cases for the trainer tests: the convention game as vector envs, small configs."""

from __future__ import annotations

import os

from convention_game import make_joint_env

from marl_part.envs.vector_env import JointDummyVectorEnv
from marl_part.trainers.configs import (
    IDQNConfig,
    IPPOConfig,
    MAPPOConfig,
    QMIXConfig,
    SharedMAPPOConfig,
)

FULL_BUDGET = os.environ.get("MARL_PART_FULL_BUDGET") == "1"

# Small-problem settings: short rollouts and big batches; the rest of every
# config keeps its published default.
PPO_TEST = dict(rollout_env_steps=512, ppo_epochs=10)
Q_TEST = dict(batch_size=256, gradient_steps_per_env_step=0.125, buffer_size=8192,
              target_update_interval=50, epsilon_anneal_fraction=0.5)

SMALL_CONFIGS = {
    "mappo": MAPPOConfig(**PPO_TEST),
    "ippo": IPPOConfig(**PPO_TEST),
    "mappo_shared": SharedMAPPOConfig(**PPO_TEST),
    "qmix": QMIXConfig(**Q_TEST),
    "idqn": IDQNConfig(**Q_TEST),
}


def vector_envs(n: int = 8):
    """A factory of ``n`` convention games as one Tianshou vector env."""
    return lambda: JointDummyVectorEnv([make_joint_env] * n)


def game_layout():
    return make_joint_env().layout
