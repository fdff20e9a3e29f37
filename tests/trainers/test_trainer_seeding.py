"""Runs with different seeds draw disjoint env streams, spawned from their seed."""

from __future__ import annotations

import numpy as np
from convention_game import make_joint_env
from trainer_cases import SMALL_CONFIGS, game_layout

from marl_part.envs.vector_env import JointDummyVectorEnv
from marl_part.trainers.runner import train
from marl_part.trainers.seeding import RunStreams

N_TRAIN, N_TEST = 32, 8


def _first_draws(env_seed: int) -> tuple[int, ...]:
    return tuple(np.random.default_rng(env_seed).integers(0, 2**63, size=4).tolist())


def test_training_seeds_share_no_env_stream():
    streams = [RunStreams.of(seed, N_TRAIN, N_TEST) for seed in range(5)]
    env_seeds = [s for run in streams for s in run.train_envs + run.test_envs]
    assert len(env_seeds) == 5 * (N_TRAIN + N_TEST)
    assert len(set(env_seeds)) == len(env_seeds)
    # distinct seeds give distinct streams: no env of one run replays another's draws
    assert len({_first_draws(s) for s in env_seeds}) == len(env_seeds)
    samplers = {tuple(run.buffer_sampling.tolist()) for run in streams}
    assert len(samplers) == 5
    # seed + i would have given seed 1's env i the stream of seed 0's env i + 1
    assert not set(streams[0].train_envs[1:]) & set(streams[1].train_envs)
    # a run's streams do not depend on how many envs it has
    assert RunStreams.of(3, 4, 2).train_envs == streams[3].train_envs[:4]


class RecordingEnvs(JointDummyVectorEnv):
    """Convention games that remember the seeds the runner gives them."""

    seeds: list[list[int]] = []

    def seed(self, seed=None):
        RecordingEnvs.seeds.append(list(seed))
        return super().seed(seed)


def test_the_runner_seeds_its_envs_with_the_run_streams(tmp_path):
    RecordingEnvs.seeds.clear()
    n_train, n_test = 4, 2
    train(SMALL_CONFIGS["qmix"], game_layout(),
          lambda: RecordingEnvs([make_joint_env] * n_train),
          lambda: RecordingEnvs([make_joint_env] * n_test), tmp_path / "run",
          budget_env_steps=64, eval_every_env_steps=64, eval_episodes=2, seed=7,
          show_progress=False)
    streams = RunStreams.of(7, n_train, n_test)
    assert RecordingEnvs.seeds == [list(streams.train_envs), list(streams.test_envs)]
