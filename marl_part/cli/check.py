"""``marl-part check CONFIG``: build the env a config describes and test it.

Runs PettingZoo's ``parallel_api_test`` and ``parallel_seed_test`` on it (with its
wrappers) and steps one whole episode with random actions.
"""

from __future__ import annotations

from pettingzoo.test import parallel_api_test, parallel_seed_test

from marl_part.cli.arguments import add_config
from marl_part.config import load_config
from marl_part.envs.parallel_env import make_parallel_env


def add_parser(commands) -> None:
    parser = add_config(commands.add_parser("check", help="test the env a config describes"))
    parser.set_defaults(run=run)


def run(args) -> int:
    config = load_config(args.config, args.set)
    env = make_parallel_env(config)
    print(f"{args.config}: scenario {config.scenario}, agents {env.possible_agents}")
    for agent in env.possible_agents:
        print(f"  {agent}: observation {env.observation_space(agent)}, "
              f"action {env.action_space(agent)}")
    parallel_api_test(env, num_cycles=config.episode_length + 1)
    parallel_seed_test(lambda: make_parallel_env(config))
    steps, total = random_episode(env, seed=config.seed)
    print(f"  random actions: {steps} steps, team return {total:.3f}; API and seed tests passed")
    return 0


def random_episode(env, seed: int) -> tuple[int, float]:
    """Step one episode with uniformly random actions; (steps, team return)."""
    env.reset(seed=seed)
    for offset, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + offset)
    steps, total = 0, 0.0
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        steps, total = steps + 1, total + next(iter(rewards.values()))
    return steps, total
