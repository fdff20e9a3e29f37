"""A run killed with SIGKILL resumes from its last checkpoint, curves continuing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from killable_run import BUDGET, EVAL_EVERY, run
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

from marl_part.trainers.checkpoint import CHECKPOINT_FILE, load_checkpoint

HERE = Path(__file__).parent


def _checkpoint_step(run_dir: Path) -> int:
    path = run_dir / CHECKPOINT_FILE
    return load_checkpoint(path)["progress"]["env_step"] if path.is_file() else 0


def _scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run_dir), size_guidance={SCALARS: 0})
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars(tag)]


def _scalar_steps(run_dir: Path, tag: str) -> list[int]:
    return [step for step, _ in _scalars(run_dir, tag)]


def test_killed_run_resumes_and_its_curves_continue(tmp_path):
    run_dir = tmp_path / "run"
    python_path = os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=python_path)
    process = subprocess.Popen([sys.executable, str(HERE / "killable_run.py"), str(run_dir)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _checkpoint_step(run_dir) < 3 * EVAL_EVERY:
        assert process.poll() is None, f"run ended before it was killed: {process.stderr.read()}"
        assert time.time() < deadline, "no checkpoint in time"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = _checkpoint_step(run_dir)
    assert 3 * EVAL_EVERY <= killed_at < BUDGET

    result = run(str(run_dir), resume=True)

    assert result["env_steps"] == BUDGET
    assert _checkpoint_step(run_dir) == BUDGET
    # one evaluation per interval from the random start to the end, none twice
    assert _scalar_steps(run_dir, "eval/episode_reward") == list(range(0, BUDGET + 1, EVAL_EVERY))
    # training curves span the kill on one step axis, without going back
    for tag in ("train/episode_reward", "losses/partitioner/policy_loss",
                "reward_terms/convention"):
        steps = _scalar_steps(run_dir, tag)
        assert steps == sorted(set(steps)), tag
        assert steps[0] <= killed_at < steps[-1] and steps[-1] == BUDGET, tag
    # the run's total of deadline misses carries over the kill
    misses = [value for _, value in _scalars(run_dir, "train/cumulative_deadline_miss")]
    assert misses == sorted(misses) and misses[-1] > misses[0]
