"""A run killed at any point and resumed ends exactly as an unkilled one.

``marl-part train`` runs as a real subprocess and is SIGKILLed three times, at three
different points (right after its first checkpoint, in the middle of an epoch, between
its last checkpoint and its final evaluation), and resumed each time with ``train
--resume``. Its TensorBoard scalars (all but the wall-clock rates) and its ``eval.json``
must equal those of an unkilled run with the same seed, for MAPPO and for QMIX (replay
buffer included).
Marked slow: with ``MARL_PART_FULL_BUDGET=1`` the runs take 16x the env steps on 4x
the envs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import small_config

from marl_part.cli import main
from marl_part.errors import InputError
from marl_part.trainers.checkpoint import CHECKPOINT_FILE, load_checkpoint
from marl_part.trainers.team_logger import EVAL_REWARD, read_all_scalars, read_scalars

FULL_BUDGET = os.environ.get("MARL_PART_FULL_BUDGET") == "1"
N_ENVS, EVAL_EVERY = (16, 1024) if FULL_BUDGET else (4, 256)
BUDGET = (16 if FULL_BUDGET else 4) * EVAL_EVERY
LEARNERS = {
    "mappo": {"algorithm": "mappo", "rollout_env_steps": 128, "ppo_epochs": 2},
    "qmix": {"algorithm": "qmix", "batch_size": 32, "buffer_size": 1024,
             "collect_env_steps": 16, "gradient_steps_per_env_step": 0.25,
             "epsilon_anneal_fraction": 0.5},
}
COMMAND = [sys.executable, "-m", "marl_part.cli", "train"]
# the killed run waits between its last checkpoint and its final evaluation
# (tests/pause_before_final_eval/sitecustomize.py), and the last kill lands there
PAUSE_HOOK = Path(__file__).parent / "pause_before_final_eval"


def _config(algorithm: str) -> dict:
    return {**small_config(workload="zipf"), "name": algorithm, "learner": LEARNERS[algorithm],
            "train": {"budget_env_steps": BUDGET, "n_envs": N_ENVS,
                      "eval_every_env_steps": EVAL_EVERY, "eval_episodes": 4,
                      "final_episodes": 4, "final_seeds": 4, "compare_with": []}}


def _checkpoint_step(run_dir: Path) -> int:
    try:
        return load_checkpoint(run_dir / CHECKPOINT_FILE)["progress"]["env_step"]
    except InputError:  # none yet
        return 0


def _evaluated(run_dir: Path, step: int) -> bool:
    return step in read_scalars(str(run_dir), EVAL_REWARD)


# (what the kill interrupts, when to send it): each kill waits for its condition
KILL_POINTS = (
    ("the evaluation right after the first checkpoint",
     lambda run_dir: _checkpoint_step(run_dir) >= EVAL_EVERY),
    ("the epoch after the second evaluation",  # and its checkpoint: the logger flushes first
     lambda run_dir: _evaluated(run_dir, 2 * EVAL_EVERY)
     and _checkpoint_step(run_dir) >= 2 * EVAL_EVERY),
    ("the pause before the final evaluation",
     lambda run_dir: _checkpoint_step(run_dir) == BUDGET),
)


def _start(args: list[str], cwd: Path, pause: bool = False) -> subprocess.Popen:
    env = None
    if pause:
        path = os.pathsep.join(filter(None, [str(PAUSE_HOOK), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path, "MARL_PART_PAUSE_BEFORE_FINAL_EVAL": "600"}
    return subprocess.Popen(COMMAND + args + ["--no-progress"], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _run_dir(cwd: Path) -> Path | None:
    found = list((cwd / "runs").glob("*/config.yaml")) if (cwd / "runs").is_dir() else []
    return found[0].parent if found else None


def _kill_when(process: subprocess.Popen, cwd: Path, ready) -> Path:
    deadline = time.time() + 600
    while (run_dir := _run_dir(cwd)) is None or not ready(run_dir):
        assert process.poll() is None, f"the run ended before its kill: {process.stderr.read()}"
        assert time.time() < deadline, "the kill point never came"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return run_dir


def _evaluation(run_dir: Path) -> dict:
    """eval.json, with the run directory's name (in the policy labels) taken out."""
    text = (run_dir / "eval.json").read_text().replace(run_dir.name, "RUN")
    return json.loads(text)


@pytest.fixture(scope="module", params=sorted(LEARNERS))
def runs(request, tmp_path_factory) -> dict:
    """An unkilled run and a run killed at every kill point (and resumed each time) of
    the same config; the checkpoint step at each kill, and whether eval.json existed."""
    algorithm = request.param
    root = tmp_path_factory.mktemp(algorithm)
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(_config(algorithm), sort_keys=False))
    for name in ("unkilled", "killed"):
        (root / name).mkdir()
    unkilled = _start([str(config)], root / "unkilled")  # beside the killed one, for time
    process = _start([str(config)], root / "killed", pause=True)
    try:
        kills = []
        for i, (_, ready) in enumerate(KILL_POINTS):
            run_dir = _kill_when(process, root / "killed", ready)
            kills.append((_checkpoint_step(run_dir), (run_dir / "eval.json").exists()))
            last = i == len(KILL_POINTS) - 1  # the run that finishes does not pause
            process = _start(["--resume", str(run_dir)], root / "killed", pause=not last)
        assert process.wait(timeout=600) == 0, process.stderr.read()
        assert unkilled.wait(timeout=600) == 0, unkilled.stderr.read()
    finally:  # a failed fixture leaves no run behind
        for running in (process, unkilled):
            if running.poll() is None:
                running.kill()
    return {"algorithm": algorithm, "killed": run_dir, "unkilled": _run_dir(root / "unkilled"),
            "kills": kills}


