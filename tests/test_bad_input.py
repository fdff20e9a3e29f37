"""Issue 11's reproducers: every bad input ends in one line naming the file and the key
or line, with exit status 2; nothing is written outside runs/, and a command refused
at the start leaves no run directory."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest
import yaml
from conftest import WORKLOADS, small_config

from marl_part.cli import main
from marl_part.config import load_config
from marl_part.errors import InputError
from marl_part.evaluation.evaluate import evaluate

CONFIGS = Path(__file__).parent.parent / "configs"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Every command runs in a fresh folder, so runs/ starts empty."""
    monkeypatch.chdir(tmp_path)


def refusal(capsys, *argv: str) -> str:
    """Run the command; it must exit 2 with one line on stderr, which is returned."""
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def runs(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "runs").glob("*")) if (tmp_path / "runs").is_dir() else []


def write(tmp_path, config: dict, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_config_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "l1.yaml"
    path.write_bytes(b"# caf\xe9\n" + yaml.safe_dump(small_config()).encode())
    assert refusal(capsys, "check", path) == (
        f"marl-part: error: {path}:1: not UTF-8 text (byte 0xe9); save the file as UTF-8")
    run = tmp_path / "run"  # also as a run's config: train --resume, eval --policy
    run.mkdir()
    (run / "config.yaml").write_bytes(path.read_bytes())
    (run / "checkpoint.pt").write_bytes(b"x")
    assert "config.yaml:1: not UTF-8" in refusal(capsys, "train", "--resume", run)
    good = write(tmp_path, small_config("partition"))
    assert "config.yaml:1: not UTF-8" in refusal(capsys, "eval", good, "--policy",
                                                 f"partitioner={run}")


@pytest.mark.parametrize("text, override, line, fragment", [
    ("episode_length: !foo 5\n", None, 1, "explicit tags such as !foo are not allowed"),
    ("", "episode_length=!!float abc", None, "key 'episode_length': expected int"),
    ("seed: " + "[" * 3000 + "]" * 3000 + "\n", None, 1, "nested deeper than 50 levels"),
    ("seed: 1\x00\n", None, 1, "character '\\x00' is not allowed"),
])
def test_tags_nesting_and_nul_bytes(tmp_path, capsys, text, override, line, fragment):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(small_config(), sort_keys=False) + text)
    message = refusal(capsys, "check", path, *(["--set", override] if override else []))
    assert message.startswith(f"marl-part: error: {path}:") and fragment in message, message


