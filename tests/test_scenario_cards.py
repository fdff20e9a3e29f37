"""Every shipped scenario's environment card (its module docstring) tells the truth:
the spaces it gives, evaluated for a config, are the env's spaces, and the reward
terms it lists are the scenario's default weights."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import small_config

from marl_part.config import load_config
from marl_part.envs.parallel_env import StreamParallelEnv
from marl_part.scenarios import SHIPPED, load_scenario


def card(module) -> dict[str, str]:
    """The rows of the card's table: name -> text."""
    rows = re.findall(r"^\| ([^|]+?) \| (.+) \|$", module.__doc__, flags=re.MULTILINE)
    return {name.strip(): text for name, text in rows}


def symbols(env: StreamParallelEnv) -> dict[str, int]:
    world = env.simulation.world
    return {"K": world.hot_keys, "S": world.split_ways, "P": world.max_partitions,
            "R": world.partitioner_choice_count(), "y": world.max_scale_step,
            "N": world.cluster.max_nodes}


def space_of(text: str, values: dict[str, int]) -> tuple[str, object]:
    """(kind, shape or nvec) of the first ``Box(...)`` or ``MultiDiscrete(...)`` in ``text``."""
    match = re.search(r"``(Box|MultiDiscrete)\((.*?)\)``", text)
    assert match, f"no space in {text!r}"
    expression = re.sub(r"(\d)([A-Za-z(])", r"\1*\2", match.group(2))  # 3K -> 3*K
    value = eval(expression, {}, dict(values))  # noqa: S307 (our own docstrings)
    return match.group(1), (value[-1] if match.group(1) == "Box" else list(value))


@pytest.mark.parametrize("scenario", SHIPPED)
def test_card_spaces_match_the_env(scenario, write_config):
    config = load_config(write_config(small_config(scenario)))
    env = StreamParallelEnv(config)
    rows, values = card(load_scenario(scenario)), symbols(env)
    single = len(env.possible_agents) == 1
    for agent in env.possible_agents:
        prefix = "" if single else agent.capitalize() + " "
        kind, shape = space_of(rows[f"{prefix}Observation" if single else f"{prefix}observation"],
                               values)
        assert (kind, shape) == ("Box", env.observation_space(agent).shape), agent
        kind, nvec = space_of(rows["Action" if single else f"{prefix}action"], values)
        assert kind == "MultiDiscrete"
        assert nvec == list(env.action_space(agent).nvec), agent
    state = rows["State"]
    expected = (env.observation_space(env.possible_agents[0]).shape
                if state.startswith("same as the observation") else space_of(state, values)[1])
    assert env.state_space.shape == expected


@pytest.mark.parametrize("scenario", SHIPPED)
def test_card_reward_terms_are_the_defaults(scenario, write_config):
    module = load_scenario(scenario)
    listed = dict(re.findall(r"(\w+) ([\d.]+)", card(module)["Reward terms (default weight)"]))
    assert {term: float(weight) for term, weight in listed.items()} == module.REWARD_WEIGHTS
    env = StreamParallelEnv(load_config(write_config(small_config(scenario))))
    env.reset(seed=0)
    actions = {a: np.zeros(len(env.action_space(a).nvec), np.int64) for a in env.agents}
    info = env.step(actions)[4][env.possible_agents[0]]
    assert set(info["reward_terms"]) == set(module.REWARD_WEIGHTS)
