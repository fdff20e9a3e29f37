"""Generated bad input (hypothesis): configs (the shipped ones and random ones,
mutated), traces in every reader's format (malformed) and command lines.

The contract, for every one: exit status 0, or 2 with exactly one line on stderr that
names the file or option at fault; never a traceback; bounded time and memory. A
reduced run is part of ``make test``; ``MARL_PART_FULL_BUDGET=1`` runs the full
campaign (400 configs, 150 traces, 150 command lines), and the terminal summary gives
the counts: tried, accepted, clean refusal, traceback.
"""

from __future__ import annotations

import contextlib
import copy
import gzip
import io
import os
import resource
import time
import traceback
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import DATA, FUZZ_COUNTS, WORKLOADS, random_valid_config, small_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marl_part.baselines import BASELINES
from marl_part.cli import main

pytestmark = pytest.mark.fuzz
FULL = os.environ.get("MARL_PART_FULL_BUDGET") == "1"
CONFIGS = Path(__file__).parent.parent / "configs"
SHIPPED_CONFIGS = sorted(CONFIGS.glob("*.yaml"))
SECONDS_PER_INPUT = 120  # on a loaded 2-core machine; most take one or two
MAX_RSS_BYTES = 6 * 2**30  # the whole test process, after every input


def fuzz_settings(examples: int, full_examples: int):
    return settings(max_examples=full_examples if FULL else examples, deadline=None,
                    derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def run_contract(kind: str, argv: list[str], names: list[str]) -> None:
    """Run ``marl-part argv`` in this process and hold it to the contract; ``names``
    are the places one of which a refusal must name."""
    err = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                status = main(argv)
            except SystemExit as exit_:  # argparse
                status = exit_.code
    except Exception:  # noqa: BLE001 - a traceback is what the contract forbids
        FUZZ_COUNTS[kind, "traceback"] += 1
        raise AssertionError(f"traceback for marl-part {argv}:\n{traceback.format_exc()}")
    elapsed = time.perf_counter() - start
    lines = err.getvalue().strip().splitlines()
    if status == 0:
        FUZZ_COUNTS[kind, "accepted"] += 1
    else:
        FUZZ_COUNTS[kind, "clean refusal"] += 1
        assert status == 2 and len(lines) == 1, (argv, err.getvalue())
        assert any(name in lines[0] for name in names), (argv, lines[0])
    assert elapsed < SECONDS_PER_INPUT, (argv, elapsed)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < MAX_RSS_BYTES, argv


@pytest.fixture(autouse=True)
def in_tmp(tmp_path_factory, monkeypatch):
    """Commands run in a fresh folder (their runs/ lands there)."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


# ------------------------------------------------------------------ values
NAMES = ["", ".", "..", "../x", "/tmp/x", "a b", "a\x00b", "ü", "learn", "hash", "pkg", "pkg:d=99",
         "static:nodes=0", "w_choices:x=1",
         "mappo", "qmix", "zipf", "partition", "tied", "free", "x" * 300]
NUMBERS = [0, 1, -1, 2, 3, 7, 2**31, 2**53 + 1, 10**30, 0.5, -0.5, 1e-9, 1e-320, 1e308,
           -1e308, float("nan"), float("inf"), float("-inf")]


def values(current=None):
    """A value to put where ``current`` was: half the time (for a number) the same
    number scaled, often still valid, so that mutated configs also run; else one at an
    edge, or of another kind."""
    leaf = st.one_of(st.sampled_from(NUMBERS), st.sampled_from(NAMES), st.booleans(),
                     st.none(), st.text(max_size=8),
                     st.integers(min_value=-10**20, max_value=10**20),
                     st.floats(allow_nan=True, allow_infinity=True))
    anything = st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["count", "speed", "name",
                                                                        "x", "source"]),
                                                     inner, max_size=3)), max_leaves=6)
    if not isinstance(current, (int, float)) or isinstance(current, bool):
        return anything
    scaled = st.sampled_from([type(current)(current * f) for f in (0, 0.5, 2, 3, 10, -1, 1000)])
    return st.booleans().flatmap(lambda near: scaled if near else anything)


def paths(data, prefix=()):
    """Every place in a config dict: (path of keys and list indices, value)."""
    yield prefix, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


@st.composite
def mutated(draw, config: dict) -> dict:
    """``config`` with one to three places replaced, deleted or added to."""
    config = copy.deepcopy(config)  # a replay of this draw starts from the same base
    for _ in range(draw(st.integers(1, 3))):
        path, current = draw(st.sampled_from([(p, v) for p, v in paths(config) if p]))
        parent = config
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "replace", "replace", "delete", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(current, dict):
            current[draw(st.sampled_from(["x", "seed", "limit", "content", "set",
                                          "time_compression"]))] = copy.deepcopy(draw(values()))
        else:  # a copy: hypothesis may hand the same object to a later draw
            parent[path[-1]] = copy.deepcopy(draw(values(current)))
    return config


def corrupt_text(draw, text: str) -> bytes:
    """The text as bytes, maybe with a byte inserted, a tag or deep nesting added, or cut."""
    raw = text.encode()
    choice = draw(st.sampled_from(["none", "none", "byte", "cut", "tag", "nest"]))
    at = draw(st.integers(0, len(raw)))
    if choice == "byte":
        raw = raw[:at] + draw(st.sampled_from([b"\xe9", b"\x00", b"\xff\xfe", b"\t", b"\x1b"])) + raw[at:]
    elif choice == "cut":
        raw = raw[:at]
    elif choice == "tag":
        raw += draw(st.sampled_from([b"seed: !!float abc\n", b"seed: !foo 5\n",
                                     b"name: !!python/object:os.system x\n"]))
    elif choice == "nest":
        depth = draw(st.sampled_from([10, 60, 3000]))
        raw += b"seed: " + b"[" * depth + b"]" * depth + b"\n"
    return raw


# ---------------------------------------------------------------- configs
def shipped_base(path: Path) -> dict:
    config = yaml.safe_load(path.read_text())
    config["base_dir"] = str(CONFIGS)  # its relative trace paths, from another folder
    config["episode_length"] = min(config.get("episode_length", 200), 10)
    config.pop("train", None)
    return config


@st.composite
def config_inputs(draw):
    if draw(st.booleans()):
        base = shipped_base(draw(st.sampled_from(SHIPPED_CONFIGS)))
    else:
        base = random_valid_config(np.random.default_rng(draw(st.integers(0, 2**32 - 1))))
    config = draw(mutated(base))
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    command = draw(st.sampled_from(["check", "eval"]))
    options = ["--episodes", "1", "--seeds", "1"] if command == "eval" else []
    return command, corrupt_text(draw, text), options


@fuzz_settings(examples=12, full_examples=400)
@given(config_inputs())
def test_generated_configs(tmp_path_factory, case):
    command, raw, options = case
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_bytes(raw)
    run_contract("config", [command, str(path), *options], [str(path), str(CONFIGS.parent)])


# ----------------------------------------------------------------- traces
CELLS = st.one_of(st.integers(-5, 10**6).map(str), st.sampled_from(
    ["", "nan", "inf", "-inf", "-1", "1e308", "1e-300", "x", "ä", "00ff", "zz", "2023-11-16 18:15:46",
     "1969-01-01", '"', "a,b", " "]))


@st.composite
def trace_inputs(draw):
    source = draw(st.sampled_from(["keys_csv", "arrivals_csv", "chunks_csv", "swf", "text"]))
    sample = Path(WORKLOADS[source]["path"])
    raw = gzip.decompress(sample.read_bytes()) if sample.suffix == ".gz" else sample.read_bytes()
    lines = raw.decode().splitlines()[:draw(st.integers(1, 60))]
    for _ in range(draw(st.integers(0, 4))):  # damage some lines, cell by cell
        index = draw(st.integers(0, len(lines) - 1))
        separator = " " if source in ("swf", "text") else ","
        cells = lines[index].split(separator) if lines[index].strip() else [""]
        cells[draw(st.integers(0, len(cells) - 1))] = draw(CELLS)
        cells = cells[:draw(st.integers(0, len(cells) + 1))] + draw(st.lists(CELLS, max_size=2))
        lines[index] = separator.join(cells)
    data = corrupt_text(draw, "\n".join(lines) + "\n")
    packed = draw(st.booleans())
    if packed:
        data = gzip.compress(data)
        data = data[:draw(st.integers(0, len(data)))] if draw(st.booleans()) else data
    batch = draw(st.one_of(st.builds(lambda n: {"tuples": n}, st.integers(1, 5)),
                           st.builds(lambda c: {"time_compression": c},
                                     st.sampled_from([1e-9, 0.01, 1, 600, 1e9]))))
    episode_length = draw(st.integers(1, 4))
    return source, data, packed, batch, episode_length


@fuzz_settings(examples=10, full_examples=150)
@given(trace_inputs())
def test_generated_traces(tmp_path_factory, case):
    source, data, packed, batch, episode_length = case
    folder = tmp_path_factory.mktemp("trace")
    trace = folder / ("trace" + Path(WORKLOADS[source]["path"]).suffixes[0] + (".gz" if packed else ""))
    trace.write_bytes(data)
    scenario = {"chunks_csv": "dedup_route", "swf": "autoscale"}.get(source, "partition")
    config = small_config(scenario, source, episode_length=episode_length)
    config["workload"].update(path=str(trace), batch=batch)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    run_contract("trace", ["check", str(path)], [str(path), str(trace)])


# ----------------------------------------------------------- command lines
@st.composite
def command_lines(draw, folder: Path):
    good = folder / "good.yaml"
    subcommand = draw(st.sampled_from(["check", "eval", "train", "ablate", "tune", "bench",
                                       "nope"]))
    tokens = [subcommand]
    optional = {
        "check": ["--set"], "eval": ["--policy", "--workload", "--episodes", "--seeds", "--out",
                                     "--max-throughput", "--whole-trace", "--grid", "--page",
                                     "--set"],
        "train": ["--set", "--resume", "--init-from", "--no-progress"],
        "ablate": ["--set", "--resume"], "tune": ["--set"],
        "bench": ["--size", "--json", "--markdown"],
        "nope": ["--x"]}[subcommand]
    if draw(st.booleans()) and subcommand != "bench":
        tokens.append(str(draw(st.sampled_from([good, folder / "missing.yaml", folder,
                                                DATA / "flask_git_file_events_head.csv"]))))
    roles = [f"{r}={b}" for r in BASELINES for b in list(BASELINES[r])[:2]]
    arguments = st.one_of(st.sampled_from(
        ["1", "0", "-3", "x", "10000000000", "", "partitioner=hash", "scheduler=magic",
         "cluster.deadline=.nan", "seed=-1", "episode_length=3", "name=../../x",
         "source=keys_csv,path=nope.csv", "full", "small", str(folder / "no" / "x.json"),
         str(folder), str(folder / "out.json"), str(good), "runs", "partitioner=" + str(folder)]
        + roles), st.text(max_size=6))
    for _ in range(draw(st.integers(0, 4))):
        option = draw(st.sampled_from(optional))
        tokens.append(option)
        if option not in ("--max-throughput", "--whole-trace", "--no-progress"):
            tokens.append(draw(arguments))
    if subcommand == "bench":  # never a whole benchmark: an unknown size ends it
        tokens += ["--size", "huge"]
    return tokens


@fuzz_settings(examples=12, full_examples=150)
@given(st.data())
def test_generated_command_lines(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("cli")
    good = small_config("partition", episode_length=3)
    good["train"] = {"budget_env_steps": 8, "n_envs": 2, "eval_every_env_steps": 8,
                     "eval_episodes": 1, "final_episodes": 1, "final_seeds": 1}
    good["learner"] = {"algorithm": "mappo", "rollout_env_steps": 8, "ppo_epochs": 1}
    (folder / "good.yaml").write_text(yaml.safe_dump(good))
    argv = data.draw(command_lines(folder))
    run_contract("command line", argv, [*filter(None, argv[1:]), "argument", "CONFIG"])