@pytest.mark.parametrize("override, fragment", [
    ("scenario=../x", "key 'scenario': '../x' is no scenario"),
    ("scenario=''", "key 'scenario': '' is no scenario"),
    ("cluster.nodes=[{count: 8, speed: .nan}]", "key 'cluster.nodes[0].speed': expected a finite number, got nan"),
    ("cluster.nodes=[{count: 8, speed: .inf}]", "key 'cluster.nodes[0].speed': expected a finite number, got inf"),
    ("cluster.nodes=[{count: 8, speed: 4, price: .inf}]", "key 'cluster.nodes[0].price': expected a finite"),
    ("cluster.deadline=.nan", "key 'cluster.deadline': expected a finite number"),
    ("cluster.batch_interval=.nan", "key 'cluster.batch_interval': expected a finite number"),
    ("reward.balance=.nan", "key 'reward.balance': expected a finite number"),
    ("cluster.slots_per_node=1.0e+308", "key 'cluster.slots_per_node': 1e+308 is out of range"),
    ("partitioner.hot_keys=1.0e+308", "key 'partitioner.hot_keys': 1e+308 is out of range"),
    ("workload.batch.tuples=1.0e+308", "key 'workload.batch.tuples': 1e+308 is out of range"),
    ("cluster.provisioning_delay=1.0e+308", "key 'cluster.provisioning_delay': 1e+308 is out"),
    ("seed=-1", "key 'seed': must not be negative, got -1"),
    ("wrappers=[{name: clip_reward, lower_bound: 1, upper_bound: -1}]",
     "key 'wrappers[0].upper_bound': must not be below lower_bound (1.0), got -1.0"),
    ("cluster.slots_per_node=100000", "nodes x slots_per_node = 400,000 partitions; at most 4,096"),
    ("partitioner.hot_keys=5000", "hot_keys x split_ways = 10,000 action dimensions; at most 1,024"),
    ("learner.hidden_sizes=[100000]", "key 'learner.hidden_sizes': needs 1 to 16 layers of 1 to 8192"),
    ("learner={algorithm: qmix, buffer_size: 1000000000}", "key 'learner.buffer_size': at most 2,000,000"),
    ("train.n_envs=100000", "key 'train.n_envs': at most 10,000"),
    ("workload.batch.rate_profile={path: x.csv, smooth: 1000000000000}",
     "key 'workload.batch.rate_profile.smooth': must be at least 1 and at most 1,000,000"),
    ("wrappers=[{name: frame_stack, stack_size: 1000000}]", "at least 1 and at most 1024, got 1000000"),
    ("clock=true", "key 'clock': shows the phase of workload.batch.rate_profile; this workload has none"),
    ("wrappers=[{name: normalize_obs, env_min: -1e308, env_max: 1e308}]", "by a finite range"),
])
def test_config_values_are_refused_where_they_enter(tmp_path, capsys, override, fragment):
    path = write(tmp_path, small_config("partition"))
    message = refusal(capsys, "check", path, "--set", override)
    assert message.startswith(f"marl-part: error: {path}") and fragment in message, message


@pytest.mark.parametrize("overrides, fragment", [
    (["workload.burst_factor=-5", "workload.burst_probability=1"],
     "key 'workload.burst_factor': must not be negative"),
    (["workload.rate=.nan"], "key 'workload.rate': expected a finite number"),
    (["workload.rate_curve=[.nan]"], "key 'workload.rate_curve[0]': expected a finite number"),
    (["workload.drift_period=0"], "key 'workload.drift_period': must be positive"),
    (["workload.rate=1e12"], "key 'workload.rate': rate x seconds"),
])
def test_zipf_rates(tmp_path, capsys, overrides, fragment):
    path = write(tmp_path, small_config("partition", "zipf"))
    message = refusal(capsys, "check", path, *[a for o in overrides for a in ("--set", o)])
    assert fragment in message, message


@pytest.mark.parametrize("config, override", [
    ("partition.yaml", "cluster.nodes=[{count: 8, speed: 1e-320}]"),
    ("partition_schedule.yaml", "cluster.nodes=[{count: 8, speed: 4, price: 1e308}]"),
])
def test_check_refuses_non_finite_arithmetic(capsys, config, override):
    """Finite but extreme numbers: the env refuses the NaN they make (PettingZoo's seed
    test ended in an AssertionError)."""
    message = refusal(capsys, "check", CONFIGS / config, "--set", "episode_length=3", "--set",
                      override)
    assert f"{CONFIGS / config}: the simulation computed " in message, message


def test_eval_never_scores_nan_arithmetic(tmp_path, capsys):
    """A speed near 0 makes busy times infinite and the imbalance NaN: refused, not
    reported as a perfect score."""
    path = write(tmp_path, small_config("partition", cluster={
        "nodes": [{"count": 2, "speed": 1e-320}], "slots_per_node": 2, "initial_nodes": 2}))
    message = refusal(capsys, "eval", path, "--policy", "partitioner=hash", "--episodes", "1",
                      "--seeds", "1")
    assert message.startswith(f"marl-part: error: {path}: the simulation computed ")
    assert runs(tmp_path) == []
    # numpy warns on the way (overflow): the command's refusal above is still one line
    with pytest.warns(RuntimeWarning), pytest.raises(InputError, match="simulation computed"):
        evaluate(load_config(path, ["roles.partitioner=hash"]), {}, 1, 1)