@pytest.mark.slow
def test_a_run_killed_three_times_ends_exactly_as_an_unkilled_one(runs):
    (first, _), (second, _), (last, evaluated) = runs["kills"]
    assert EVAL_EVERY <= first < BUDGET and 2 * EVAL_EVERY <= second < BUDGET
    assert last == BUDGET and not evaluated  # killed after training, before eval.json
    killed, unkilled = (read_all_scalars(str(runs[name]), wall_clock=False)
                        for name in ("killed", "unkilled"))
    assert sorted(killed) == sorted(unkilled)
    assert {"train/episode_reward", "losses/team/td_loss" if runs["algorithm"] == "qmix"
            else "losses/partitioner/policy_loss", "metrics/backlog", EVAL_REWARD} <= set(killed)
    assert list(killed[EVAL_REWARD]) == list(range(0, BUDGET + 1, EVAL_EVERY))
    for tag, values in unkilled.items():
        assert killed[tag] == values, tag  # every step, every value, to the last bit
    assert _evaluation(runs["killed"]) == _evaluation(runs["unkilled"])


def _flip_bytes(path: Path, count: int = 64) -> None:
    data = bytearray(path.read_bytes())
    for position in np.random.default_rng(0).choice(len(data), count, replace=False):
        data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def _refusal(args: list[str], capsys) -> str:
    assert main(args) == 2
    message = capsys.readouterr().err
    assert len(message.strip().splitlines()) == 1, message
    return message


def test_corrupt_checkpoints_and_replay_buffers_are_refused_in_one_line(runs, tmp_path,
                                                                        capsys):
    run_dir = tmp_path / "run"
    shutil.copytree(runs["killed"], run_dir)
    checkpoint = load_checkpoint(run_dir / CHECKPOINT_FILE)
    if runs["algorithm"] == "qmix":
        buffer = run_dir / checkpoint["replay_buffer"]["file"]
        _flip_bytes(buffer)
        assert f"{buffer}: replay buffer is corrupt" in _refusal(
            ["train", "--resume", str(run_dir)], capsys)
    _flip_bytes(run_dir / CHECKPOINT_FILE)
    for args in (["train", "--resume", str(run_dir)],
                 ["eval", str(run_dir / "config.yaml"), "--policy", f"partitioner={run_dir}",
                  "--episodes", "1", "--seeds", "1"]):
        assert f"{run_dir / CHECKPOINT_FILE}: " in _refusal(args, capsys)


def _stop_when(process: subprocess.Popen, cwd: Path, ready, signum: int) -> tuple[Path, str]:
    """Send ``signum`` once ``ready(run_dir)``; the run directory and what the process
    wrote to stderr (its last line the interruption's)."""
    deadline = time.time() + 600
    while (run_dir := _run_dir(cwd)) is None or not ready(run_dir):
        assert process.poll() is None, f"the run ended before its signal: {process.stderr.read()}"
        assert time.time() < deadline, "the signal point never came"
        time.sleep(0.02)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    return run_dir, stderr


def _checkpoint_written(run_dir: Path) -> int | None:
    """When the run's checkpoint was last written (None: not yet); cheap to poll."""
    path = run_dir / CHECKPOINT_FILE
    return path.stat().st_mtime_ns if path.exists() else None


@pytest.mark.slow
def test_sigint_and_sigterm_stop_a_run_in_one_line_and_it_resumes_exactly(runs, tmp_path):
    """SIGINT, then (resumed) SIGTERM, each sent as soon as a new checkpoint is on disk,
    so that it lands in an evaluation or the training after it: each ends the run with
    exit 130 or 143 and one line naming the env step of the checkpoint it wrote there
    and the command that resumes it; resumed once more, the run ends as the unkilled
    one. (tests/trainers/test_trainer_resume.py stops runs in mid-epoch deterministically.)"""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(_config(runs["algorithm"]), sort_keys=False))
    process = _start([str(config)], tmp_path)
    stops, written = [], None
    for signum, name in ((signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")):
        run_dir, stderr = _stop_when(process, tmp_path, lambda run_dir, before=written: (
            _checkpoint_written(run_dir) not in (None, before)), signum)
        step = _checkpoint_step(run_dir)
        assert stderr.splitlines() == [(
            f"marl-part: train interrupted ({name}) at env step {step:,} of {BUDGET:,} "
            f"(checkpoint written); resume with: marl-part train --resume "
            f"{run_dir.relative_to(tmp_path)}")]
        progress = load_checkpoint(run_dir / CHECKPOINT_FILE)["progress"]
        assert progress["env_step"] == step
        learner = LEARNERS[runs["algorithm"]]
        collection = learner.get("rollout_env_steps") or learner["collect_env_steps"]
        assert progress["evaluation_due"] is False and step % collection == 0
        stops.append(step)
        written = _checkpoint_written(run_dir)
        process = _start(["--resume", str(run_dir.relative_to(tmp_path))], tmp_path)
    assert process.wait(timeout=600) == 0, process.stderr.read()
    assert EVAL_EVERY <= stops[0] < stops[1] < BUDGET
    stopped, unkilled = (read_all_scalars(str(d), wall_clock=False)
                         for d in (run_dir, runs["unkilled"]))
    assert sorted(stopped) == sorted(unkilled)
    for tag, values in unkilled.items():
        assert stopped[tag] == values, tag
    assert _evaluation(run_dir) == _evaluation(runs["unkilled"])
