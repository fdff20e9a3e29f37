"""The command line: bad input is one message and exit status 2; eval writes results."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DATA, small_config

from marl_part.cli import main

HEADLINE = Path(__file__).parent.parent / "configs" / "partition_schedule.yaml"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "marl_part.cli", *args], capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("change, fragment", [
    ({"cluster": {"max_nodse": 3}}, "config.yaml:"),
    ({"workload": {"source": "keys_csv", "path": "missing.csv"}}, "trace file not found"),
    ({"roles": {"scheduler": "ds9"}}, "allowed: one of:"),
])
def test_bad_input_exits_2_with_one_message(change, fragment, write_config):
    path = write_config({**small_config(), **change})
    result = run_cli("check", str(path))
    assert result.returncode == 2
    assert fragment in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(write_config):
    path = write_config({**small_config(), "cluster": {"max_nodse": 3}})
    result = run_cli("--debug", "check", str(path))
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_malformed_trace_line_names_file_and_line(tmp_path, write_config):
    trace = tmp_path / "events.csv"
    trace.write_text("timestamp,key\n" + "".join(f"{i},k{i % 5}\n" for i in range(300)) + "x,k1\n")
    path = write_config({**small_config("partition"), "workload": {
        "source": "keys_csv", "path": str(trace), "batch": {"tuples": 10}}})
    assert main(["check", str(path)]) == 2


def test_eval_writes_json_with_the_documented_schema(tmp_path, write_config, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_config(small_config())
    out = tmp_path / "result.json"
    assert main(["eval", str(path), "--policy", "partitioner=hash", "--policy", "scheduler=static",
                 "--episodes", "2", "--seeds", "2", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert set(data) == {"scenario", "workload", "policies", "period", "periods", "episodes",
                         "seeds", "metrics", "reward_terms", "team_reward", "episode_returns"}
    assert data["policies"] == {"partitioner": "hash", "scheduler": "static"}
    assert data["metrics"]["parallelism"]["mean"] == 8  # 2 initial nodes x 4 slots, static
    run_dirs = list((tmp_path / "runs").iterdir())
    assert len(run_dirs) == 1
    assert {p.name for p in run_dirs[0].iterdir()} >= {"eval.json", "imbalance.png",
                                                       "partition_load.png", "nodes_vs_rate.png",
                                                       "dedup_ratio.png"}


def test_eval_takes_an_inline_workload_and_rejects_unknown_policies(tmp_path, write_config,
                                                                    monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write_config(small_config())
    inline = (f"source=keys_csv,path={DATA / 'flask_git_file_events_head.csv'},"
              "time_col=timestamp,key_col=key,batch.tuples=40")
    assert main(["eval", str(path), "--policy", "partitioner=hash", "--policy", "scheduler=static",
                 "--workload", inline, "--episodes", "1", "--seeds", "1"]) == 0
    assert "keys_csv" in capsys.readouterr().out
    assert main(["eval", str(path), "--policy", "partitioner=magic"]) == 2
    assert "valid: one of: hash" in capsys.readouterr().err
    bad_column = inline.replace("key_col=key", "key_col=file")
    assert main(["eval", str(path), "--policy", "partitioner=hash", "--policy", "scheduler=static",
                 "--workload", bad_column]) == 2
    assert "no column 'file'; the file has one of: timestamp, key" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["train"], "give a CONFIG.yaml, or --resume RUN_DIR"),
    (["train", "c.yaml", "--resume", "runs/x", "--set", "seed=1"], "drop CONFIG, --set"),
    (["train", "--resume", "runs/x", "--init-from", "runs/y"], "drop --init-from"),
    (["ablate"], "give a CONFIG.yaml, or --resume OUT_DIR"),
    (["ablate", "--resume", "runs/x", "--set", "seed=1"], "drop --set"),
])
def test_a_resume_takes_no_config_and_a_start_needs_one(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ablate", "tune", "sweep"])
def test_ray_without_the_extra_says_how_to_install_it(command, write_config, monkeypatch,
                                                      capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed: import fails
    monkeypatch.chdir(tmp_path)
    path = write_config(small_config(sweep={"trials": 2, "params": {"learner.lr": {
        "values": [0.001]}}}))
    assert main([command, str(path), "--ray"]) == 2
    assert capsys.readouterr().err == ("marl-part: error: --ray: needs Ray: "
                                       "pip install 'marl-part[ray]'\n")
    if command != "tune":  # CONFIG is optional there (--resume), so --ray takes it
        assert main([command, "--ray", str(path)]) == 2
        assert "--ray: takes an optional cluster ADDRESS; give CONFIG before it" in (
            capsys.readouterr().err)
    assert not (tmp_path / "runs").exists()


def test_check_shows_how_the_headline_load_varies_and_plots_it(tmp_path, capsys):
    """The headline's load swings at least 3x within every episode (issue 10)."""
    plot = tmp_path / "demand.png"
    assert main(["check", str(HEADLINE), "--plot-demand", str(plot)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "workload:" in line]
    low, high = re.search(r"max/min is ([\d.]+)-([\d.]+)", line).groups()
    assert 3.0 <= float(low) <= float(high)
    assert plot.stat().st_size > 10_000


def hold_in_another_process(folder: Path) -> subprocess.Popen:
    """A process holding ``folder`` (as a running command would) until it is killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n"
         "from pathlib import Path\n"
         "from marl_part.experiments.rundir import held\n"
         f"with held(Path({str(folder)!r})):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(600)\n"], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_one_process_per_run_directory(tmp_path, write_config, capsys):
    """A second train --resume on a run directory in use is refused, naming the process
    that holds it; once that process is killed, its lock no longer blocks."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(write_config(small_config()).read_text())
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    holder = hold_in_another_process(run)
    try:
        assert main(["train", "--resume", str(run)]) == 2
        assert capsys.readouterr().err == (
            f"marl-part: error: {run}: process {holder.pid} is working in this folder (one "
            "process per folder); wait for it to end, or stop it\n")
    finally:
        holder.kill()
        holder.wait()
    assert (run / ".lock").read_text() == f"{holder.pid}\n"  # left behind by the kill
    assert main(["train", "--resume", str(run)]) == 2  # now the checkpoint is what is wrong
    assert "not a readable marl-part checkpoint" in capsys.readouterr().err