@pytest.mark.parametrize("config, override, fragment", [
    ("autoscale_swf.yaml", "workload.batch.time_compression=1e-9", "micro-batches, more than 1,000,000"),
    ("partition_flask_events.yaml", "workload.batch.time_compression=0.5", "micro-batches, more than"),
    ("autoscale_zipf.yaml", "cluster.batch_interval=1e-6", "micro-batches, more than 1,000,000"),
])
def test_time_windows_too_fine_are_refused_before_allocating(capsys, config, override, fragment):
    start = time.perf_counter()
    message = refusal(capsys, "check", CONFIGS / config, "--set", override)
    assert "key 'workload.batch.time_compression'" in message and fragment in message, message
    assert time.perf_counter() - start < 60


def keys_csv(tmp_path, text: str, name: str = "t.csv", **spec) -> Path:
    trace = tmp_path / name
    (trace.write_bytes if isinstance(text, bytes) else trace.write_text)(text)
    return write(tmp_path, {**small_config("partition"), "workload": {
        "source": "keys_csv", "path": str(trace), "work_col": "work",
        "batch": {"time_compression": 1}, **spec}})


@pytest.mark.parametrize("rows, line, fragment", [
    ("0,a,1\ninf,b,1\n", 3, "column 'timestamp': 'inf' is not a finite number"),
    ("0,a,1\nnan,b,1\n", 3, "column 'timestamp': 'nan' is not a number"),
    ("0,a,1\n1,b,-2\n", 3, "column 'work': '-2' is not a number >= 0"),
    ("0,a,1\n1,b,inf\n", 3, "column 'work': 'inf' is not a finite number"),
])
def test_trace_values_name_file_and_line(tmp_path, capsys, rows, line, fragment):
    path = keys_csv(tmp_path, "timestamp,key,work\n" + rows)
    assert f"t.csv:{line}: {fragment}" in refusal(capsys, "check", path)


def test_huge_trace_times_are_refused_before_allocating(tmp_path, capsys):
    path = keys_csv(tmp_path, "timestamp,key,work\n0,a,1\n1e300,b,1\n")
    assert "cut the trace's 1e+300 s into 1e+300 micro-batches" in refusal(capsys, "check", path)


