"""Long commands show their progress on stderr (a sweep's: tests/test_ray.py): in a log, a
plain line at the start and at the end of each part, with what runs, done out of total,
the time elapsed and an estimate of the rest; stdout keeps only the command's output."""

from __future__ import annotations

import re
import time

import pytest
import yaml
from conftest import small_config

from marl_part import progress
from marl_part.cli import main

PAIRS = [{"partitioner": "hash", "scheduler": "static"},
         {"partitioner": "pkg", "scheduler": "threshold"}]
TINY_TRAIN = {"budget_env_steps": 128, "n_envs": 4, "eval_every_env_steps": 128,
              "eval_episodes": 2, "final_episodes": 2, "final_seeds": 1}
LINE = r"{what}: {done}/{total} {unit} \[\d\d:\d\d elapsed, about (\d\d:\d\d|\?) left\]"


def progress_lines(err: str, what: str, total: int, unit: str) -> list[int]:
    """The counts done that ``what``'s lines show, in order."""
    pattern = re.compile(LINE.format(what=re.escape(what), done=r"(\d+)", total=total,
                                     unit=unit))
    return [int(m.group(1)) for line in err.splitlines() if (m := pattern.fullmatch(line))]


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)  # the small runs here are quick
    return tmp_path


def test_tune_shows_its_pairs_and_keeps_stdout_for_the_table(in_tmp, write_config, capsys,
                                                            monkeypatch):
    config = write_config({**small_config(), "tune": {"pairs": PAIRS, "episodes": 2},
                           "train": {"final_episodes": 2}})
    assert main(["tune", str(config)]) == 0
    out, err = capsys.readouterr()
    assert progress_lines(err, "tuning and scoring", 2, "pairs") == [0, 2]
    assert progress_lines(err, "oracle", 2, "partitioners") == [0, 2]
    assert progress_lines(err, "hindsight", 2, "partitioners") == [0, 2]
    assert "elapsed" not in out and "| policy | row | team_reward |" in out
    # a log gets a line every LOG_EVERY_S seconds while a part runs, even with none done;
    # a part shorter than SHOW_AFTER_S shows nothing
    monkeypatch.setattr(progress, "LOG_EVERY_S", 1.0)
    with progress.progress("slow", 1, "parts") as bar:
        time.sleep(3.5)
        bar.update()
    done = progress_lines(capsys.readouterr().err, "slow", 1, "parts")
    assert done[:3] == [0, 0, 0] and done[-1] == 1  # the start, ticks, the end
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 1.0)
    with progress.progress("quick", 1, "parts") as bar:
        time.sleep(0.2)
        bar.update()
    assert capsys.readouterr().err == ""


def test_eval_and_eval_grid_show_steps_and_workloads(in_tmp, write_config, capsys):
    config = write_config(small_config())
    assert main(["eval", str(config), "--policy", "partitioner=hash",
                 "--policy", "scheduler=static", "--episodes", "2"]) == 0
    assert progress_lines(capsys.readouterr().err, "eval", 12, "steps") == [0, 12]
    grid = in_tmp / "grid.yaml"
    grid.write_text(yaml.safe_dump({"episodes": 1, "seeds": 1, "entries": [
        {"name": name, "config": str(config), "set": changes, "pairs": PAIRS[:1]}
        for name, changes in (("a", []), ("b", ["seed=7"]))]}))
    assert main(["eval", "--grid", str(grid)]) == 0
    out, err = capsys.readouterr()
    assert progress_lines(err, "grid", 2, "workloads") == [0, 2]
    assert "elapsed" not in out


def test_ablate_shows_its_training_runs(in_tmp, write_config, capsys):
    ablate = {"seeds": 2, "variants": [{"name": "mappo"}], "baselines": PAIRS[:1]}
    config = write_config({**small_config(), "ablate": ablate, "train": TINY_TRAIN,
                           "learner": {"algorithm": "mappo", "rollout_env_steps": 128,
                                       "ppo_epochs": 1}})
    assert main(["ablate", str(config)]) == 0
    out, err = capsys.readouterr()
    assert progress_lines(err, "training", 2, "runs") == [0, 2]
    assert progress_lines(err, "tuning and scoring", 1, "pairs") == [0, 1]
    assert "mappo seed 1: 128 steps" in out and "elapsed" not in out

