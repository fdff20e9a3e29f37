"""Every scenario as a PettingZoo parallel env: API and seed tests, configs, wrappers,
user scenarios, and random valid and invalid configs."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import random_valid_config, small_config
from pettingzoo.test import parallel_api_test, parallel_seed_test

from marl_part.cli.check import random_episode
from marl_part.config import load_config
from marl_part.envs.parallel_env import make_parallel_env
from marl_part.envs.simulation import Simulation
from marl_part.errors import InputError
from marl_part.scenarios import SHIPPED

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SHIPPED)
def test_scenario_passes_pettingzoo_tests_on_heterogeneous_nodes(scenario, write_config):
    config = load_config(write_config(small_config(scenario)))
    env = make_parallel_env(config)
    parallel_api_test(env, num_cycles=30)
    parallel_seed_test(lambda: make_parallel_env(config))


def test_episodes_end_by_truncation_with_reward_terms_in_info(write_config):
    env = make_parallel_env(load_config(write_config(small_config())))
    env.reset(seed=1)
    steps = 0
    while env.agents:
        _, rewards, terminations, truncations, infos = env.step(
            {a: env.action_space(a).sample() for a in env.agents})
        steps += 1
        assert not any(terminations.values())
        terms = infos["partitioner"]["reward_terms"]
        assert sum(terms.values()) == pytest.approx(rewards["partitioner"])
        assert rewards["partitioner"] == rewards["scheduler"]  # one team reward
    assert steps == 12 and all(truncations.values())


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_config_steps_a_full_episode(path):
    config = load_config(path)
    steps, total = random_episode(make_parallel_env(config), seed=0)
    assert steps == config.episode_length and np.isfinite(total)


WRAPPERS = [
    [{"name": "frame_stack", "stack_size": 3}],
    [{"name": "normalize_obs"}, {"name": "dtype", "dtype": "float64"}],
    [{"name": "clip_reward", "lower_bound": -0.5, "upper_bound": 0.5}],
    [{"name": "pad_observations"}, {"name": "agent_indicator"}],
]


@pytest.mark.parametrize("wrappers", WRAPPERS, ids=lambda w: "+".join(x["name"] for x in w))
def test_supersuit_wrappers_keep_the_api(wrappers, write_config):
    env = make_parallel_env(load_config(write_config(small_config(wrappers=wrappers))))
    parallel_api_test(env, num_cycles=20)
    observations, _ = env.reset(seed=0)
    if wrappers[0]["name"] == "frame_stack":
        assert observations["partitioner"].shape == (3 * (3 * 4 + 3 * 16 + 10),)
    if wrappers[0]["name"] == "pad_observations":
        sizes = {obs.shape for obs in observations.values()}
        assert sizes == {(3 * 4 + 3 * 16 + 10 + 2,)}  # padded to the larger, plus indicator
    if wrappers[0]["name"] == "clip_reward":
        _, rewards, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert all(-0.5 <= r <= 0.5 for r in rewards.values())


def readme_example(first_line: str) -> str:
    """The README's code block that starts with ``first_line``: the example a user copies."""
    text = (Path(__file__).parent.parent / "README.md").read_text()
    return next(block for block in re.findall(r"```\w*\n(.*?)```", text, flags=re.DOTALL)
                if block.startswith(first_line))


USER_SCENARIO = readme_example("# my_balance.py")


def test_user_scenario_from_a_py_file_and_a_dotted_module(tmp_path, write_config, monkeypatch):
    (tmp_path / "my_balance.py").write_text(USER_SCENARIO)
    config = load_config(write_config({**small_config("partition"), "scenario": "my_balance.py"}))
    env = make_parallel_env(config)
    parallel_api_test(env, num_cycles=15)
    assert env.observation_space("partitioner").shape == (3 * 4 + 16,)
    env.reset(seed=0)
    _, _, _, _, infos = env.step({"partitioner": env.action_space("partitioner").sample()})
    assert list(infos["partitioner"]["reward_terms"]) == ["balance"]
    monkeypatch.syspath_prepend(str(tmp_path))
    dotted = load_config(write_config({**small_config("partition"), "scenario": "my_balance"},
                                      "dotted.yaml"))
    assert make_parallel_env(dotted).possible_agents == ["partitioner"]


INVALID = [
    (lambda c: c.update(episode_lenght=5), "unknown key"),
    (lambda c: c["cluster"].update(slots_per_node="four"), "expected int"),
    (lambda c: c["cluster"].update(initial_nodes=99), "must lie in [1,"),
    (lambda c: c["cluster"]["nodes"][0].update(speed=-1.0), "speed > 0"),
    (lambda c: c["workload"].update(source="parquet"), "allowed: one of: zipf"),
    (lambda c: c.update(roles={"partitioner": "magic"}), "'magic' is not available"),
    (lambda c: c.update(reward={"happiness": 1.0}), "unknown term 'happiness'"),
    (lambda c: c.update(scenario="no_such_scenario"), "cannot import scenario"),
    (lambda c: c.update(episode_length=100000), "fewer than episode_length"),
    (lambda c: c.update(wrappers=[{"name": "frame_stack", "stack_size": 0}]), "at least 1"),
    (lambda c: c["partitioner"].update(hot_keys=0), "at least 1"),
]


@pytest.mark.parametrize("seed", range(8))
def test_random_valid_configs_step_a_full_episode(seed, write_config):
    config = load_config(write_config(random_valid_config(np.random.default_rng(seed))))
    steps, total = random_episode(make_parallel_env(config), seed=seed)
    assert steps == config.episode_length and np.isfinite(total)


@pytest.mark.parametrize("seed", range(len(INVALID)))
def test_random_invalid_configs_are_rejected(seed, write_config):
    rng = np.random.default_rng(100 + seed)
    config = copy.deepcopy(random_valid_config(rng))
    breaks, message = INVALID[seed]
    breaks(config)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("(", r"\(")):
        make_parallel_env(load_config(write_config(config)))


def test_the_clock_shows_where_each_batch_falls_in_the_weekly_cycle():
    """With ``clock: true`` every agent and the critic see two more columns: the phase
    of the coming batch in the rate profile's week, which moves an hour per step."""
    headline = Path(__file__).parent.parent / "configs" / "partition_schedule.yaml"
    overrides = ["episode_length=5"]
    plain = Simulation(load_config(headline, [*overrides, "clock=false"]), n_envs=3)
    timed = Simulation(load_config(headline, [*overrides, "clock=true"]), n_envs=3)
    for simulation in (plain, timed):
        simulation.reset(np.arange(3), [1, 2, 3])
    widths = {a: o.shape[1] for a, o in plain.observations().items()}
    assert {a: o.shape[1] for a, o in timed.observations().items()} == {
        a: w + 2 for a, w in widths.items()}
    assert timed.state().shape[1] == plain.state().shape[1] + 2
    batches = timed.world.batches
    for step in range(3):
        cursor = timed.world.cursor
        # the hour of the week of the batch's real time (Unix time 0 was a Thursday)
        hour = np.round(batches.batch_time[cursor] % 604800 / 3600)
        assert np.allclose(batches.batch_phase[cursor], hour / 168)
        sin, cos = timed.observations()["scheduler"][:, 10:12].T
        angle = 2 * np.pi * hour / 168
        assert np.allclose(sin, (1 + np.sin(angle)) / 2) and np.allclose(cos, (1 + np.cos(angle)) / 2)
        timed.step({a: np.zeros((3, len(timed.action_nvec(a))), dtype=np.int64)
                    for a in timed.agents})
        assert np.array_equal(timed.world.cursor, cursor + 1)  # an hour a step