@pytest.mark.parametrize("workload", ["keys_csv", "arrivals_csv", "chunks_csv", "swf", "text"])
def test_truncated_gzip_traces(tmp_path, capsys, workload):
    spec = dict(WORKLOADS[workload])
    raw = Path(spec["path"]).read_bytes()
    packed = raw if spec["path"].endswith(".gz") else gzip.compress(raw)
    trace = tmp_path / ("cut" + "".join(Path(spec["path"]).suffixes[:1]) + ".gz")
    trace.write_bytes(packed[: len(packed) // 2])
    config = small_config("dedup_route" if workload == "chunks_csv" else "partition", workload)
    path = write(tmp_path, {**config, "workload": {**spec, "path": str(trace)}})
    assert f"{trace}: gzip file is truncated or corrupt" in refusal(capsys, "check", path)


def test_undecodable_bytes_past_the_first_block(tmp_path, capsys):
    rows = "".join(f"{i},k{i % 50},1\n" for i in range(200_000))
    path = keys_csv(tmp_path, ("timestamp,key,work\n" + rows).encode() + b"200000,caf\xe9,1\n")
    assert "t.csv:200002: not UTF-8 text (byte 0xe9)" in refusal(capsys, "check", path)


def test_chunk_traces_header_only_and_negative_sizes(tmp_path, capsys):
    chunks = tmp_path / "chunks.csv"
    config = small_config("dedup_route")
    path = write(tmp_path, {**config, "workload": {**config["workload"], "path": str(chunks)}})
    chunks.write_text("snapshot,path,chunk,size,fp\n")
    assert "chunks.csv: no data lines (a header only)" in refusal(capsys, "check", path)
    chunks.write_text("snapshot,path,chunk,size,fp\n0,a,0,10,00ff\n0,a,1,-10,00fe\n")
    assert "chunks.csv:3: column 'size': '-10' is not a number >= 0" in refusal(capsys, "check", path)


@pytest.mark.parametrize("line, fragment", [
    ("1 0 -1 10 1 -1 -1 -1 -1 -1 -1 1 1 -1 -1 -1 -1", "SWF lines have 18 fields, separated by spaces; this one has 17"),
    ("1 0 -1 10 1 -1 -1 -1 -1 -1 -1 1 1 -1 -1 -1 -1 x", "field 18: 'x' is not a finite number"),
    ("1 inf -1 10 1 -1 -1 -1 -1 -1 -1 1 1 -1 -1 -1 -1 -1", "field 2: 'inf' is not a finite number >= 0"),
])
def test_swf_lines(tmp_path, capsys, line, fragment):
    swf = tmp_path / "bad.swf"
    swf.write_text("; header\n\n" + line + "\n")
    path = write(tmp_path, {**small_config("autoscale"), "workload": {
        "source": "swf", "path": str(swf), "batch": {"tuples": 1}}})
    assert f"bad.swf:3: {fragment}" in refusal(capsys, "check", path)


def test_agent_indicator_needs_padded_observations(capsys):
    message = refusal(capsys, "check", CONFIGS / "partition_schedule.yaml", "--set",
                      "wrappers=[{name: agent_indicator}]")
    assert "key 'wrappers': agent_indicator needs the agents' observations in one shape" in message


def test_refusals_found_while_building_name_the_config_file(tmp_path, capsys):
    path = write(tmp_path, small_config("partition", episode_length=100000))
    message = refusal(capsys, "check", path)
    assert message.startswith(f"marl-part: error: {path}:") and "key 'episode_length'" in message
    path = write(tmp_path, small_config("partition", roles={"partitioner": "dedup_first"}))
    message = refusal(capsys, "check", path)
    assert message.startswith(f"marl-part: error: {path}:") and "needs a chunks_csv" in message


@pytest.mark.parametrize("argv", [["check"], ["eval", "--episodes", "x"], ["nope"],
                                  ["train", "--no-such-option"]])
def test_usage_errors_are_one_line(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1, err


def test_ablate_variants_and_baselines_are_checked_at_load(tmp_path, capsys):
    base = small_config("partition")
    path = write(tmp_path, {**base, "ablate": {"variants": [{"name": "a", "set": ["learner.algorithm=qmx"]}]}})
    message = refusal(capsys, "check", path)
    assert "key 'ablate.variants[0].set': variant 'a': key 'learner.algorithm': got 'qmx'" in message
    path = write(tmp_path, {**base, "ablate": {"variants": [{"name": "a"}],
                                               "baselines": [{"partitioner": "pkk"}]}})
    assert "key 'ablate.baselines': [0] partitioner: unknown partitioner 'pkk'" in refusal(capsys, "check", path)


@pytest.mark.parametrize("name", ["../../x", "/tmp/x", "..", "a/b"])
def test_run_names_stay_under_runs(tmp_path, capsys, name):
    path = write(tmp_path, small_config("partition", name=name))
    assert "key 'name'" in refusal(capsys, "eval", path, "--episodes", "1", "--seeds", "1")
    path = write(tmp_path, small_config("partition", ablate={"variants": [{"name": name}]}))
    assert "key 'ablate.variants[0].name'" in refusal(capsys, "ablate", path)
    assert runs(tmp_path) == [] and not (tmp_path.parent / "x").exists()


def test_commands_refused_at_the_start_leave_no_run_directory(tmp_path, capsys):
    path = write(tmp_path, small_config("partition", roles={"partitioner": "learn"}))
    assert "missing.pt: no checkpoint file there" in refusal(capsys, "train", path, "--init-from",
                                                            "missing.pt")
    grid = tmp_path / "grid.yaml"
    grid.write_text("entries: []\n")
    assert "key 'entries': list at least one entry" in refusal(capsys, "eval", "--grid", grid)
    evaluation = write(tmp_path, small_config("partition"), "e.yaml")
    assert "--out: its folder does not exist" in refusal(capsys, "eval", evaluation, "--out",
                                                         "/nonexistent/x.json")
    assert "--out names a directory" in refusal(capsys, "eval", evaluation, "--out", tmp_path)
    assert runs(tmp_path) == []


def test_ablate_resume_refuses_a_training_run(tmp_path, capsys):
    run = tmp_path / "runs" / "r"
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump(small_config("partition")))
    (run / "checkpoint.pt").write_bytes(b"x")
    assert "a training run, not an ablation folder" in refusal(capsys, "ablate", "--resume", run)
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.yaml"]


def test_ablate_resume_checks_every_variant_before_training_any(tmp_path, capsys):
    """A variant that cannot be trained (here the only learned role has no items for an
    item network) is refused at the start of a resume, not when its turn comes."""
    folder = tmp_path / "runs" / "ablation"
    folder.mkdir(parents=True)
    variants = [{"name": "both"},
                {"name": "scheduler alone", "set": ["roles.partitioner=hash"]}]
    config = {**small_config("partition_schedule"),
              "learner": {"algorithm": "mappo", "item_network": True},
              "ablate": {"seeds": 1, "variants": variants}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    message = refusal(capsys, "ablate", "--resume", folder)
    assert "variant 'scheduler alone': learner.item_network: no agent here decides" in message
    assert [p.name for p in folder.iterdir()] == ["config.yaml"]


def test_an_entropy_coefficient_names_a_role_of_the_scenario(tmp_path, capsys):
    config = {**small_config("partition_schedule"),
              "learner": {"algorithm": "mappo", "agent_entropy_coef": {"sheduler": 0.05}}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    message = refusal(capsys, "train", path)
    assert ("learner.agent_entropy_coef: agent_entropy_coef names ['sheduler'], not roles of "
            "this scenario: ['partitioner', 'scheduler']") in message
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("sweep, message", [
    ({"trials": 2, "params": {"learner.lrr": {"values": [0.1]}}},
     "key 'sweep.params': learner.lrr = 0.1: key 'learner.lrr': unknown key"),
    ({"trials": 2, "params": {"partitioner.hot_keys": {"integers": [2, 100000]}}},
     "partitioner.hot_keys = 100000:"),
    ({"trials": 2, "params": {"learner.lr": {"uniform": [0.1]}}},
     "key 'sweep.params.learner.lr.uniform': give [low, high] with low < high, got [0.1]"),
    ({"trials": 2, "params": {"learner.lr": {"uniform": [0.1, 0.2], "values": [1]}}},
     "give exactly one of: values, uniform, log_uniform, integers"),
    ({"params": {"learner.lr": {"uniform": [0.1, 0.2]}}},
     "key 'sweep.trials': random search needs a number of trials"),
    ({"search": "grid", "params": {"learner.lr": {"log_uniform": [0.1, 0.2]}}},
     "learner.lr: a grid takes a values: [...] list, not log_uniform"),
    ({"search": "grid", "trials": 3, "params": {"learner.lr": {"values": [0.1, 0.2]}}},
     "the grid has 2 combinations; give 2 or leave trials out"),
    ({"trials": 2, "params": {"train.budget_env_steps": {"values": [10]}}},
     "train.budget_env_steps: not varied by a sweep"),
    ({"trials": 2, "metric": "eval/lateness", "params": {"learner.lr": {"values": [0.1]}}},
     "key 'sweep.metric': got 'eval/lateness'; allowed: one of: eval/episode_reward"),
    ({"trials": 2, "searhc": "grid", "params": {"learner.lr": {"values": [0.1]}}},
     "key 'sweep.searhc': unknown key"),
])
def test_a_sweep_section_is_checked_at_load(sweep, message, tmp_path, capsys):
    path = write(tmp_path, small_config(learner={"algorithm": "mappo"}, sweep=sweep))
    line = refusal(capsys, "sweep", path)
    assert line.startswith(f"marl-part: error: {path}:") and message in line, line
    assert runs(tmp_path) == []
