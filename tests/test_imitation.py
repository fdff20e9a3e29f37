"""Imitation: teachers play the training envs, the actors learn their choices and the
critic their returns, before reinforcement learning starts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml
from conftest import small_config

from marl_part.config import load_config
from marl_part.envs.vector_env import BatchedVectorEnv
from marl_part.errors import InputError
from marl_part.experiments.training_run import check_learnable
from marl_part.trainers.acting import GreedyAgent
from marl_part.trainers.configs import ImitationConfig, MAPPOConfig
from marl_part.trainers.imitation import imitate
from marl_part.trainers.registry import algorithm_spec

TEACHER = {"partitioner": "lpt:split=2", "scheduler": "static:nodes=3"}


def config_file(tmp_path, **extra):
    path = tmp_path / "config.yaml"
    config = small_config("partition_schedule", scheduler={"action": "target"}, **extra)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_the_clone_acts_as_its_teachers_on_states_it_has_not_seen(tmp_path):
    config = load_config(config_file(tmp_path))
    envs = BatchedVectorEnv(config, 8, TEACHER)
    envs.seed(list(range(8)))
    layout = envs.layout
    algorithm = algorithm_spec("mappo").build(MAPPOConfig(), layout)
    stats = imitate(algorithm, envs, ImitationConfig(teacher=TEACHER, episodes=2,
                                                     gradient_steps=200, batch_size=256),
                    gamma=0.9, rng=np.random.default_rng(0))
    assert stats["imitation/agreement"] > 0.95
    assert stats["imitation/env_steps"] == 2 * 8 * config.episode_length
    # fresh episodes, played by the clone: it chooses what the teachers would
    fresh = BatchedVectorEnv(config, 4, TEACHER)
    obs, _ = fresh.reset(seed=[100, 101, 102, 103])
    agents = {a.name: GreedyAgent(algorithm.scorer.eval(), layout, a.name) for a in layout.agents}
    agreed = []
    for _ in range(config.episode_length):
        taught = fresh.teacher_action()
        played = np.concatenate([agents[a.name](obs[:, a.obs]) for a in layout.agents], axis=1)
        agreed.append((played == taught).mean())
        obs, *_ = fresh.step(played)
    assert np.mean(agreed) > 0.95


def test_a_teacher_decides_in_the_learned_space_of_a_learned_role(tmp_path):
    path = config_file(tmp_path)
    with pytest.raises(InputError, match=r"pkg decides per key or tuple, not in the learned "
                                         r"partitioner's action space"):
        load_config(path, ['train.imitation={teacher: {partitioner: pkg, scheduler: ds2}}'])
    # a role a baseline fills needs no teacher: evaluations and single-agent ablations
    # of a config that imitates load as they are, and train the roles that learn
    taught = 'train.imitation={teacher: {partitioner: lpt, scheduler: ds2}}'
    assert load_config(path, ['roles.partitioner=pkg', taught]).teachers() == {"scheduler": "ds2"}
    assert load_config(path, ['roles.partitioner=pkg', 'roles.scheduler=static', taught]
                       ).teachers() == {}
    with pytest.raises(InputError, match=r"teaches \['partitioner'\], none of the learned "
                                         r"roles \['scheduler'\]"):
        check_learnable(load_config(path, ['roles.partitioner=pkg',
                                           'train.imitation={teacher: {partitioner: lpt}}']))
    # lpt:stay sends a key home by load rank 0: the learner's rank 0 must mean the same
    sticky = 'train.imitation={teacher: {partitioner: "lpt:stay=1.05"}}'
    with pytest.raises(InputError, match="set partitioner.stay_below: 1.05"):
        load_config(path, [sticky])
    assert load_config(path, [sticky, "partitioner.stay_below=1.05"]).teachers() == {
        "partitioner": "lpt:stay=1.05"}
    with pytest.raises(InputError, match=r"stay_below': must lie in \(0, 10.0\]"):
        load_config(path, ["partitioner.stay_below=0"])
    with pytest.raises(InputError, match="label_smoothing': must lie in"):
        load_config(path, ['train.imitation={teacher: {partitioner: lpt, scheduler: ds2}, '
                           'label_smoothing: 1.5}'])


def test_a_role_without_a_teacher_keeps_its_fresh_actor(tmp_path):
    """Only the partitioner is taught: its clone agrees with lpt, while the scheduler,
    which played uniformly at random, stays as uniform as a fresh actor."""
    config = load_config(config_file(tmp_path),
                         ['train.imitation={teacher: {partitioner: "lpt:split=2"}}'])
    teacher = dict(config.train.imitation.teacher)
    envs = BatchedVectorEnv(config, 8, teacher)
    envs.seed(list(range(8)))
    layout = envs.layout
    algorithm = algorithm_spec("mappo").build(MAPPOConfig(), layout)
    scheduler = next(a for a in layout.agents if a.name == "scheduler")
    obs = torch.as_tensor(envs.reset()[0])
    fresh = algorithm.policy.actor(obs)[0][:, scheduler.action].detach()
    stats = imitate(algorithm, envs, ImitationConfig(teacher=teacher, episodes=2,
                                                     gradient_steps=200, batch_size=256),
                    gamma=0.9, rng=np.random.default_rng(0))
    assert stats["imitation/agreement"] > 0.95  # over the partitioner's choices only
    assert (envs.teacher_action()[:, scheduler.action] == -1).all()
    after = algorithm.policy.actor(obs)[0][:, scheduler.action].detach()
    torch.testing.assert_close(after, fresh)


def test_q_learners_are_not_imitated(tmp_path):
    config = load_config(config_file(tmp_path))
    envs = BatchedVectorEnv(config, 2, TEACHER)
    algorithm = algorithm_spec("qmix").build(algorithm_spec("qmix").config_class(), envs.layout)
    with pytest.raises(InputError, match="imitation warm-starts the PPO family"):
        imitate(algorithm, envs, ImitationConfig(teacher=TEACHER), 0.9, np.random.default_rng(0))
