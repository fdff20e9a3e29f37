"""``--ray``: ablations and tuning as Ray tasks on a local instance, and ``sweep``.

Skipped without the ``ray`` extra (``pip install -e '.[ray]'``; CI installs it). One
local Ray instance for the module: 2 CPUs, loopback only, no dashboard.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from test_training import tiny_config

from marl_part import progress
from marl_part.cli import main
from marl_part.errors import InputError
from marl_part.trainers.checkpoint import CHECKPOINT_FILE, load_checkpoint

ray = pytest.importorskip("ray")

ABLATE = {"seeds": 2, "statistic": "mean",
          "variants": [{"name": "mappo"},
                       {"name": "partitioner-alone", "set": ["roles.scheduler=static"]}],
          "baselines": [{"partitioner": "hash", "scheduler": "static"}]}


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             logging_level="WARNING")
    yield
    ray.shutdown()


def _only_run(root: Path) -> Path:
    (out,) = (root / "runs").iterdir()
    return out


def _here_and_on_ray(tmp_path: Path, monkeypatch, args: list[str]) -> dict[str, Path]:
    """The output folder of a command run here, and of the same one with ``--ray``."""
    outs = {}
    for where, extra in (("local", []), ("ray", ["--ray"])):
        (tmp_path / where).mkdir()
        monkeypatch.chdir(tmp_path / where)
        assert main([*args, *extra]) == 0
        outs[where] = _only_run(tmp_path / where)
    return outs


def test_an_ablation_on_ray_gives_the_local_tables(tmp_path, write_config, monkeypatch, local_ray):
    outs = _here_and_on_ray(tmp_path, monkeypatch,
                            ["ablate", str(write_config(tiny_config(ablate=ABLATE)))])
    tables = {where: json.loads((out / "ablation.json").read_text()) for where, out in outs.items()}
    for out in outs.values():
        assert len(list(out.glob("*/seed*/eval.json"))) == 4
    rows = {where: {row["name"]: row for row in table} for where, table in tables.items()}
    assert list(rows["ray"]) == list(rows["local"]) and len(rows["local"]) == 6
    for name, local in rows["local"].items():  # learners: 2 seeds; baselines: 2 episodes
        assert len(local["scores"]) == 2
        assert rows["ray"][name] == local, name
    # the same files and columns beside the JSON
    assert (outs["ray"] / "ablation.csv").read_text() == (
        outs["local"] / "ablation.csv").read_text()


def test_tune_on_ray_gives_the_local_table(tmp_path, write_config, monkeypatch, local_ray):
    tune = {"episodes": 2, "pairs": [{"partitioner": "hash", "scheduler": "static"},
                                     {"partitioner": "pkg", "scheduler": "threshold"}]}
    outs = _here_and_on_ray(tmp_path, monkeypatch,
                            ["tune", str(write_config(tiny_config(tune=tune)))])
    results = {where: json.loads((out / "tune.json").read_text()) for where, out in outs.items()}
    assert [row["kind"] for row in results["ray"]["rows"]] == [
        "default", "tuned", "default", "tuned", "oracle", "hindsight"]
    assert results["ray"]["rows"] == results["local"]["rows"]
    assert results["ray"]["best"] == results["local"]["best"]


def _checkpoint_step(run_dir: Path) -> int:
    try:
        return load_checkpoint(run_dir / CHECKPOINT_FILE)["progress"]["env_step"]
    except InputError:  # none yet
        return 0


def _writer_pid(run_dir: Path) -> int:
    """The process training ``run_dir``: TensorBoard names its event file after it."""
    (events,) = run_dir.glob("events.out.tfevents.*")  # a fresh run's only one
    return int(events.name.split(".")[-2])


def _kill_one_run_after_its_checkpoint(root: Path, killed: dict, finished: threading.Event):
    """SIGKILL the Ray worker training the first run seen with a checkpoint."""
    while not finished.is_set():
        for run_dir in sorted(root.glob("runs/*/*/seed*")):
            if not (run_dir / "eval.json").exists() and _checkpoint_step(run_dir) > 0:
                pid = _writer_pid(run_dir)
                os.kill(pid, signal.SIGKILL)
                killed.update(run=run_dir, pid=pid)
                return
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_ray_worker_is_retried_and_its_run_resumes_from_its_checkpoint(
        tmp_path, write_config, monkeypatch, local_ray, capsys):
    monkeypatch.chdir(tmp_path)
    train = {"budget_env_steps": 1024, "n_envs": 4, "eval_every_env_steps": 128,
             "eval_episodes": 2, "final_episodes": 2, "final_seeds": 1, "compare_with": []}
    config = write_config(tiny_config(train=train, ablate={**ABLATE, "baselines": [],
                                                           "variants": ABLATE["variants"][:1]}))
    killed, finished = {}, threading.Event()
    watcher = threading.Thread(target=_kill_one_run_after_its_checkpoint,
                               args=(tmp_path, killed, finished))
    watcher.start()
    try:
        assert main(["ablate", str(config), "--ray"]) == 0
    finally:
        finished.set()
        watcher.join()
    assert killed, "no run was seen between its first checkpoint and its end"
    out = _only_run(tmp_path)
    assert len(list(out.glob("*/seed*/eval.json"))) == 2
    run = killed["run"]
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith(f"  mappo {run.name.replace('seed', 'seed ')}:"))
    assert "resumed from its checkpoint at env step " in line, line
    step = int(line.split("env step ")[1].split(";")[0].replace(",", ""))
    assert 0 < step < 1024
    assert json.loads((out / "ablation.json").read_text())[0]["over"] == "2 training seeds"


SWEEP = {"search": "random", "trials": 4, "grace_evaluations": 1, "reduction_factor": 2,
         "params": {"learner.lr": {"log_uniform": [1e-4, 1e-2]},
                    "learner.clip": {"uniform": [0.1, 0.3]},
                    "partitioner.hot_keys": {"values": [3, 4]}}}


def test_a_sweep_writes_every_trial_and_a_best_config_train_runs(tmp_path, write_config,
                                                                  monkeypatch, local_ray, capsys):
    monkeypatch.chdir(tmp_path)
    train = {"budget_env_steps": 256, "n_envs": 4, "eval_every_env_steps": 128,
             "eval_episodes": 2, "final_episodes": 1, "final_seeds": 1, "compare_with": []}
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    assert main(["sweep", str(write_config(tiny_config(train=train, sweep=SWEEP)))]) == 0
    # its progress on stderr: a line at the start and at the end, each trial counted
    finished = re.findall(r"^sweep: (\d)/4 trials \[\d\d:\d\d elapsed, about .* left\]$",
                          capsys.readouterr().err, re.MULTILINE)
    assert finished[0] == "0" and finished[-1] == "4"
    (out,) = (tmp_path / "runs").iterdir()
    table = json.loads((out / "sweep.json").read_text())
    trials = table["trials"]
    assert [t["trial"] for t in trials] == ["trial000", "trial001", "trial002", "trial003"]
    for trial in trials:  # drawn within the ranges; each trained, or stopped by ASHA
        assert 1e-4 <= trial["values"]["learner.lr"] <= 1e-2
        assert 0.1 <= trial["values"]["learner.clip"] <= 0.3
        assert trial["values"]["partitioner.hot_keys"] in (3, 4)
        assert trial["status"] in ("completed", "stopped by ASHA")
        assert trial["env_steps"] in (128, 256) and trial["eval_reward"] < 0
        assert trial["status"] != "completed" or trial["env_steps"] == 256
    assert len({t["values"]["learner.lr"] for t in trials}) == 4
    completed = [t for t in trials if t["status"] == "completed"]
    best = max(completed, key=lambda t: t["eval_reward"])
    assert table["best"] == best["trial"]
    assert len((out / "sweep.md").read_text().splitlines()) == 4 + 4  # a line, a blank, a header
    # the best config is the best trial's, and train takes it as it is
    best_yaml = yaml.safe_load((out / "best.yaml").read_text())
    assert best_yaml["learner"]["lr"] == best["values"]["learner.lr"]
    assert best_yaml["partitioner"]["hot_keys"] == best["values"]["partitioner.hot_keys"]
    assert "sweep" not in best_yaml or best_yaml["sweep"] is None
    capsys.readouterr()
    assert main(["train", str(out / "best.yaml"), "--no-progress",
                 "--set", "train.budget_env_steps=128"]) == 0
    assert "trained 128 env steps" in capsys.readouterr().out


@pytest.mark.slow
def test_a_killed_sweep_resumes_keeping_its_finished_trials(tmp_path, write_config,
                                                             monkeypatch, local_ray):
    monkeypatch.chdir(tmp_path)
    train = {"budget_env_steps": 256, "n_envs": 4, "eval_every_env_steps": 128,
             "eval_episodes": 2, "final_episodes": 1, "final_seeds": 1, "compare_with": []}
    sweep = {"search": "grid", "params": {"learner.lr": {"values": [5e-4, 2e-3]}}}
    config = write_config(tiny_config(train=train, sweep=sweep))
    # one CPU held, so the trials run one after the other and the kill lands between them
    held = ray.util.placement_group([{"CPU": 1}])
    ray.get(held.ready())
    driver = subprocess.Popen(  # a driver of its own on this Ray instance, killed below
        [sys.executable, "-m", "marl_part.cli", "sweep", str(config)], cwd=tmp_path,
        env={**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 150
    while not (finished := list(tmp_path.glob("runs/*/trial*/eval.json"))):
        assert driver.poll() is None and time.time() < deadline, "no trial finished"
        time.sleep(0.1)
    driver.kill()
    driver.wait()
    ray.util.remove_placement_group(held)
    kept = {path: path.stat().st_mtime_ns for path in finished}
    out = _only_run(tmp_path)
    assert not (out / "sweep.json").exists()
    assert main(["sweep", "--resume", str(out)]) == 0
    trials = json.loads((out / "sweep.json").read_text())["trials"]
    assert [t["values"]["learner.lr"] for t in trials] == [5e-4, 2e-3]
    assert all(t["status"] in ("completed", "stopped by ASHA") for t in trials), trials
    assert {path: path.stat().st_mtime_ns for path in kept} == kept  # not trained again
    assert (out / "best.yaml").is_file()
    assert all(t["env_steps"] == 256 for t in trials if t["status"] == "completed")
