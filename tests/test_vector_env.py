"""The batched vector env replays the trajectories of N separate single envs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import small_config

from marl_part.config import load_config
from marl_part.envs.joint import JointEnv
from marl_part.envs.parallel_env import make_parallel_env
from marl_part.envs.vector_env import BatchedVectorEnv, JointDummyVectorEnv, make_vector_env


def joint_env(config):
    env = make_parallel_env(config)  # no wrappers: the env's items hold
    return JointEnv(env, env.observation_items())


@pytest.mark.parametrize("scenario", ["partition_schedule", "dedup_route", "autoscale"])
def test_same_seeds_give_the_same_trajectories_as_single_envs(scenario, write_config):
    config = load_config(write_config(small_config(scenario)))
    n = 4
    batched = BatchedVectorEnv(config, n)
    singles = JointDummyVectorEnv([lambda: joint_env(config)] * n)
    seeds = [11, 12, 13, 14]
    batched.seed(seeds)
    singles.seed(seeds)
    obs_b, _ = batched.reset()
    obs_s, _ = singles.reset()
    np.testing.assert_allclose(obs_b, obs_s)
    rng = np.random.default_rng(0)
    nvec = batched.layout.nvec
    for step in range(2 * config.episode_length):  # crosses an episode boundary
        action = rng.integers(0, nvec, size=(n, len(nvec)))
        out_b, out_s = batched.step(action), singles.step(action)
        for a, b in zip(out_b[:4], out_s[:4]):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        sums_b, sums_s = batched.take_scalar_sums(), singles.take_scalar_sums()
        np.testing.assert_allclose(sums_b[0], sums_s[0], rtol=1e-5)
        assert sums_b[1] == sums_s[1] == n
        done = np.flatnonzero(out_b[3])
        if len(done):
            np.testing.assert_allclose(batched.reset(done)[0], singles.reset(done)[0])
    assert batched.layout == singles.get_env_attr("layout")[0]
    assert batched.layout.info_names[0].startswith("reward_terms/")
    assert "metrics/deadline_miss" in batched.layout.info_names


def test_stepping_a_subset_is_refused_and_wrappers_fall_back(write_config):
    config = load_config(write_config(small_config()))
    env = BatchedVectorEnv(config, 3)
    env.reset()
    with pytest.raises(ValueError, match="steps all its envs together"):
        env.step(np.zeros((2, len(env.layout.nvec)), int), [0, 1])
    wrapped = load_config(write_config(small_config(wrappers=[{"name": "dtype"}]), "w.yaml"))
    assert isinstance(make_vector_env(wrapped, 2), JointDummyVectorEnv)
    assert isinstance(make_vector_env(config, 2), BatchedVectorEnv)
