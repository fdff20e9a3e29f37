"""A MAPPO run on the convention game, started by the resume test and killed mid-way.

Usage: ``python killable_run.py RUN_DIR [--resume]``.
"""

from __future__ import annotations

import sys

from trainer_cases import SMALL_CONFIGS, game_layout, vector_envs

from marl_part.trainers.runner import train

BUDGET, EVAL_EVERY = 8192, 1024


def run(run_dir: str, resume: bool) -> dict:
    return train(SMALL_CONFIGS["mappo"], game_layout(), vector_envs(8), vector_envs(4), run_dir,
                 budget_env_steps=BUDGET, eval_every_env_steps=EVAL_EVERY, eval_episodes=8,
                 seed=5, resume=resume, log_every_env_steps=512, show_progress=False)


if __name__ == "__main__":
    run(sys.argv[1], resume="--resume" in sys.argv)
