"""A run stopped right after a checkpoint and resumed continues exactly as an unstopped one.

In-process and on the convention game (Tianshou's DummyVectorEnv path); the SIGKILLed
``marl-part train`` subprocesses of ``tests/test_resume.py`` check the same on the
batched simulation.
"""

from __future__ import annotations

import os
import signal

import pytest
from convention_game import make_joint_env
from trainer_cases import SMALL_CONFIGS, game_layout, vector_envs

from marl_part import interrupts
from marl_part.envs.vector_env import JointDummyVectorEnv
from marl_part.trainers.checkpoint import CHECKPOINT_FILE, load_checkpoint
from marl_part.trainers.runner import train
from marl_part.trainers.team_logger import EVAL_REWARD, read_all_scalars

EVAL_EVERY = {"mappo": 512, "qmix": 256}  # whole rollouts of SMALL_CONFIGS
EPOCHS = 4


class Stopped(Exception):
    """Raised in place of the evaluation that follows the checkpoint a run stops at."""


class StoppingEnvs(JointDummyVectorEnv):
    """Four evaluation envs whose third evaluation (the one after the checkpoint of
    epoch 2) never takes a step while ``armed``: the run stops there, as if killed."""

    STEPS_PER_EVALUATION = 8  # 4 episodes of 8 steps, one per env
    armed = True  # a class attribute: not part of the envs' state in the checkpoint

    def __init__(self):
        super().__init__([make_joint_env] * 4)
        self.steps = 0

    def step(self, action, id=None):
        if self.armed and self.steps == 2 * self.STEPS_PER_EVALUATION:
            raise Stopped
        self.steps += 1
        return super().step(action, id)


@pytest.mark.parametrize("name", sorted(EVAL_EVERY))
def test_a_resumed_run_logs_what_an_unstopped_one_does(name, tmp_path):
    every = EVAL_EVERY[name]

    def run(run_dir, test_envs, resume: bool = False) -> dict:
        return train(SMALL_CONFIGS[name], game_layout(), vector_envs(4), test_envs, run_dir,
                     budget_env_steps=EPOCHS * every, eval_every_env_steps=every,
                     eval_episodes=4, seed=3, resume=resume, log_every_env_steps=every // 4,
                     show_progress=False)

    unstopped = run(tmp_path / "unstopped", vector_envs(4))
    StoppingEnvs.armed = True
    with pytest.raises(Stopped):
        run(tmp_path / "stopped", StoppingEnvs)
    assert list(read_all_scalars(str(tmp_path / "stopped"))[EVAL_REWARD]) == [0, every]
    StoppingEnvs.armed = False
    resumed = run(tmp_path / "stopped", StoppingEnvs, resume=True)
    assert_resumed_as_unstopped(tmp_path, resumed, unstopped, every)


class SignallingEnvs(JointDummyVectorEnv):
    """Four training envs that send this process a SIGINT at their ``at``-th step while
    ``armed``, in the middle of an epoch."""

    at = 0
    armed = True  # class attributes: not part of the envs' state in the checkpoint

    def __init__(self):
        super().__init__([make_joint_env] * 4)
        self.steps = 0

    def step(self, action, id=None):
        self.steps += 1
        if self.armed and self.steps == self.at:
            os.kill(os.getpid(), signal.SIGINT)
        return super().step(action, id)


@pytest.mark.parametrize("name", sorted(EVAL_EVERY))
@pytest.mark.parametrize("where", ["mid-epoch", "after an evaluation"])
def test_an_interrupted_run_writes_a_checkpoint_and_resumes_exactly(name, where, tmp_path):
    """A SIGINT in the second epoch stops the run at its next training step, with a
    checkpoint there: in the middle of the epoch, or (sent during its last collection)
    at the start of the third, after the second evaluation; resumed, the run logs what
    an uninterrupted one does."""
    collection = SMALL_CONFIGS[name].env_steps_per_collection
    every = max(EVAL_EVERY[name], 2 * collection)

    def run(run_dir, train_envs, resume: bool = False) -> dict:
        return train(SMALL_CONFIGS[name], game_layout(), train_envs, vector_envs(4), run_dir,
                     budget_env_steps=EPOCHS * every, eval_every_env_steps=every,
                     eval_episodes=4, seed=3, resume=resume, log_every_env_steps=every // 4,
                     show_progress=False)

    unstopped = run(tmp_path / "unstopped", vector_envs(4))
    sent_at = every + collection // 2 if where == "mid-epoch" else 2 * every - collection // 2
    SignallingEnvs.at, SignallingEnvs.armed = sent_at // 4, True
    with interrupts.handled(), pytest.raises(interrupts.Interrupted) as stop:
        run(tmp_path / "stopped", SignallingEnvs)
    stopped_at = load_checkpoint(tmp_path / "stopped" / CHECKPOINT_FILE)["progress"]
    assert stopped_at["env_step"] - collection < sent_at <= stopped_at["env_step"]
    assert stopped_at["env_step"] % collection == 0 and not stopped_at["evaluation_due"]
    assert (stopped_at["env_step"] % every == 0) == (where == "after an evaluation")
    assert stop.value.exit_status == 130 and stop.value.places == [
        f"env step {stopped_at['env_step']:,} of {EPOCHS * every:,} (checkpoint written)"]
    SignallingEnvs.armed = False
    resumed = run(tmp_path / "stopped", SignallingEnvs, resume=True)
    assert_resumed_as_unstopped(tmp_path, resumed, unstopped, every)


def assert_resumed_as_unstopped(tmp_path, resumed: dict, unstopped: dict, every: int) -> None:
    """The run in ``stopped`` resumed to the end exactly as the one in ``unstopped``:
    the same steps, final evaluation and every TensorBoard scalar."""
    assert resumed["env_steps"] == unstopped["env_steps"] == EPOCHS * every
    assert resumed["last_eval_reward"] == unstopped["last_eval_reward"]
    ours, theirs = (read_all_scalars(str(tmp_path / name), wall_clock=False)
                    for name in ("stopped", "unstopped"))
    assert list(ours[EVAL_REWARD]) == list(range(0, EPOCHS * every + 1, every))
    assert "train/cumulative_deadline_miss" in ours and sorted(ours) == sorted(theirs)
    for tag, values in theirs.items():
        assert ours[tag] == values, tag
