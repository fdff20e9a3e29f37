"""A run stopped at a checkpoint and resumed continues exactly as an unstopped one.

In-process and on the convention game (Tianshou's DummyVectorEnv path); the killed
``marl-part train`` subprocesses of ``tests/test_resume.py`` check the same on the
batched simulation.
"""

from __future__ import annotations

import pytest
from trainer_cases import SMALL_CONFIGS, game_layout, vector_envs

from marl_part.trainers.runner import train
from marl_part.trainers.team_logger import EVAL_REWARD, read_all_scalars

EVAL_EVERY = {"mappo": 512, "qmix": 256}  # whole rollouts of SMALL_CONFIGS


@pytest.mark.parametrize("name", sorted(EVAL_EVERY))
def test_a_resumed_run_logs_what_an_unstopped_one_does(name, tmp_path):
    every = EVAL_EVERY[name]

    def run(run_dir, epochs: int, resume: bool = False) -> dict:
        return train(SMALL_CONFIGS[name], game_layout(), vector_envs(4), vector_envs(4),
                     run_dir, budget_env_steps=epochs * every, eval_every_env_steps=every,
                     eval_episodes=4, seed=3, resume=resume, log_every_env_steps=every // 4,
                     show_progress=False)

    unstopped = run(tmp_path / "unstopped", 4)
    run(tmp_path / "stopped", 2)
    resumed = run(tmp_path / "stopped", 4, resume=True)
    assert resumed["env_steps"] == unstopped["env_steps"] == 4 * every
    assert resumed["last_eval_reward"] == unstopped["last_eval_reward"]
    ours, theirs = (read_all_scalars(str(tmp_path / name), wall_clock=False)
                    for name in ("stopped", "unstopped"))
    assert list(ours[EVAL_REWARD]) == list(range(0, 4 * every + 1, every))
    assert "train/cumulative_deadline_miss" in ours and sorted(ours) == sorted(theirs)
    for tag, values in theirs.items():
        assert ours[tag] == values, tag
